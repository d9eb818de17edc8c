"""Benchmark databases, written through the store (no SQL here), and the request bodies that drive them.

Three templates are built once per seed version and schema version, then copied for every run:

- ``empty``: a 100,000-track catalog, 1,000 users with one token each, no collection rows;
- ``main``: ``empty`` plus one 100-track block already in every user's library (what the re-add load sends);
- ``grown``: the same 100,000 tracks plus 900,000 more (a 1,000,000-track catalog) and 1,000 tracks already
  in every user's library (1,000,000 collection rows), all from the extra 900,000, so the load's new adds
  (from the first 100,000) are still new.

The load cycles over (user, block) pairs: request ``i`` adds block ``NEW_BLOCK_FIRST + (i // USERS) % NEW_BLOCKS``
(100 consecutive catalog tracks) to user ``i % USERS``. Every request is therefore 100 ids that user does not
have yet, as long as fewer than ``NEW_ADD_CAPACITY`` requests went to one database copy.
"""

import json
import os
import random
import shutil
import time
import uuid

from groove_compat import config, ids
from groove_compat.app import create_app, get_store
from groove_compat.groove.contracts import NS_2013, NS_ARRAYS, NS_INSTANCE
from groove_compat.store import schema

SEED_VERSION = 1
USERS = 1_000
CATALOG_TRACKS = 100_000
GROWN_CATALOG_TRACKS = 1_000_000
GROWN_ENTRIES_PER_USER = 1_000
BATCH = 100
BLOCKS = CATALOG_TRACKS // BATCH  # 1,000 blocks of 100 tracks
READD_BLOCK = 0  # already in every user's library in the main template
NEW_BLOCK_FIRST = 1
NEW_BLOCKS = BLOCKS - NEW_BLOCK_FIRST
# A user's library holds at most COLLECTION_CAPACITY tracks: past that, adds fail as COLLECTION_FULL items.
NEW_ADD_CAPACITY = USERS * (config.SETTINGS_BY_NAME["COLLECTION_CAPACITY"].default // BATCH - NEW_BLOCK_FIRST - 10)


def catalog_guids(count):
    """The catalog's GUIDs, the same on every machine (a seeded generator, version 4 shaped)."""
    generator = random.Random(20240607)
    return [uuid.UUID(int=generator.getrandbits(128), version=4).bytes for _ in range(count)]


def track_row(index, guid):
    return (
        1,
        guid,
        f"Track {index}",
        f"Artist {index // 120}",
        f"Album {index // 12}",
        120 + index % 300,
        1 + index % 12,
        f"QZBEN{index % 10_000_000:07d}",
    )


def _store(path):
    app = create_app({"DATABASE": str(path)})
    return get_store(app)


def _remove(path):
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)


def _build_catalog(store, guids, log):
    started = time.perf_counter()
    chunk = 50_000
    for first in range(0, len(guids), chunk):
        store.upsert_tracks([track_row(index, guids[index]) for index in range(first, min(first + chunk, len(guids)))])
    log(f"  catalog: {len(guids):,} tracks in {time.perf_counter() - started:.1f}s")


def _track_ids(store, guids):
    """Row ids of the given GUIDs, in order, looked up through the store."""
    found = {}
    for first in range(0, len(guids), 500):
        found.update(store.tracks_by_guid(organization_id=1, guids=guids[first:first + 500]))
    return [found[guid] for guid in guids]


def _build_users(store, log):
    started = time.perf_counter()
    users = []
    with store.transaction():  # one commit for all of them: the store's own transactions join it
        for number in range(USERS):
            user_id = store.create_user(name=f"bench{number:04d}", organization_id=1)
            token = ids.new_token()
            store.add_credential(user_id=user_id, token_hash=ids.token_hash(token))
            users.append({"user_id": user_id, "library_id": store.user(user_id)["library_id"], "token": token})
    log(f"  users: {USERS:,} users and tokens in {time.perf_counter() - started:.1f}s")
    return users


def _append(store, users, track_ids_of_user, log, what):
    started = time.perf_counter()
    capacity = config.SETTINGS_BY_NAME["COLLECTION_CAPACITY"].default
    rows = 0
    with store.transaction():
        for number, user in enumerate(users):
            track_ids = track_ids_of_user(number)
            for first in range(0, len(track_ids), 500):
                added, full = store.append_entries(
                    collection_id=user["library_id"],
                    user_id=user["user_id"],
                    track_ids=track_ids[first:first + 500],
                    capacity=capacity,
                )
                assert not full
                rows += len(added)
    log(f"  {what}: {rows:,} collection rows in {time.perf_counter() - started:.1f}s")


def template_paths(directory):
    tag = f"s{SEED_VERSION}-v{schema.SCHEMA_VERSION}"
    return {name: os.path.join(directory, f"{name}-{tag}.sqlite") for name in ("empty", "main", "grown")}


def users_path(directory):
    return os.path.join(directory, f"users-s{SEED_VERSION}-v{schema.SCHEMA_VERSION}.json")


def build_templates(directory, *, log=print, fresh=False):
    """Build (or reuse) the three templates; returns ``(paths, users)`` where users hold tokens."""
    os.makedirs(directory, exist_ok=True)
    paths = template_paths(directory)
    users_file = users_path(directory)
    if not fresh and all(os.path.exists(path) for path in paths.values()) and os.path.exists(users_file):
        with open(users_file) as handle:
            return paths, json.load(handle)
    for path in paths.values():
        _remove(path)
    guids = catalog_guids(GROWN_CATALOG_TRACKS)

    log(f"seeding {paths['empty']}")
    store = _store(paths["empty"])
    store.migrate()
    _build_catalog(store, guids[:CATALOG_TRACKS], log)
    users = _build_users(store, log)
    store.close()  # the last connection closing folds the WAL into the file

    log(f"seeding {paths['main']}")
    shutil.copyfile(paths["empty"], paths["main"])
    store = _store(paths["main"])
    readd_track_ids = _track_ids(store, guids[READD_BLOCK * BATCH:(READD_BLOCK + 1) * BATCH])
    _append(store, users, lambda number: readd_track_ids, log, "re-add block")
    store.close()

    log(f"seeding {paths['grown']}")
    shutil.copyfile(paths["empty"], paths["grown"])
    store = _store(paths["grown"])
    _build_catalog(store, guids[CATALOG_TRACKS:], log)
    extra = _track_ids(store, guids[CATALOG_TRACKS:])
    per_user = GROWN_ENTRIES_PER_USER

    def grown_tracks(number):
        first = (number * per_user) % len(extra)
        return [extra[(first + offset) % len(extra)] for offset in range(per_user)]

    _append(store, users, grown_tracks, log, "grown libraries")
    store.close()

    with open(users_file, "w") as handle:
        json.dump(users, handle)
    return paths, users


def copy_template(template, destination):
    """A fresh working copy of a template database, on disk before it is returned.

    Flushed here, not left to the kernel's writeback: half a gigabyte of the grown template still being
    written out while the server under test runs slowed that server's every COMMIT (its fsync waits behind
    the copy's blocks), so the first server measured after a copy ran up to a third slower."""
    _remove(destination)
    shutil.copyfile(template, destination)
    with open(destination, "rb+") as handle:
        os.fsync(handle.fileno())
    return destination


# ---------------------------------------------------------------------------------------------------------
# Request bodies


def catalog_ids(count=CATALOG_TRACKS):
    return ["music." + str(uuid.UUID(bytes=guid)).upper() for guid in catalog_guids(count)]


def json_body(track_ids):
    return json.dumps({"TrackIds": track_ids}, separators=(",", ":"))


def xml_body(track_ids):
    items = "".join(f"<d2p1:string>{track_id}</d2p1:string>" for track_id in track_ids)
    return (
        f'<TrackActionRequest xmlns:i="{NS_INSTANCE}" xmlns="{NS_2013}">'
        f'<TrackIds xmlns:d2p1="{NS_ARRAYS}">{items}</TrackIds></TrackActionRequest>'
    )


def block_ids(all_ids, block):
    return all_ids[block * BATCH:(block + 1) * BATCH]


def request_for(index, *, kind, all_ids, users):
    """(token, body) of load request ``index``: what the generated wrk scripts send, for checks in Python."""
    user = users[index % USERS]
    if kind == "readd":
        block = READD_BLOCK
    else:
        block = NEW_BLOCK_FIRST + (index // USERS) % NEW_BLOCKS
    track_ids = block_ids(all_ids, block)
    body = xml_body(track_ids) if kind == "xml" else json_body(track_ids)
    return user["token"], body
