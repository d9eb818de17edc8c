"""Many clients writing at once, across worker processes and across servers on one database file.

16 client threads add overlapping ids to the same and to different collections for a bounded time; then
every collection must equal the model built from the acknowledged answers (nothing lost, nothing extra),
positions must be unique and in acknowledgement order, entry ids stable, and no answer a 5xx or a
"database is locked".

CI runs a few seconds per setup; ``GROOVE_COMPAT_LONG_TESTS=1`` runs 60 s each.

Operations are rows of ``OPERATIONS`` (add and delete): a row builds a request and applies its
acknowledged answer to the model. Deletes name tracks by catalog id or by the entry id an earlier add
answered, so adds and deletes of the same ids race across processes. A track's final state must be what
the last of its operations left, where "last" is any operation that no other one started after it was
acknowledged (two overlapping requests may commit in either order).
"""

import bisect
import itertools
import os
import random
import sqlite3
import threading
import time
from dataclasses import dataclass, field

import pytest
import requests

from conftest import make_user, seeded_database
from groove_compat import ids
from groove_compat.app import create_app, get_store
from reliability import ServerProcess

LONG = os.environ.get("GROOVE_COMPAT_LONG_TESTS") == "1"
SECONDS = 60.0 if LONG else 3.0
CLIENTS = 16
USERS = ("alice", "bob", "carol", "dave")
UNKNOWN = "music.00000000-0000-0000-0000-0000000000{:02X}"


@dataclass
class Answer:
    operation: str
    user: str
    sent: float
    acknowledged: float
    status: int
    items: list  # per item: (guid bytes or None, succeeded, entry id)


@dataclass
class Model:
    """Per user: the entry id of each track an acknowledged add answered, and every acknowledged
    operation per track: (kind, sent, acknowledged)."""

    present: dict = field(default_factory=lambda: {user: {} for user in USERS})
    entries: dict = field(default_factory=lambda: {user: {} for user in USERS})  # entry id -> guid
    operations: dict = field(default_factory=dict)  # (user, guid) -> [(kind, sent, acknowledged)]

    def expected(self, user, guid):
        """True (present), False (absent) or None (either: the last operations overlapped and disagree)."""
        operations = self.operations.get((user, guid), [])
        if not operations:
            return False
        latest_start = max(sent for _, sent, _ in operations)
        candidates = {kind for kind, _, acknowledged in operations if acknowledged >= latest_start}
        return (candidates == {"add"}) if len(candidates) == 1 else None

    def expected_tracks(self, user):
        """(tracks that must be present, tracks that may be present)."""
        must, may = set(), set()
        for (name, guid) in self.operations:
            if name == user:
                state = self.expected(user, guid)
                if state:
                    must.add(guid)
                if state is not False:
                    may.add(guid)
        return must, may

    def first_acknowledged(self, answers):
        """Per (user, guid): the earliest send and the earliest acknowledgement of a request that held it."""
        first = {}
        for answer in answers:
            if answer.operation != "add":
                continue
            for guid, succeeded, _ in answer.items:
                if succeeded:
                    key = (answer.user, guid)
                    sent, acknowledged = first.get(key, (answer.sent, answer.acknowledged))
                    first[key] = (min(sent, answer.sent), min(acknowledged, answer.acknowledged))
        return first


def add_request(rng, tracks):
    """A batch of 1-8 ids: catalog tracks (any case), duplicates, and now and then an unknown id."""
    batch = []
    for _ in range(rng.randint(1, 8)):
        roll = rng.random()
        if roll < 0.08:
            batch.append(UNKNOWN.format(rng.randrange(256)))
        elif roll < 0.16 and batch:
            batch.append(batch[-1])
        else:
            batch.append(any_case(rng, rng.choice(tracks)))
    return "/1/content/music/collection/add", {"TrackIds": batch}


def any_case(rng, track):
    """A catalog id as a client may send it: upper case as the catalog writes it, or lower case."""
    return track.lower() if rng.random() < 0.3 else track


def apply_add(model, user, body, answer, sent, acknowledged):
    items = []
    for item, result in zip(body["TrackIds"], answer["TrackActionResults"]):
        guid = ids.parse_catalog_guid(item)
        succeeded = "Id" in result
        if succeeded:
            # Entry ids are stable for one user and one track, across deletes and re-adds.
            entry = model.present[user].setdefault(guid, result["Id"])
            assert entry == result["Id"], "one track got two entry ids"
            model.entries[user][entry] = guid
            model.operations.setdefault((user, guid), []).append(("add", sent, acknowledged))
        items.append((guid, succeeded, result.get("Id")))
    return items


def delete_request(rng, tracks, known_entries):
    """A batch of 1-6 ids: catalog ids (any case) and entry ids an add answered earlier."""
    batch = []
    for _ in range(rng.randint(1, 6)):
        if known_entries and rng.random() < 0.5:
            batch.append(rng.choice(known_entries))
        else:
            batch.append(any_case(rng, rng.choice(tracks)))
    return "/1/content/music/collection/delete", {"TrackIds": batch}


def apply_delete(model, user, body, answer, sent, acknowledged):
    items = []
    for item, result in zip(body["TrackIds"], answer["TrackActionResults"]):
        assert "Id" not in result, "a delete answers InputId only"
        guid = model.entries[user].get(item) or ids.parse_catalog_guid(item)
        succeeded = "Error" not in result
        # Deleted, or (an item error) not there when the request ran: absent afterwards either way.
        model.operations.setdefault((user, guid), []).append(("delete", sent, acknowledged))
        items.append((guid, succeeded, None))
    return items


def build_add(rng, tracks, known_entries):
    return add_request(rng, tracks)


OPERATIONS = {"add": (2.0, build_add, apply_add), "delete": (1.0, delete_request, apply_delete)}


def catalog_tracks(database):
    connection = sqlite3.connect(database)
    try:
        return [ids.catalog_id(bytes(row[0])) for row in connection.execute("SELECT guid FROM tracks ORDER BY id")]
    finally:
        connection.close()


def prepare(database, *, extra_tracks=400):
    """The seeded database, two more users, and ``extra_tracks`` more catalog tracks (so that adds keep
    storing new entries for the whole run instead of only finding tracks already there)."""
    users = seeded_database(database)
    app = create_app({"DATABASE": str(database)})
    store = get_store(app)
    rng = random.Random(extra_tracks)
    store.upsert_tracks(
        [(1, rng.randbytes(16), f"Track {n}", "Load Artist", "Load Album", 200, n % 20 + 1, None) for n in range(extra_tracks)]
    )
    for name in USERS:
        if name not in users:
            users[name] = make_user(store, name)
    store.close()
    return users


def run_clients(urls, users, tracks, seconds, *, seed=6):
    answers, failures = [], []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds
    model = Model()
    weights = [weight for weight, _, _ in OPERATIONS.values()]
    names = list(OPERATIONS)

    def client(number):
        try:
            run(number)
        except Exception as error:  # a thread's failure must fail the test, not only print
            with lock:
                failures.append(repr(error))

    def run(number):
        rng = random.Random(seed * 1000 + number)
        # Half the clients share alice's collection; the others spread over the other users.
        user = "alice" if number % 2 == 0 else USERS[1 + number % (len(USERS) - 1)]
        session = requests.Session()
        url = urls[number % len(urls)]
        while time.monotonic() < stop_at:
            operation = rng.choices(names, weights)[0]
            _, build, apply = OPERATIONS[operation]
            with lock:
                known_entries = list(model.entries[user])
            path, body = build(rng, tracks, known_entries)
            sent = time.monotonic()
            try:
                response = session.post(url + path, json=body, headers=users[user].headers, timeout=30)
            except requests.RequestException as error:
                with lock:
                    failures.append(repr(error))
                continue
            acknowledged = time.monotonic()
            if response.status_code != 200:
                with lock:
                    failures.append(f"{response.status_code}: {response.text[:200]}")
                continue
            with lock:
                items = apply(model, user, body, response.json(), sent, acknowledged)
                answers.append(Answer(operation, user, sent, acknowledged, response.status_code, items))

    threads = [threading.Thread(target=client, args=(number,)) for number in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return model, answers, failures


def check_database(database, users, model, answers):
    connection = sqlite3.connect(database)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        first = model.first_acknowledged(answers)
        for name in USERS:
            library_id = connection.execute("SELECT library_id FROM users WHERE id = ?", (users[name].user_id,)).fetchone()[0]
            rows = connection.execute(
                "SELECT t.guid, e.position FROM entries e JOIN tracks t ON t.id = e.track_id"
                " WHERE e.collection_id = ? ORDER BY e.position",
                (library_id,),
            ).fetchall()
            stored = [bytes(guid) for guid, _ in rows]
            positions = [position for _, position in rows]
            must, may = model.expected_tracks(name)
            assert must <= set(stored), f"{name}: {len(must - set(stored))} acknowledged tracks lost"
            assert set(stored) <= may, f"{name}: {len(set(stored) - may)} tracks stored that the answers say are gone"
            assert len(stored) == len(set(stored)), f"{name}: a track is stored twice"
            assert len(set(positions)) == len(positions), f"{name}: duplicate positions"
            track_count, next_position = connection.execute(
                "SELECT track_count, next_position FROM collections WHERE id = ?", (library_id,)
            ).fetchone()
            assert track_count == len(stored)
            assert not positions or next_position > positions[-1]
            # Order: a track acknowledged before another was even sent is stored before it. Sorted by
            # acknowledgement, the highest position among those acknowledged before b was sent must be
            # below b's position (n log n: the long runs hold tens of thousands of tracks).
            # (Only tracks no delete touched: a re-add moves a track to the end.)
            position_of = dict(zip(stored, positions))
            deleted = {guid for (user, guid), operations in model.operations.items()
                       if user == name and any(kind == "delete" for kind, _, _ in operations)}
            mine = {guid: times for (user, guid), times in first.items() if user == name and guid not in deleted}
            by_acknowledgement = sorted((acknowledged, position_of[guid]) for guid, (_, acknowledged) in mine.items())
            acknowledged_times = [acknowledged for acknowledged, _ in by_acknowledgement]
            highest_so_far = list(itertools.accumulate((position for _, position in by_acknowledgement), max))
            for guid, (sent, _) in mine.items():
                before = bisect.bisect_left(acknowledged_times, sent)
                if before:
                    assert highest_so_far[before - 1] < position_of[guid], f"{name}: order breaks acknowledgement order"
    finally:
        connection.close()


def check_logs(*servers):
    for server in servers:
        log = server.log_text()
        assert "database is locked" not in log
        assert "Traceback" not in log
        assert '"status":5' not in log


@pytest.mark.parametrize("setup", ["one-server-two-workers", "two-servers-one-database"])
def test_concurrent_clients_keep_every_collection_exact(tmp_path, setup):
    database = tmp_path / "groove-compat.sqlite"
    users = prepare(database, extra_tracks=20_000 if LONG else 400)
    tracks = catalog_tracks(database)
    servers = [ServerProcess(database, workers=2)]
    if setup == "two-servers-one-database":
        servers.append(ServerProcess(database, workers=2))
    for server in servers:
        server.start()
    try:
        model, answers, failures = run_clients([server.url for server in servers], users, tracks, SECONDS)
    finally:
        for server in servers:
            server.stop()
    assert failures == []
    assert len(answers) > CLIENTS * 5, "too little load to prove anything"
    check_logs(*servers)
    check_database(str(database), users, model, answers)
    items = sum(len(answer.items) for answer in answers)
    deletes = sum(answer.operation == "delete" for answer in answers)
    deleted = sum(succeeded for answer in answers if answer.operation == "delete" for _, succeeded, _ in answer.items)
    assert deleted > CLIENTS, "too few deletes found their track to prove anything"
    print(
        f"figures: {setup}: {CLIENTS} clients x {SECONDS:.0f} s = {len(answers)} batches ({deletes} deletes), "
        f"{items} items ({deleted} tracks deleted), 0 failures"
    )
