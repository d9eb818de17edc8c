"""End to end through real server processes (gunicorn, real HTTP, driven with requests): round trips in
JSON and XML, errors on the wire, the access log, and ``groove-compat demo`` with its printed curl line."""

import json
import os
import queue
import sqlite3
import subprocess
import sys
import threading
import time

import pytest
import requests

from conftest import (
    ROOT,
    TRACK_A,
    TRACK_B,
    TRACK_C,
    UNKNOWN_TRACK,
    free_port,
    seeded_database,
    server_log,
    start_server,
    stop_server,
    wait_for_http,
)
from contract_schemas import NS_2013, NS_2016, assert_entry_id_shape, child, element_names, validate_answer

ADD = "/1/content/music/collection/add"
EXAMPLES = os.path.join(ROOT, "examples", "groove")
SEED_401_JSON = (
    b'{"Error":{"ErrorCode":"INVALID-AUTHORIZATION-HEADER","Description":"Missing or invalid authorization header",'
    b'"Message":"You need user authentication to use this API"}}'
)


def example(name):
    with open(os.path.join(EXAMPLES, name), "rb") as handle:
        return handle.read()


def library_entries(database, user):
    connection = sqlite3.connect(database)
    try:
        return connection.execute(
            "SELECT e.track_id, e.position FROM entries e JOIN users u ON u.library_id = e.collection_id"
            " WHERE u.id = ? ORDER BY e.position",
            (user.user_id,),
        ).fetchall()
    finally:
        connection.close()


def test_json_round_trip(live_server):
    alice = live_server.users["alice"]
    session = requests.Session()
    response = session.post(
        live_server.url + ADD, json={"TrackIds": [TRACK_C, UNKNOWN_TRACK.lower()]}, headers=alice.headers, timeout=10
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert response.headers["X-Request-Id"].startswith("req_")
    fmt, document = validate_answer(response)
    assert fmt == "json"
    added, failed = document["TrackActionResults"]
    assert added["InputId"] == TRACK_C
    assert_entry_id_shape(added["Id"], TRACK_C)
    assert failed["InputId"] == UNKNOWN_TRACK and failed["Error"]["ErrorCode"] == "COLLECTION-INVALID-ID"
    assert document["Error"]["ErrorCode"] == "COLLECTION-SOME-OPERATIONS-FAILED"
    stored = library_entries(live_server.database, alice)
    assert len(stored) == 1

    # Another worker process may answer the repeat: the id is the same and nothing is stored twice.
    for _ in range(4):
        again = session.post(live_server.url + "/1/content/music/collection/Add", json={"TrackIds": [TRACK_C]},
                             headers=alice.headers, timeout=10)
        assert again.json()["TrackActionResults"] == [added]
    assert library_entries(live_server.database, alice) == stored


@pytest.mark.parametrize("name, namespace, track", [("add-request-2013.xml", NS_2013, TRACK_B), ("add-request-2016.xml", NS_2016, TRACK_A)])
def test_xml_round_trip(live_server, name, namespace, track):
    bob = live_server.users["bob"]
    before = len(library_entries(live_server.database, bob))
    response = requests.post(
        live_server.url + ADD, data=example(name), headers=dict(bob.headers, **{"Content-Type": "application/xml"}), timeout=10
    )
    assert response.status_code == 200
    fmt, root = validate_answer(response)
    assert fmt == "xml" and root.nsmap[None] == namespace
    first = child(root, "TrackActionResults")[0]
    assert element_names(first) == ["Id", "InputId"]
    assert child(first, "InputId").text == track
    assert_entry_id_shape(child(first, "Id").text, track)
    assert len(library_entries(live_server.database, bob)) == before + 1


def test_large_answers_are_gzipped_when_asked(live_server):
    alice = live_server.users["alice"]
    response = requests.post(
        live_server.url + ADD, json={"TrackIds": [TRACK_A] * 100},
        headers=dict(alice.headers, **{"Accept-Encoding": "gzip"}), timeout=10,
    )
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert len(validate_answer(response)[1]["TrackActionResults"]) == 100


@pytest.mark.parametrize(
    "method, headers, body, status",
    [
        ("POST", {}, b'{"TrackIds": ["%s"]}' % TRACK_A.encode(), 401),
        ("POST", {"Authorization": "Bearer " + "k" * 10_240}, b'{"TrackIds": ["%s"]}' % TRACK_A.encode(), 401),
        ("GET", "alice", None, 405),
        ("POST", "alice", b'{"TrackIds": [' + b" " * 1_048_576 + b"]}", 413),
        ("POST", "alice", b'{"TrackIds": [', 400),
        ("POST", "alice", b"<x/>", 400),
    ],
    ids=["no-token", "10kb-token", "get", "too-large", "malformed-json", "wrong-xml-root"],
)
def test_errors_on_the_wire_have_groove_bodies(live_server, method, headers, body, status):
    alice = live_server.users["alice"]
    if headers == "alice":
        headers = dict(alice.headers)
    content_type = "application/xml" if body and body.startswith(b"<") else "application/json"
    before = library_entries(live_server.database, alice)
    response = requests.request(
        method, live_server.url + ADD, data=body, headers=dict(headers, **{"Content-Type": content_type}), timeout=10
    )
    assert response.status_code == status
    fmt, document = validate_answer(response)
    assert fmt == ("xml" if content_type == "application/xml" else "json")
    if status == 401:
        assert response.content == SEED_401_JSON
    assert library_entries(live_server.database, alice) == before


@pytest.mark.parametrize("size, status", [(1_048_576, 200), (1_048_577, 413), (1_500_000, 413)])
def test_chunked_bodies_are_held_to_the_size_limit(live_server, size, status):
    """Without Content-Length (chunked), a body of exactly the limit is read and a larger one refused."""
    alice = live_server.users["alice"]
    head, tail = b'{"TrackIds": ["%s"' % TRACK_B.encode(), b"]}"
    padding = size - len(head) - len(tail)
    before = library_entries(live_server.database, alice)

    def chunks():
        yield head
        for offset in range(0, padding, 65_536):
            yield b" " * min(65_536, padding - offset)
        yield tail

    response = requests.post(
        live_server.url + ADD, data=chunks(), headers=dict(alice.headers, **{"Content-Type": "application/json"}), timeout=10
    )
    assert response.status_code == status
    document = validate_answer(response)[1]
    if status == 413:
        assert list(document) == ["Error"]
        assert library_entries(live_server.database, alice) == before
    else:
        assert document["TrackActionResults"][0]["InputId"] == TRACK_B


def test_the_server_log_has_one_json_line_per_request_and_no_access_token(tmp_path):
    secret = "LegacyDeveloperToken-do-not-log-0123456789"
    database = tmp_path / "logged.sqlite"
    users = seeded_database(database)
    url, process = start_server(database, workers=1)
    request_ids = []
    try:
        for query in (f"?accessToken=Bearer%20{secret}", f"?accesstoken=Bearer+{secret}&contentType=xml"):
            response = requests.post(url + ADD + query, json={"TrackIds": [TRACK_A]}, headers=users["alice"].headers, timeout=10)
            assert response.status_code == 200
            request_ids.append(response.headers["X-Request-Id"])
        response = requests.post(url + ADD + f"?accessToken={secret}", json={"TrackIds": [TRACK_A]}, timeout=10)
        assert response.status_code == 401
        request_ids.append(response.headers["X-Request-Id"])
    finally:
        stop_server(process)
    log = server_log(process)
    assert secret not in log
    assert users["alice"].token not in log
    lines = {}
    for line in log.splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            lines[record["request_id"]] = record
    assert [lines[request_id]["status"] for request_id in request_ids] == [200, 200, 401]
    assert all(lines[request_id]["path"] == ADD for request_id in request_ids)


# ---------------------------------------------------------------------------------------------------------
# groove-compat demo


def read_lines(stream, lines):
    for line in iter(stream.readline, b""):
        lines.put(line.decode("utf-8", "replace").rstrip("\n"))


def test_demo_prints_a_curl_line_that_works_as_printed(tmp_path):
    port = free_port()
    database = tmp_path / "demo" / "demo.sqlite"
    environment = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    environment.pop("GROOVE_COMPAT_DATABASE", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "groove_compat.cli", "demo", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--db", str(database)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=tmp_path,
        env=environment,
    )
    lines = queue.Queue()
    threading.Thread(target=read_lines, args=(process.stdout, lines), daemon=True).start()
    try:
        printed = []
        deadline = time.monotonic() + 30
        while not (printed and printed[-1].startswith("curl ")):
            printed.append(lines.get(timeout=max(deadline - time.monotonic(), 0.1)))
        fields = dict(line.split(":", 1) for line in printed if not line.startswith(("curl ", "try:")))
        fields = {key.strip(): value.strip() for key, value in fields.items()}
        assert fields["database"].startswith(str(database))
        track_id, token = fields["track id"], fields["token"]
        assert fields["user"].startswith("usr_")
        curl = printed[-1]
        assert token in curl and track_id in curl and f"127.0.0.1:{port}" in curl

        wait_for_http(f"http://127.0.0.1:{port}/healthz", process)
        result = subprocess.run(["bash", "-c", curl], capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, result.stderr
        document = json.loads(result.stdout)
        (added,) = document["TrackActionResults"]
        assert added["InputId"] == track_id
        assert_entry_id_shape(added["Id"], track_id)
        assert "Error" not in document
        connection = sqlite3.connect(database)
        try:
            assert connection.execute("SELECT COUNT(*) FROM entries").fetchone() == (1,)
            assert connection.execute("SELECT COUNT(*) FROM tracks").fetchone()[0] >= 1
        finally:
            connection.close()
    finally:
        stop_server(process)


@pytest.mark.parametrize(
    "path, expected",
    [
        (
            "/v1/music/org_0000000000000000/collections/mcoll_0000000000000000/tracks?cursor=",
            lambda body: body["success"] is False and body["error"]["status"] == 414,
        ),
        ("/1/user/music/profile?language=", lambda body: "IsSubscriptionAvailableForPurchase" in body),
        ("/1/content/music/collection/tracks/browse?continuationToken=", lambda body: set(body) == {"Error"}),
    ],
)
def test_a_request_line_too_long_is_answered_by_the_dialect_that_owns_the_path(live_server, path, expected):
    """gunicorn refuses a request line over 8 KB before any route is known; its first bytes still name the
    path, so the answer is the owning dialect's body (the v1 envelope, or the Groove endpoint's type)."""
    alice = live_server.users["alice"]
    response = requests.get(live_server.url + path + "A" * 9000, headers=alice.headers, timeout=10)
    assert response.status_code == 414
    assert expected(response.json())
