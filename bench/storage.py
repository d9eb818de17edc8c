"""Storage microbenchmark: the store's batch write against hand-written raw ``sqlite3`` doing the same statements.

One unit is what an add of 100 new catalog ids costs the store: ``BEGIN IMMEDIATE``, the catalog look-up
(``Store.tracks_by_guid``), ``Store.append_entries``, ``COMMIT``. The raw version issues the same SQL on a
plain ``sqlite3`` connection with the same pragmas. Each side works on its own copy of the same template,
sending the same (user, block) sequence; the sides alternate in rounds and the figure is the per-round ratio
of times (store / raw). Run by ``bench/run.py``; alone:

    python bench/storage.py --template bench/.work/main-....sqlite --workdir /tmp/x --rounds 5 --batches 300
"""

import argparse
import json
import os
import sqlite3
import statistics
import sys
import time

import orjson

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import seed  # noqa: E402

from groove_compat.config import SETTINGS_BY_NAME  # noqa: E402
# The upkeep of the latest position of every album and artist the new entries belong to (browse order
# CollectionDate) is the store's own statement text: both sides run the same SQL by construction, and the
# other statements are short enough to write out here.
from groove_compat.store import _RAISE_GROUP_LATEST as RAISE_GROUP_LATEST  # noqa: E402
from groove_compat.store import Store  # noqa: E402

CAPACITY = 50_000
# Both sides run the server's connection settings: the figure is the store's code, not its configuration.
CACHE_KIB = SETTINGS_BY_NAME["SQLITE_CACHE_KIB"].default


def store_side(path, synchronous):
    store = Store(path, synchronous=synchronous, cache_kib=CACHE_KIB)

    def add(user, guids):
        with store.transaction():
            track_of_guid = store.tracks_by_guid(organization_id=1, guids=guids)
            store.append_entries(
                collection_id=user["library_id"],
                user_id=user["user_id"],
                track_ids=list(track_of_guid.values()),
                capacity=CAPACITY,
            )

    return add, store.close


def raw_side(path, synchronous):
    """The same statements as the store, written out by hand against sqlite3 (for batches that fit)."""
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False, cached_statements=256)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute(f"PRAGMA synchronous = {synchronous}")
    connection.execute("PRAGMA foreign_keys = ON")
    connection.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
    connection.execute("PRAGMA busy_timeout = 30000")
    # The catalog look-up and the presence check answer in one row, their ids as JSON arrays (the look-up
    # with each GUID's position, since the GUIDs are joined as a VALUES list).
    lookup = (
        "SELECT json_group_array(wanted.column1), json_group_array(tracks.id) FROM (VALUES "
        + ", ".join(f"({position}, ?)" for position in range(100))
        + ") AS wanted CROSS JOIN tracks ON tracks.organization_id = ? AND tracks.guid = wanted.column2"
    )
    existing_sql = {
        rows: "SELECT json_group_array(track_id) FROM entries WHERE collection_id = ? AND track_id IN ("
        + ",".join("?" * rows) + ")"
        for rows in range(1, 101)
    }
    insert_sql = {
        rows: "INSERT INTO entries (collection_id, track_id, position, added_at) VALUES "
        + ",".join(["(?, ?, ?, ?)"] * rows)
        for rows in range(1, 101)
    }

    def add(user, guids):
        collection_id = user["library_id"]
        connection.execute("BEGIN IMMEDIATE")
        try:
            positions, found = connection.execute(lookup, [*guids, 1]).fetchone()
            track_ids = list(
                {guids[position]: track_id for position, track_id in zip(orjson.loads(positions), orjson.loads(found))}.values()
            )
            existing = set()
            if track_ids:
                (present,) = connection.execute(existing_sql[len(track_ids)], [collection_id, *track_ids]).fetchone()
                existing = set(orjson.loads(present))
            new = [track_id for track_id in track_ids if track_id not in existing]
            if new:
                now = int(time.time() * 1000)
                next_position = connection.execute(
                    "UPDATE collections SET track_count = track_count + ?, next_position = next_position + ?,"
                    " version = version + 1, updated_at = ? WHERE id = ? AND track_count + ? <= ? RETURNING next_position",
                    (len(new), len(new), now, collection_id, len(new), CAPACITY),
                ).fetchone()[0] - len(new)
                values = []
                for position, track_id in enumerate(new, start=next_position):
                    values += (collection_id, track_id, position, now)
                connection.execute(insert_sql[len(new)], values)
                connection.execute(RAISE_GROUP_LATEST, (collection_id, next_position))
                connection.execute("UPDATE users SET state_version = state_version + 1 WHERE id = ?", (user["user_id"],))
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    return add, connection.close


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--template", required=True)
    parser.add_argument("--users", required=True, help="the users JSON written by the seeding")
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batches", type=int, default=300, help="batches per side per round")
    parser.add_argument("--synchronous", default="FULL", help="FULL (the default durability) or NORMAL")
    arguments = parser.parse_args()
    with open(arguments.users) as handle:
        users = json.load(handle)
    guids = seed.catalog_guids(seed.CATALOG_TRACKS)
    sides = {}
    for name, factory in (("store", store_side), ("raw", raw_side)):
        path = seed.copy_template(
            arguments.template, os.path.join(arguments.workdir, f"storage-{name}-{arguments.synchronous}.sqlite")
        )
        sides[name] = factory(path, arguments.synchronous)
    rounds = []
    position = 0
    warm = 50
    for name in sides:  # warm both files and statement caches with requests outside the measurement
        for index in range(warm):
            add, _ = sides[name]
            block = seed.NEW_BLOCK_FIRST + (index // seed.USERS) % seed.NEW_BLOCKS
            add(users[index % seed.USERS], guids[block * seed.BATCH:(block + 1) * seed.BATCH])
    position = warm
    for round_number in range(arguments.rounds):
        order = ["store", "raw"] if round_number % 2 == 0 else ["raw", "store"]
        times = {}
        for name in order:
            add, _ = sides[name]
            started = time.perf_counter()
            for index in range(position, position + arguments.batches):
                block = seed.NEW_BLOCK_FIRST + (index // seed.USERS) % seed.NEW_BLOCKS
                add(users[index % seed.USERS], guids[block * seed.BATCH:(block + 1) * seed.BATCH])
            times[name] = time.perf_counter() - started
        position += arguments.batches
        rounds.append(
            {
                "store_batches_per_s": arguments.batches / times["store"],
                "raw_batches_per_s": arguments.batches / times["raw"],
                "ratio": times["store"] / times["raw"],
            }
        )
    for _, close in sides.values():
        close()
    summary = {
        "rounds": rounds,
        "ratio_median": statistics.median(r["ratio"] for r in rounds),
    }
    print("STORAGE_JSON " + json.dumps(summary))


if __name__ == "__main__":
    main()
