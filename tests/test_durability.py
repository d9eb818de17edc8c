"""Crash durability and graceful shutdown of a live server.

SIGKILL: writers add batches while the whole server process group is killed at a random moment, again
and again; after each restart every add that was acknowledged is stored, nothing that was never sent is,
the collection counters agree with the entries, and ``PRAGMA integrity_check`` is ok.
CI kills 4 times; ``GROOVE_COMPAT_LONG_TESTS=1`` kills 40 times.

SIGTERM: requests in flight (their bodies still arriving when the signal comes) complete with 200 and
are stored; the server then exits cleanly.
"""

import json
import os
import random
import sqlite3
import threading
import time

import pytest
import requests

from conftest import seeded_database
from groove_compat import ids
from groove_compat.app import create_app, get_store
from reliability import ROUTES, ServerProcess, raw_http

LONG = os.environ.get("GROOVE_COMPAT_LONG_TESTS") == "1"
KILLS = 40 if LONG else 3
WRITERS = 6
ADD = ROUTES[0]


def prepare(database, *, tracks=3000):
    users = seeded_database(database)
    app = create_app({"DATABASE": str(database)})
    store = get_store(app)
    rng = random.Random(tracks)
    store.upsert_tracks(
        [(1, rng.randbytes(16), f"Track {n}", "Artist", "Album", 200, 1, None) for n in range(tracks)]
    )
    store.close()
    connection = sqlite3.connect(database)
    guids = [bytes(row[0]) for row in connection.execute("SELECT guid FROM tracks ORDER BY id")]
    connection.close()
    return users, guids


def stored_guids(database, user):
    connection = sqlite3.connect(database)
    try:
        rows = connection.execute(
            "SELECT t.guid FROM entries e JOIN users u ON e.collection_id = u.library_id"
            " JOIN tracks t ON t.id = e.track_id WHERE u.id = ?",
            (user.user_id,),
        )
        return {bytes(row[0]) for row in rows}
    finally:
        connection.close()


def check_consistent(database):
    connection = sqlite3.connect(database)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
        for collection_id, track_count, next_position in connection.execute(
            "SELECT id, track_count, next_position FROM collections"
        ).fetchall():
            count, top = connection.execute(
                "SELECT COUNT(*), MAX(position) FROM entries WHERE collection_id = ?", (collection_id,)
            ).fetchone()
            assert track_count == count, "the collection's track_count disagrees with its entries"
            assert top is None or next_position > top
    finally:
        connection.close()


def write_until_killed(url, users, guids, rng, acknowledged, attempted, stop, errors):
    names = ["alice", "bob"]

    def writer(number):
        try:
            write(number)
        except Exception as error:  # a thread's failure must fail the test, not only print
            errors.append(repr(error))

    def write(number):
        session = requests.Session()
        local = random.Random(rng.random())
        while not stop.is_set():
            name = names[number % 2]
            batch = [ids.catalog_id(local.choice(guids)) for _ in range(local.randint(1, 20))]
            attempted[name].update(ids.parse_catalog_guid(item) for item in batch)
            try:
                answer = session.post(url + ADD.path, json={"TrackIds": batch}, headers=users[name].headers, timeout=10)
            except requests.RequestException:
                return  # the server is gone: this request's outcome is unknown, and that is allowed
            assert answer.status_code == 200, answer.text[:200]
            results = answer.json()["TrackActionResults"]
            assert all("Id" in result for result in results)
            acknowledged[name].update(ids.parse_catalog_guid(item) for item in batch)

    threads = [threading.Thread(target=writer, args=(number,)) for number in range(WRITERS)]
    for thread in threads:
        thread.start()
    return threads


def test_acknowledged_adds_survive_repeated_sigkill(tmp_path):
    database = str(tmp_path / "groove-compat.sqlite")
    users, guids = prepare(database)
    rng = random.Random(6)
    acknowledged = {"alice": set(), "bob": set()}
    attempted = {"alice": set(), "bob": set()}
    survived = 0
    errors = []
    for kill in range(KILLS):
        server = ServerProcess(database, workers=2).start()
        try:
            stop = threading.Event()
            threads = write_until_killed(server.url, users, guids, rng, acknowledged, attempted, stop, errors)
            time.sleep(rng.uniform(0.4, 1.0))
            before_kill = sum(len(values) for values in acknowledged.values())
            server.kill()
            stop.set()
            for thread in threads:
                thread.join(timeout=15)
            assert sum(len(values) for values in acknowledged.values()) >= before_kill
        finally:
            server.kill()
        assert errors == []
        log = server.log_text()
        assert "Traceback" not in log and "database is locked" not in log
        # After the crash, before anything else opens it: the database as the next server will find it.
        check_consistent(database)
        for name in acknowledged:
            stored = stored_guids(database, users[name])
            assert acknowledged[name] <= stored, f"{len(acknowledged[name] - stored)} acknowledged adds lost"
            assert stored <= attempted[name], "a track that was never sent is stored"
        survived += 1
    # And a restarted server serves the collection as stored.
    with ServerProcess(database, workers=2) as server:
        answer = requests.post(
            server.url + ADD.path, json={"TrackIds": [ids.catalog_id(guid) for guid in sorted(acknowledged["alice"])[:50]]},
            headers=users["alice"].headers, timeout=10,
        )
        assert answer.status_code == 200 and "Error" not in answer.json()
    total = sum(len(values) for values in acknowledged.values())
    print(f"figures: {survived} SIGKILLs survived; {total} acknowledged tracks all present; integrity ok")
    assert total > 0


def test_sigterm_lets_requests_in_flight_finish(tmp_path):
    database = str(tmp_path / "groove-compat.sqlite")
    users, guids = prepare(database, tracks=50)
    server = ServerProcess(database, workers=2).start()
    token = users["alice"].token
    batches = [[ids.catalog_id(guid)] for guid in guids[:6]]
    bodies = [json.dumps({"TrackIds": batch}).encode() for batch in batches]
    results = [None] * len(bodies)

    def in_flight(index):
        body = bodies[index]
        head = (
            f"POST {ADD.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        # The head and half the body now; the rest 2 s later, after the SIGTERM has arrived.
        results[index] = raw_http(server.url, None, chunks=[head + body[:5], body[5:]], pause=2.0, timeout=15)

    threads = [threading.Thread(target=in_flight, args=(index,)) for index in range(len(bodies))]
    for thread in threads:
        thread.start()
    time.sleep(1.0)  # every connection accepted by a worker, even on a loaded machine
    server.process.terminate()
    for thread in threads:
        thread.join(timeout=15)
    server.process.wait(timeout=30)
    server.stop()
    assert [result.status for result in results] == [200] * len(bodies)
    for result, batch in zip(results, batches):
        assert json.loads(result.body)["TrackActionResults"][0]["InputId"] == batch[0]
    assert stored_guids(database, users["alice"]) == {ids.parse_catalog_guid(batch[0]) for batch in batches}
    assert server.process.returncode == 0
    assert "Traceback" not in server.log_text()
    with pytest.raises(requests.ConnectionError):
        requests.get(server.url + "/healthz", timeout=2)
