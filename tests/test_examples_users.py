"""The examples of each dialect and each kind of user (examples/v1/, examples/python/legacy_client.py,
examples/import/) run against a live server and do what they say: their output, and the database afterwards."""

import csv
import io
import json
import os
import re
import sqlite3
import subprocess
import sys

import pytest

from conftest import ROOT, TRACK_A, TRACK_B, TRACK_C, UNKNOWN_TRACK, make_user
from groove_compat import ids
from groove_compat.app import create_app, get_store
from test_examples import library_tracks

EXAMPLES = os.path.join(ROOT, "examples")
V1_PYTHON = os.path.join(EXAMPLES, "v1", "playlist.py")
V1_CURL = os.path.join(EXAMPLES, "v1", "playlist.sh")
LEGACY = os.path.join(EXAMPLES, "python", "legacy_client.py")
IMPORT = os.path.join(EXAMPLES, "import", "import.sh")
IMPORT_IDS = os.path.join(EXAMPLES, "import", "ids.txt")


class Users:
    def __init__(self, live_server):
        app = create_app({"DATABASE": live_server.database})
        self.store = get_store(app)
        self.codec = ids.IdCodec(self.store.id_key())
        self.organization = self.codec.public_id("organization", 1)
        self.database = live_server.database

    def new(self, name):
        return make_user(self.store, name)

    def track(self, catalog_id):
        guid = ids.parse_catalog_guid(catalog_id)
        return self.codec.public_id("track", self.store.tracks_by_guid(organization_id=1, guids=[guid])[guid])

    def playlists(self, user):
        """(name, [catalog ids in order]) of each playlist of ``user``, read from the database."""
        connection = sqlite3.connect(self.database)
        try:
            found = []
            for collection_id, name in connection.execute(
                "SELECT id, name FROM collections WHERE user_id = ? AND kind = 'playlist' ORDER BY id", (user.user_id,)
            ):
                rows = connection.execute(
                    "SELECT hex(t.guid) FROM entries e JOIN tracks t ON t.id = e.track_id"
                    " WHERE e.collection_id = ? ORDER BY e.position", (collection_id,)
                )
                found.append((name, [_catalog_id(guid) for (guid,) in rows]))
            return found
        finally:
            connection.close()


def _catalog_id(hex_guid):
    return ids.catalog_id(bytes.fromhex(hex_guid))


@pytest.fixture(scope="module")
def users(live_server):
    users = Users(live_server)
    yield users
    users.store.close()


def run(command, live_server, environment=None, *args, timeout=60):
    env = dict(os.environ, BASE_URL=live_server.url, PYTHONPATH=ROOT, **(environment or {}))
    return subprocess.run([*command, *args], capture_output=True, text=True, env=env, cwd="/", timeout=timeout)


def add_with_groove(live_server, user, *catalog_ids):
    result = run([sys.executable, os.path.join(EXAMPLES, "python", "add_tracks.py")], live_server,
                 {"TOKEN": user.token}, *catalog_ids)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("script", [V1_PYTHON, V1_CURL, LEGACY, IMPORT])
def test_scripts_are_executable_and_need_their_settings(script):
    assert os.access(script, os.X_OK)
    result = subprocess.run([script], capture_output=True, text=True, env={"PATH": os.environ["PATH"]}, timeout=30)
    assert result.returncode != 0 and "BASE_URL" in result.stderr


# ---------------------------------------------------------------------------------------------------------
# v1


V1_TRACK_LINE = re.compile(r"^track 0    (mtrack_[0-9a-f]{16}) (music\.\S+) (.+)$")


def test_v1_python_uses_the_first_library_track(live_server, users):
    user = users.new("v1-python")
    add_with_groove(live_server, user, TRACK_B, TRACK_A)
    result = run([sys.executable, V1_PYTHON], live_server, {"TOKEN": user.token, "ORG": users.organization},
                 "--name", "Road trip")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert re.fullmatch(r"collection mcoll_[0-9a-f]{16} library \(2 tracks\)", lines[0])
    created = re.fullmatch(r'created    (mcoll_[0-9a-f]{16}) "Road trip"', lines[1])
    assert created
    assert lines[2] == f"added      {users.track(TRACK_B)} to {created.group(1)}"
    track = V1_TRACK_LINE.match(lines[3])
    assert track.groups() == (users.track(TRACK_B), TRACK_B, "Echo Drift - Northbound Lights")
    assert len(lines) == 4
    assert users.playlists(user) == [("Road trip", [TRACK_B])]


def test_v1_python_with_a_given_track_and_errors(live_server, users):
    user = users.new("v1-python-2")
    environment = {"TOKEN": user.token, "ORG": users.organization}
    result = run([sys.executable, V1_PYTHON], live_server, environment, users.track(TRACK_C))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1].startswith(f"track 0    {users.track(TRACK_C)} {TRACK_C} ")
    assert users.playlists(user) == [("Road trip", [TRACK_C])]

    before = users.playlists(user)
    unknown = users.codec.public_id("track", 10_000_000)
    result = run([sys.executable, V1_PYTHON], live_server, environment, "--name", "Second", unknown)
    assert result.returncode == 1
    assert result.stdout.splitlines()[-1].startswith("HTTP 404 RESOURCE_NOT_FOUND: ")
    assert users.playlists(user) == before + [("Second", [])]  # created, then the add was refused

    result = run([sys.executable, V1_PYTHON], live_server, dict(environment, TOKEN="not-a-token"))
    assert result.returncode == 1
    assert result.stdout.startswith("HTTP 401 AUTHENTICATION_REQUIRED: ")

    empty = users.new("v1-python-empty")
    result = run([sys.executable, V1_PYTHON], live_server, {"TOKEN": empty.token, "ORG": users.organization})
    assert result.returncode == 1 and "your library is empty" in result.stderr
    assert users.playlists(empty) == []


def test_v1_curl(live_server, users):
    user = users.new("v1-curl")
    track = users.track(TRACK_A)
    result = run([V1_CURL], live_server, {"TOKEN": user.token, "ORG": users.organization}, track, "Curl mix")
    assert result.returncode == 0, result.stdout + result.stderr
    listed, created, added, page = [json.loads(line) for line in result.stdout.splitlines()]
    assert listed["success"] and [collection["kind"] for collection in listed["data"]] == ["library"]
    assert created["success"] and created["id"].startswith("mcoll_")
    assert added == {"success": True, "id": track, "detail": added["detail"]}
    assert [entry["id"] for entry in page["data"]] == [track] and page["next_cursor"] is None
    assert users.playlists(user) == [("Curl mix", [TRACK_A])]


def test_v1_curl_stops_at_the_first_error(live_server, users):
    user = users.new("v1-curl-2")
    result = run([V1_CURL], live_server, {"TOKEN": user.token, "ORG": users.organization}, "mtrack_x")
    assert result.returncode != 0
    lines = result.stdout.splitlines()
    assert json.loads(lines[-1])["error"]["code"] == "VALIDATION_ERROR"
    assert users.playlists(user) == [("Road trip", [])]


# ---------------------------------------------------------------------------------------------------------
# Legacy Groove JSON client


def test_legacy_client_adds_browses_page_by_page_and_reads_the_profile(live_server, users):
    user = users.new("legacy")
    add_with_groove(live_server, user, TRACK_C)
    result = run([sys.executable, LEGACY], live_server, {"TOKEN": user.token}, "--page-size", "2")
    assert result.returncode == 1, result.stdout + result.stderr  # the seed's unknown id
    lines = result.stdout.splitlines()
    assert lines[0] == f"failed  {UNKNOWN_TRACK} COLLECTION-INVALID-ID: Invalid collection id for this operation"
    assert re.fullmatch(rf"added   {TRACK_A} -> music\.AQQ\S+", lines[1])
    assert library_tracks(live_server.database, user) == [TRACK_C, TRACK_A]
    # Two tracks, two per page: one page, no token, too small to be worth compressing. The order is by title.
    assert lines[2:5] == [
        "page 1  2 tracks, continuation token: no, gzip: no",
        f"  {added_id(lines[1])} Atlas Lantern - Northbound Lights",
        f"  {entry_id_of(users, user, TRACK_C)} Lantern Paper - Northbound Lights",
    ]
    assert re.fullmatch(r"profile tracks=2 playlists=0 token=\S+", lines[5]) and len(lines) == 6


def added_id(line):
    return line.rsplit(" -> ", 1)[1]


def entry_id_of(users, user, catalog_id):
    guid = ids.parse_catalog_guid(catalog_id)
    track_row = users.store.tracks_by_guid(organization_id=1, guids=[guid])[guid]
    library_id = users.store.connection.execute("SELECT library_id FROM users WHERE id = ?", (user.user_id,)).fetchone()[0]
    return users.codec.entry_id(library_id, track_row, guid)


def test_legacy_client_follows_the_continuation_token(live_server, users):
    user = users.new("legacy-pages")
    with open(os.path.join(EXAMPLES, "sample_catalog.csv"), encoding="utf-8") as handle:
        catalog = [row["id"] for row in csv.DictReader(handle)]
    result = run([sys.executable, LEGACY], live_server, {"TOKEN": user.token}, *catalog)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert [line for line in lines if line.startswith("page ")] == [
        "page 1  25 tracks, continuation token: yes, gzip: yes",
        f"page 2  {len(catalog) - 25} tracks, continuation token: no, gzip: yes",
    ]
    added = {added_id(line) for line in lines if line.startswith("added ")}
    listed = [line.split()[0] for line in lines if line.startswith("  ")]
    assert len(added) == len(catalog) and sorted(listed) == sorted(added)
    assert lines[-1].startswith(f"profile tracks={len(catalog)} playlists=0 ")
    assert sorted(library_tracks(live_server.database, user)) == sorted(catalog)


def test_legacy_client_with_a_bad_token(live_server, users):
    result = run([sys.executable, LEGACY], live_server, {"TOKEN": "not-a-token"})
    assert result.returncode == 2
    assert result.stdout == "error   INVALID-AUTHORIZATION-HEADER: Missing or invalid authorization header\n"


def test_legacy_client_sends_what_the_sdk_sends(live_server, tmp_path):
    """The wire form, checked on a recording server that stands in for the API."""
    recorder = tmp_path / "recorder.py"
    recorder.write_text(RECORDER)
    server = subprocess.Popen([sys.executable, str(recorder), str(tmp_path / "requests.json")],
                              stdout=subprocess.PIPE, text=True)
    try:
        port = server.stdout.readline().strip()
        result = subprocess.run([sys.executable, LEGACY, TRACK_A], capture_output=True, text=True, timeout=60,
                                env=dict(os.environ, BASE_URL=f"http://127.0.0.1:{port}", TOKEN="tok"))
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert result.returncode == 0, result.stdout + result.stderr
    recorded = json.loads((tmp_path / "requests.json").read_text())
    assert [request["line"] for request in recorded] == [
        "POST /1/content/music/collection/Add HTTP/1.1",
        "GET /1/content/music/Collection/Tracks/browse?orderby=TrackTitle&maxitems=25 HTTP/1.1",
        "GET /1/content/music/Collection/Tracks/browse?continuationToken=NEXT HTTP/1.1",
        "GET /1/user/music/profile?language=en&country=US HTTP/1.1",
    ]
    for request in recorded:
        headers = request["headers"]
        assert headers["Accept"] == "application/json"
        assert headers["X-Client-Name"] == "GrooveClientSDK" and headers["X-Client-Version"] == "1.0"
        assert headers["Accept-Encoding"] == "gzip, deflate"
        assert headers["User-Agent"].startswith("Microsoft.Groove.Api.Client/1.0.")
        assert headers["Authorization"] == "Bearer tok"
    assert recorded[0]["headers"]["Content-Type"] == "application/json"
    assert recorded[0]["body"] == '{"TrackIds":["' + TRACK_A + '"]}'


RECORDER = r'''
import gzip, json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

ANSWERS = [
    {"TrackActionResults": [{"InputId": "x", "Id": "music.AQQ1"}]},
    {"Tracks": {"Items": [], "ContinuationToken": "NEXT"}},
    {"Tracks": {"Items": []}},
    {"Collection": {"TrackCount": 1, "PlaylistCount": 0, "Token": "t"}},
]
recorded = []

class Handler(BaseHTTPRequestHandler):
    def handle_one(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else None
        recorded.append({"line": self.requestline, "headers": dict(self.headers), "body": body})
        with open(sys.argv[1], "w") as out:
            json.dump(recorded, out)
        data = gzip.compress(json.dumps(ANSWERS[len(recorded) - 1]).encode())
        self.send_response(200)
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    do_GET = do_POST = handle_one
    def log_message(self, *args):
        pass

server = HTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
'''


# ---------------------------------------------------------------------------------------------------------
# Batch import


def test_import_reports_the_invalid_ids(live_server, users):
    user = users.new("importer")
    result = run([IMPORT], live_server, {"TOKEN": user.token}, timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    assert library_tracks(live_server.database, user) == [TRACK_A, TRACK_B, TRACK_C]
    report = result.stdout.split("import: some ids failed; failure report:\n", 1)[1]
    rows = list(csv.DictReader(io.StringIO(report)))
    assert {(row["line"], row["id"]) for row in rows} == {("3", UNKNOWN_TRACK), ("4", "not-a-track-id")}
    assert {row["id"]: row["error_code"] for row in rows}[UNKNOWN_TRACK] == "COLLECTION-INVALID-ID"
    summary = result.stdout.splitlines()
    assert "  ids:             5 (from 6 rows; 1 duplicates dropped, 0 bad rows)" in summary
    assert "  added:           3" in summary and "  failed:          2" in summary
    assert sorted(os.listdir(os.path.dirname(IMPORT_IDS))) == ["ids.txt", "import.sh"]  # nothing left behind


def test_import_of_valid_ids_only_exits_0(live_server, users, tmp_path):
    user = users.new("importer-2")
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text(f"{TRACK_B}\n{TRACK_A}\n")
    result = run([IMPORT], live_server, {"TOKEN": user.token}, str(ids_file), timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == "import: every id was added or already present"
    assert library_tracks(live_server.database, user) == [TRACK_B, TRACK_A]
    assert sorted(os.listdir(tmp_path)) == ["ids.txt"]


def test_import_with_a_bad_token_stops_and_says_so(live_server, users):
    result = run([IMPORT], live_server, {"TOKEN": "not-a-token"}, timeout=120)
    assert result.returncode == 3
    assert "import: stopped with exit status 3" in result.stderr
