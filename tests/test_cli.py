"""The operators' commands: db init, catalog import, users create, tokens issue/list/revoke; --db and
GROOVE_COMPAT_DATABASE; clear errors on an uninitialised database."""

import hashlib
import json
import os
import re
import sqlite3
import subprocess
import sys
import uuid

import pytest
from click.testing import CliRunner

from conftest import ROOT, TRACK_A
from groove_compat.cli import main
from groove_compat.store import schema

ADD = "/1/content/music/collection/add"
USER_ID = re.compile(r"^usr_[0-9a-f]{16}$")
CREDENTIAL_ID = re.compile(r"^tok_[0-9a-f]{16}$")


def run(runner, *args, ok=True):
    result = runner.invoke(main, list(args))
    if ok:
        assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result


def query(path, sql, parameters=()):
    connection = sqlite3.connect(path)
    try:
        return connection.execute(sql, parameters).fetchall()
    finally:
        connection.close()


def guid(catalog_id):
    return uuid.UUID(catalog_id[len("music."):]).bytes


@pytest.fixture
def fresh(tmp_path):
    """A path for a database that does not exist yet, and a runner whose environment names no database."""
    return tmp_path / "fresh.sqlite", CliRunner(env={"GROOVE_COMPAT_DATABASE": ""})


@pytest.fixture
def initialised(fresh):
    path, runner = fresh
    run(runner, "db", "init", "--db", str(path))
    return path, runner


# ---------------------------------------------------------------------------------------------------------
# db init


def test_db_init_twice_is_harmless(fresh):
    path, runner = fresh
    first = run(runner, "db", "init", "--db", str(path))
    assert first.output.strip() == f"{path}: schema version 0 -> {schema.SCHEMA_VERSION}"
    assert query(path, "PRAGMA user_version") == [(schema.SCHEMA_VERSION,)]
    user = run(runner, "users", "create", "carol", "--db", str(path)).output.strip()
    key = query(path, "SELECT value FROM settings WHERE name = 'id_key'")

    second = run(runner, "db", "init", "--db", str(path))
    assert second.output.strip() == f"{path}: already at schema version {schema.SCHEMA_VERSION}"
    assert query(path, "PRAGMA user_version") == [(schema.SCHEMA_VERSION,)]
    # Data and the id key survive, so ids handed out before stay valid.
    assert query(path, "SELECT name FROM users") == [("carol",)]
    assert query(path, "SELECT value FROM settings WHERE name = 'id_key'") == key
    assert run(runner, "tokens", "list", user, "--db", str(path)).output == ""


def test_db_init_creates_missing_folders(tmp_path):
    path = tmp_path / "a" / "b" / "groove.sqlite"
    run(CliRunner(env={"GROOVE_COMPAT_DATABASE": ""}), "db", "init", "--db", str(path))
    assert path.exists()


def test_db_init_refuses_a_newer_schema(initialised):
    path, runner = initialised
    query(path, f"PRAGMA user_version = {schema.SCHEMA_VERSION + 1}")
    result = run(runner, "db", "init", "--db", str(path), ok=False)
    assert result.exit_code == 1
    assert "newer than this code" in result.output


# ---------------------------------------------------------------------------------------------------------
# catalog import

CSV_GOOD = """id,title,artist,album,duration,track_number,isrc
music.00000001-0000-0000-0000-000000000001,Seconds,Artist,Album,245,1,USABC1234567
music.00000001-0000-0000-0000-000000000002,Minutes,,,4:05,,
music.00000001-0000-0000-0000-000000000003,Hours,Artist,,01:02:03,3,us-abc-12-34568
music.00000001-0000-0000-0000-000000000004,Only Title,,,,,
"""

JSONL_GOOD = "\n".join(
    json.dumps(row)
    for row in [
        {"id": "music.00000002-0000-0000-0000-000000000001", "title": "Seconds", "duration": 245, "track_number": 1},
        {"id": "music.00000002-0000-0000-0000-000000000002", "title": "Text seconds", "duration": "245"},
        {"id": "music.00000002-0000-0000-0000-000000000003", "title": "Clock", "duration": "00:04:05", "artist": "A"},
        {"id": "music.00000002-0000-0000-0000-000000000004", "title": "No duration"},
    ]
) + "\n"


@pytest.mark.parametrize(
    "name, content, expected",
    [
        (
            "catalog.csv",
            CSV_GOOD,
            {
                "music.00000001-0000-0000-0000-000000000001": ("Seconds", "Artist", "Album", 245, 1, "USABC1234567"),
                "music.00000001-0000-0000-0000-000000000002": ("Minutes", None, None, 245, None, None),
                "music.00000001-0000-0000-0000-000000000003": ("Hours", "Artist", None, 3723, 3, "USABC1234568"),
                "music.00000001-0000-0000-0000-000000000004": ("Only Title", None, None, None, None, None),
            },
        ),
        (
            "catalog.jsonl",
            JSONL_GOOD,
            {
                "music.00000002-0000-0000-0000-000000000001": ("Seconds", None, None, 245, 1, None),
                "music.00000002-0000-0000-0000-000000000002": ("Text seconds", None, None, 245, None, None),
                "music.00000002-0000-0000-0000-000000000003": ("Clock", "A", None, 245, None, None),
                "music.00000002-0000-0000-0000-000000000004": ("No duration", None, None, None, None, None),
            },
        ),
    ],
)
def test_catalog_import(initialised, tmp_path, name, content, expected):
    path, runner = initialised
    catalog = tmp_path / name
    catalog.write_text(content, encoding="utf-8")
    result = run(runner, "catalog", "import", str(catalog), "--db", str(path))
    assert "4 rows read, 4 stored, 0 bad" in result.stdout
    assert "the catalog now holds 4 tracks" in result.stdout
    found = {
        "music." + str(uuid.UUID(bytes=bytes(row[0]))).upper(): tuple(row[1:])
        for row in query(path, "SELECT guid, title, artist, album, duration, track_number, isrc FROM tracks")
    }
    assert found == expected


BAD_CSV = """id,title,duration,track_number,isrc
music.00000003-0000-0000-0000-000000000001,Good one,100,1,
music.not-a-guid,Bad id,100,,
music.00000003-0000-0000-0000-000000000002,,100,,
music.00000003-0000-0000-0000-000000000003,Bad duration,abc,,
music.00000003-0000-0000-0000-000000000004,Bad clock,1:60,,
music.00000003-0000-0000-0000-000000000005,Bad number,100,x,
music.00000003-0000-0000-0000-000000000006,Bad isrc,100,,XX
,No id,100,,
music.00000003-0000-0000-0000-000000000007,Good two,00:01:40,2,
"""

BAD_JSONL = "\n".join(
    [
        json.dumps({"id": "music.00000004-0000-0000-0000-000000000001", "title": "Good one"}),
        "{not json",
        json.dumps(["a", "list"]),
        json.dumps({"id": "music.00000004-0000-0000-0000-000000000002", "title": 5}),
        json.dumps({"id": "music.00000004-0000-0000-0000-000000000003", "title": "Neg", "duration": -3}),
        "",
        json.dumps({"id": "music.00000004-0000-0000-0000-000000000004", "title": "Good two", "duration": "1:00"}),
    ]
) + "\n"


@pytest.mark.parametrize(
    "name, content, bad_lines, good",
    [
        (
            "bad.csv",
            BAD_CSV,
            {3: "id", 4: "title is required", 5: "duration", 6: "duration", 7: "track_number", 8: "isrc", 9: "id is required"},
            {"music.00000003-0000-0000-0000-000000000001": 100, "music.00000003-0000-0000-0000-000000000007": 100},
        ),
        (
            "bad.jsonl",
            BAD_JSONL,
            {2: "not valid JSON", 3: "JSON object", 4: "title must be text", 5: "negative"},
            {"music.00000004-0000-0000-0000-000000000001": None, "music.00000004-0000-0000-0000-000000000004": 60},
        ),
    ],
)
def test_bad_rows_are_reported_and_good_rows_kept(initialised, tmp_path, name, content, bad_lines, good):
    path, runner = initialised
    catalog = tmp_path / name
    catalog.write_text(content, encoding="utf-8")
    result = run(runner, "catalog", "import", str(catalog), "--db", str(path))
    reported = {}
    for line in result.stderr.splitlines():
        match = re.match(rf"^{re.escape(str(catalog))}:(\d+): (.+)$", line)
        assert match, line
        reported[int(match.group(1))] = match.group(2)
    assert sorted(reported) == sorted(bad_lines)
    for line_number, reason in bad_lines.items():
        assert reason in reported[line_number]
    assert f"{len(bad_lines) + 2} rows read, 2 stored, {len(bad_lines)} bad" in result.stdout
    found = {
        "music." + str(uuid.UUID(bytes=bytes(row[0]))).upper(): row[1]
        for row in query(path, "SELECT guid, duration FROM tracks")
    }
    assert found == good


def test_a_file_of_only_bad_rows_fails(initialised, tmp_path):
    path, runner = initialised
    catalog = tmp_path / "all-bad.csv"
    catalog.write_text("id,title\nmusic.x,One\nmusic.y,Two\n", encoding="utf-8")
    result = run(runner, "catalog", "import", str(catalog), "--db", str(path), ok=False)
    assert result.exit_code == 1
    assert "2 rows read, 0 stored, 2 bad" in result.stdout
    assert query(path, "SELECT COUNT(*) FROM tracks") == [(0,)]


def test_importing_again_updates_rows_in_place(client, store, runner, alice, tmp_path):
    """The seeded database: alice adds a track, the catalog is re-imported with a new title; the track keeps
    its row (so the collection entry and its id stay valid) and gets the new title."""
    first = client.post(ADD, json={"TrackIds": [TRACK_A]}, headers=alice.headers).get_json()
    before_rows = query(store.path, "SELECT id, guid FROM tracks ORDER BY id")
    catalog = tmp_path / "update.csv"
    catalog.write_text(f"id,title,duration\n{TRACK_A.lower()},Renamed,1:00\n", encoding="utf-8")
    result = run(runner, "catalog", "import", str(catalog))
    assert "1 rows read, 1 stored, 0 bad" in result.stdout
    assert query(store.path, "SELECT id, guid FROM tracks ORDER BY id") == before_rows
    assert query(store.path, "SELECT title, duration FROM tracks WHERE guid = ?", (guid(TRACK_A),)) == [("Renamed", 60)]
    again = client.post(ADD, json={"TrackIds": [TRACK_A]}, headers=alice.headers).get_json()
    assert again == first
    assert len(store.collection_track_ids(store.user(alice.user_id)["library_id"])) == 1


@pytest.mark.parametrize("name", ["catalog.txt", "catalog.json", "catalog", "catalog.csv.gz"])
def test_unknown_extension(initialised, tmp_path, name):
    path, runner = initialised
    catalog = tmp_path / name
    catalog.write_text(CSV_GOOD, encoding="utf-8")
    result = run(runner, "catalog", "import", str(catalog), "--db", str(path), ok=False)
    assert result.exit_code == 1
    assert "unknown catalog file type" in result.output and ".csv or .jsonl" in result.output
    assert query(path, "SELECT COUNT(*) FROM tracks") == [(0,)]


@pytest.mark.parametrize(
    "content, message",
    [("", "empty"), ("title,artist\nx,y\n", "no id"), ("id,artist\nmusic.x,y\n", "no title")],
)
def test_unusable_csv_files(initialised, tmp_path, content, message):
    path, runner = initialised
    catalog = tmp_path / "unusable.csv"
    catalog.write_text(content, encoding="utf-8")
    result = run(runner, "catalog", "import", str(catalog), "--db", str(path), ok=False)
    assert result.exit_code == 1 and message in result.output


# ---------------------------------------------------------------------------------------------------------
# users and tokens


def test_users_create_prints_the_user_id(initialised):
    path, runner = initialised
    first = run(runner, "users", "create", "carol", "--db", str(path)).output.strip()
    second = run(runner, "users", "create", "dave", "--db", str(path)).output.strip()
    assert USER_ID.match(first) and USER_ID.match(second) and first != second
    assert query(path, "SELECT name FROM users ORDER BY id") == [("carol",), ("dave",)]
    # Every user gets a library collection.
    assert query(path, "SELECT COUNT(*) FROM collections WHERE kind = 'library'") == [(2,)]


@pytest.mark.parametrize("name", ["", "   "])
def test_users_create_refuses_an_empty_name(initialised, name):
    path, runner = initialised
    result = run(runner, "users", "create", name, "--db", str(path), ok=False)
    assert result.exit_code != 0
    assert query(path, "SELECT COUNT(*) FROM users") == [(0,)]


@pytest.mark.parametrize("by", ["id", "name"])
def test_tokens_issue_prints_the_token_last_and_stores_only_its_hash(client, store, runner, alice, by):
    result = run(runner, "tokens", "issue", alice.public_id if by == "id" else "alice")
    lines = result.stdout.strip().splitlines()
    token = lines[-1]
    assert re.match(r"^\S{32,}$", token)
    assert all(token not in line for line in lines[:-1])
    stored = query(store.path, "SELECT token_hash FROM credentials WHERE user_id = ? ORDER BY id", (alice.user_id,))
    assert bytes(stored[-1][0]) == hashlib.sha256(token.encode()).digest()
    for suffix in ("", "-wal"):
        if os.path.exists(store.path + suffix):
            with open(store.path + suffix, "rb") as handle:
                assert token.encode() not in handle.read()
    # The new token works.
    response = client.post(ADD, json={"TrackIds": [TRACK_A]}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


@pytest.mark.parametrize("user", ["nobody", "usr_0000000000000000"])
def test_tokens_issue_for_an_unknown_user(store, runner, user):
    before = store.snapshot()
    result = run(runner, "tokens", "issue", user, ok=False)
    assert result.exit_code == 1 and "no user" in result.output
    assert store.snapshot() == before


def test_tokens_list_shows_ids_times_and_status_never_tokens(runner, alice):
    second = run(runner, "tokens", "issue", alice.public_id).stdout.strip().splitlines()[-1]
    listed = run(runner, "tokens", "list", alice.public_id).stdout
    lines = listed.strip().splitlines()
    assert len(lines) == 2
    for line in lines:
        credential, created, when, status = line.split()
        assert CREDENTIAL_ID.match(credential)
        assert created == "created" and re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", when)
        assert status == "active"
    assert alice.token not in listed and second not in listed

    run(runner, "tokens", "revoke", second)
    listed = run(runner, "tokens", "list", "alice").stdout
    statuses = [line.split(None, 3)[3] for line in listed.strip().splitlines()]
    assert statuses[0] == "active" and re.match(r"^revoked \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", statuses[1])
    assert alice.token not in listed and second not in listed


@pytest.mark.parametrize("by", ["token", "credential-id"])
def test_tokens_revoke(client, store, runner, alice, bob, by):
    (credential_id,) = [line.split()[0] for line in run(runner, "tokens", "list", "alice").stdout.splitlines()]
    result = run(runner, "tokens", "revoke", alice.token if by == "token" else credential_id)
    assert result.stdout.strip() == f"revoked {credential_id}"
    assert client.post(ADD, json={"TrackIds": [TRACK_A]}, headers=alice.headers).status_code == 401
    assert client.post(ADD, json={"TrackIds": [TRACK_A]}, headers=bob.headers).status_code == 200
    # Revoking again, or something that is no token, is an error.
    again = run(runner, "tokens", "revoke", alice.token if by == "token" else credential_id, ok=False)
    assert again.exit_code == 1 and "no such active token" in again.output
    unknown = run(runner, "tokens", "revoke", "gct_nothing", ok=False)
    assert unknown.exit_code == 1 and "no such active token" in unknown.output


# ---------------------------------------------------------------------------------------------------------
# Which database


def test_db_option_and_environment_variable(tmp_path):
    from_environment = tmp_path / "env.sqlite"
    from_option = tmp_path / "option.sqlite"
    runner = CliRunner(env={"GROOVE_COMPAT_DATABASE": str(from_environment)})

    run(runner, "db", "init")
    assert from_environment.exists() and not from_option.exists()
    run(runner, "db", "init", "--db", str(from_option))
    assert from_option.exists()

    run(runner, "users", "create", "in-env")
    run(runner, "users", "create", "in-option", "--db", str(from_option))
    assert query(from_environment, "SELECT name FROM users") == [("in-env",)]
    assert query(from_option, "SELECT name FROM users") == [("in-option",)]

    user = run(runner, "users", "create", "second", "--db", str(from_option)).stdout.strip()
    token = run(runner, "tokens", "issue", user, "--db", str(from_option)).stdout.strip().splitlines()[-1]
    assert run(runner, "tokens", "issue", user, ok=False).exit_code == 1  # no such user in the other database
    assert run(runner, "tokens", "revoke", token, ok=False).exit_code == 1
    assert run(runner, "tokens", "revoke", token, "--db", str(from_option)).exit_code == 0


# ---------------------------------------------------------------------------------------------------------
# An uninitialised database


@pytest.mark.parametrize(
    "args",
    [
        ["users", "create", "carol"],
        ["tokens", "issue", "carol"],
        ["tokens", "list", "carol"],
        ["tokens", "revoke", "gct_x"],
        ["catalog", "import", "CATALOG"],
    ],
    ids=lambda args: " ".join(args[:2]),
)
def test_commands_on_an_uninitialised_database_give_a_clear_error(fresh, tmp_path, args):
    path, runner = fresh
    catalog = tmp_path / "catalog.csv"
    catalog.write_text(CSV_GOOD, encoding="utf-8")
    args = [str(catalog) if arg == "CATALOG" else arg for arg in args]
    result = run(runner, *args, "--db", str(path), ok=False)
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert "run 'groove-compat db init'" in result.output
    assert "Traceback" not in result.output


def test_a_real_process_on_an_uninitialised_database_prints_no_traceback(tmp_path):
    path = tmp_path / "nothing.sqlite"
    process = subprocess.run(
        [sys.executable, "-m", "groove_compat.cli", "users", "create", "carol", "--db", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert process.returncode == 1
    assert process.stdout == ""
    assert process.stderr.startswith("Error: ") and "groove-compat db init" in process.stderr
    assert "Traceback" not in process.stderr
