"""Operations: the JSON access log, /healthz, and online backup with a tested restore."""

import json
import logging
import os
import sqlite3
import threading
import time

import pytest
import requests
from click.testing import CliRunner

from conftest import TRACK_A, TRACK_B, TRACK_C, UNKNOWN_TRACK, seeded_database
from groove_compat import ids
from groove_compat.app import create_app, get_store
from groove_compat.cli import main
from reliability import ROUTES, ServerProcess

ADD = ROUTES[0]


# ---------------------------------------------------------------------------------------------------------
# Access log


def access_lines(caplog):
    return [json.loads(record.getMessage()) for record in caplog.records if record.name == "groove_compat.access"]


@pytest.mark.parametrize(
    "case, headers, body, status, items, failed, error",
    [
        ("added", "alice", {"TrackIds": [TRACK_A, TRACK_B]}, 200, 2, 0, None),
        ("partly-failed", "alice", {"TrackIds": [TRACK_A, UNKNOWN_TRACK, 5]}, 200, 3, 2, None),
        ("unauthenticated", None, {"TrackIds": [TRACK_A]}, 401, None, None, "INVALID_AUTHORIZATION_HEADER"),
        ("too-many", "alice", {"TrackIds": [TRACK_A] * 101}, 400, None, None, "COLLECTION_INVALID_OPERATION"),
    ],
)
def test_one_json_access_line_per_request(client, users, caplog, case, headers, body, status, items, failed, error):
    caplog.set_level(logging.INFO, logger="groove_compat.access")
    token = users["alice"].token
    answer = client.post(
        ADD.path + "?accessToken=Bearer%20" + token + "&contentType=json",
        json=body,
        headers=users[headers].headers if headers else {},
    )
    assert answer.status_code == status
    [line] = access_lines(caplog)
    assert line["request_id"] == answer.headers["X-Request-Id"]
    assert line["route"] == "/1/content/<namespace>/collection/add"
    assert line["path"] == ADD.path  # the path only: never the query string
    assert line["method"] == "POST"
    assert line["status"] == status
    assert isinstance(line["duration_ms"], (int, float)) and line["duration_ms"] >= 0
    assert line["caller"] == (users["alice"].user_id if headers else None)
    assert line.get("items") == items and line.get("failed_items") == failed
    assert line.get("error") == error
    text = caplog.text
    assert token not in text and "accessToken" not in text


def test_healthz_answers_200_on_a_current_database(client):
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.get_json() == {"status": "ok", "database": "ok"}


@pytest.mark.parametrize("state", ["missing", "empty-file", "not-a-database", "older-schema"])
def test_healthz_answers_503_when_the_database_cannot_serve(tmp_path, state):
    path = tmp_path / "groove-compat.sqlite"
    if state == "empty-file":
        path.write_bytes(b"")
    elif state == "not-a-database":
        path.write_bytes(b"this is not a database" * 100)
    elif state == "older-schema":
        seeded_database(path)
        connection = sqlite3.connect(path)
        connection.execute("PRAGMA user_version = 0")
        connection.close()
    app = create_app({"DATABASE": str(path)})
    answer = app.test_client().get("/healthz")
    assert answer.status_code == 503
    assert answer.get_json()["status"] == "unavailable"
    get_store(app).close()


def test_healthz_of_a_live_server_turns_503_when_its_database_is_replaced(tmp_path):
    database = tmp_path / "groove-compat.sqlite"
    seeded_database(database)
    with ServerProcess(database, workers=1) as server:
        assert requests.get(server.url + "/healthz", timeout=5).status_code == 200
        connection = sqlite3.connect(database)
        connection.execute("PRAGMA user_version = 0")  # as a botched manual downgrade would leave it
        connection.close()
        assert requests.get(server.url + "/healthz", timeout=5).status_code == 503


# ---------------------------------------------------------------------------------------------------------
# Backup and restore


class CliResult:
    def __init__(self, result):
        self.returncode = result.exit_code
        self.stdout = result.stdout
        self.stderr = result.stderr if result.stderr_bytes is not None else result.output


def cli(*args, database):
    """Run the CLI in this process (as an operator would run it beside the live server process)."""
    return CliResult(CliRunner().invoke(main, [*args, "--db", str(database)]))


def collection_of(database, user):
    connection = sqlite3.connect(database)
    try:
        library_id = connection.execute("SELECT library_id FROM users WHERE id = ?", (user.user_id,)).fetchone()[0]
        return [
            bytes(row[0])
            for row in connection.execute(
                "SELECT t.guid FROM entries e JOIN tracks t ON t.id = e.track_id WHERE e.collection_id = ?"
                " ORDER BY e.position",
                (library_id,),
            )
        ]
    finally:
        connection.close()


def test_backup_while_the_server_writes_then_restore(tmp_path):
    database = tmp_path / "groove-compat.sqlite"
    users = seeded_database(database)
    app = create_app({"DATABASE": str(database)})
    store = get_store(app)
    extra = [os.urandom(16) for _ in range(400)]
    store.upsert_tracks([(1, guid, f"T{n}", "A", "B", 100, 1, None) for n, guid in enumerate(extra)])
    store.close()
    backup = tmp_path / "backup.sqlite"
    acknowledged_before_backup = set()
    stop = threading.Event()
    errors = []

    with ServerProcess(database) as server:
        def write():
            session = requests.Session()
            for guid in extra:
                if stop.is_set():
                    return
                answer = session.post(server.url + ADD.path, json={"TrackIds": [ids.catalog_id(guid)]},
                                      headers=users["alice"].headers, timeout=10)
                if answer.status_code != 200:
                    errors.append(answer.status_code)
                    return
                if not backup_started.is_set():
                    acknowledged_before_backup.add(guid)

        backup_started = threading.Event()
        writer = threading.Thread(target=write)
        writer.start()
        time.sleep(0.5)
        backup_started.set()
        result = cli("db", "backup", str(backup), database=database)
        time.sleep(0.3)
        stop.set()
        writer.join()
        assert errors == []
        assert result.returncode == 0, result.stderr
        assert "integrity ok" in result.stdout
        # Taken while writes went on: a consistent snapshot holding everything acknowledged before it.
        in_backup = set(collection_of(backup, users["alice"]))
        assert acknowledged_before_backup <= in_backup
        connection = sqlite3.connect(backup)
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        count, track_count = connection.execute(
            "SELECT (SELECT COUNT(*) FROM entries e JOIN users u ON e.collection_id = u.library_id WHERE u.id = ?),"
            " (SELECT track_count FROM collections c JOIN users u ON c.id = u.library_id WHERE u.id = ?)",
            (users["alice"].user_id, users["alice"].user_id),
        ).fetchone()
        connection.close()
        assert count == track_count == len(in_backup)
        assert not os.path.exists(str(backup) + "-wal")
        # Writes after the backup, and an id answered before it.
        after = requests.post(server.url + ADD.path, json={"TrackIds": [TRACK_C]}, headers=users["alice"].headers, timeout=10)
        assert after.status_code == 200
        backed_up_guid = sorted(in_backup)[0]
        first_id = requests.post(server.url + ADD.path, json={"TrackIds": [ids.catalog_id(backed_up_guid)]},
                                 headers=users["alice"].headers, timeout=10).json()["TrackActionResults"][0]["Id"]
    assert ids.parse_catalog_guid(TRACK_C) in collection_of(database, users["alice"])

    # A second backup to the same path is refused rather than overwriting the first.
    assert cli("db", "backup", str(backup), database=database).returncode != 0

    restored = cli("db", "restore", str(backup), database=database)
    assert restored.returncode == 0, restored.stderr
    assert collection_of(database, users["alice"]) == collection_of(backup, users["alice"])
    with ServerProcess(database) as server:
        # The restored database serves the same collection: the same entry ids, and what came later is gone.
        again = requests.post(server.url + ADD.path, json={"TrackIds": [ids.catalog_id(backed_up_guid)]},
                              headers=users["alice"].headers, timeout=10)
        assert again.json()["TrackActionResults"][0]["Id"] == first_id
        assert requests.get(server.url + "/healthz", timeout=5).status_code == 200
    assert collection_of(database, users["alice"]) == collection_of(backup, users["alice"])
    assert ids.parse_catalog_guid(TRACK_C) not in collection_of(database, users["alice"])


def test_restore_refuses_a_file_that_is_not_a_sound_backup(tmp_path):
    database = tmp_path / "groove-compat.sqlite"
    users = seeded_database(database)
    before = collection_of(database, users["alice"])
    broken = tmp_path / "broken.sqlite"
    broken.write_bytes(b"SQLite format 3\x00" + b"\x00" * 4000)
    result = cli("db", "restore", str(broken), database=database)
    assert result.returncode != 0
    assert collection_of(database, users["alice"]) == before
    empty = tmp_path / "empty.sqlite"
    sqlite3.connect(empty).close()
    result = cli("db", "restore", str(empty), database=database)
    assert result.returncode != 0 and "schema version 0" in result.stderr


@pytest.mark.parametrize("method, path", [("POST", "/healthz"), ("TRACE", "/healthz"), ("DELETE", "/docs"), ("PUT", "/openapi.json")])
def test_a_wrong_method_outside_the_dialects_names_the_allowed_ones(client, method, path):
    """HTTP requires Allow on a 405: the plain JSON error of the paths outside /1/ and /v1/ carries it too."""
    answer = client.open(path, method=method)
    assert answer.status_code == 405
    assert "GET" in {value.strip() for value in answer.headers["Allow"].split(",")}
    assert answer.get_json() == {"error": {"status": 405, "message": "The method is not allowed for the requested URL."}}
