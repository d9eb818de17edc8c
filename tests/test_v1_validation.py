"""Request validation and protocol errors of the v1 dialect: always the envelope (never HTML), always with
the request's trace id, and nothing written."""

import json
import logging

import pytest

from groove_compat import library
from groove_compat.app import create_app, get_store
from v1_world import assert_envelope, world  # noqa: F401


def add_url(world):
    return world.url("org1", "alice_library", "tracks")


@pytest.mark.parametrize(
    "body, fields",
    [
        ({}, {"track_id": ["Missing data for required field."]}),
        ({"track_id": None}, {"track_id": ["Field may not be null."]}),
        ({"track_id": 12}, {"track_id": ["Not a valid string."]}),
        ({"track_id": ["mtrack_0000000000000001"]}, {"track_id": ["Not a valid string."]}),
        ({"track_id": "mtrack_8d2e1f6a3c9b"}, {"track_id": ["Not a track id (mtrack_ and 16 hex digits)."]}),
        ({"track_id": "mtrack_ABCDEF0123456789"}, {"track_id": ["Not a track id (mtrack_ and 16 hex digits)."]}),
        ({"track_id": "mcoll_0123456789abcdef"}, {"track_id": ["Not a track id (mtrack_ and 16 hex digits)."]}),
        ({"track_id": "music.A83EB907-0100-11DB-89CA-0019B92A3933"}, {"track_id": ["Not a track id (mtrack_ and 16 hex digits)."]}),
        ({"track_id": " mtrack_0123456789abcdef"}, {"track_id": ["Not a track id (mtrack_ and 16 hex digits)."]}),
        ({"track_id": "A", "position": 0}, {"track_id": ["Not a track id (mtrack_ and 16 hex digits)."], "position": ["Unknown field."]}),
        ({"TrackIds": ["x"]}, {"track_id": ["Missing data for required field."], "TrackIds": ["Unknown field."]}),
        (["mtrack_0123456789abcdef"], {"_schema": ["Invalid input type."]}),
        ("mtrack_0123456789abcdef", {"_schema": ["Invalid input type."]}),
        (None, {"_schema": ["Invalid input type."]}),
    ],
)
def test_an_invalid_add_body_is_a_400_naming_each_field(client, world, body, fields):
    before = world.store.snapshot()
    response = client.post(
        add_url(world), headers=world.users["alice"].headers, data=json.dumps(body), content_type="application/json"
    )
    error = assert_envelope(response, status=400, code="VALIDATION_ERROR")
    assert error["details"] == {"fields": fields}
    assert error["message"] == "The request is not valid."
    assert world.store.snapshot() == before


@pytest.mark.parametrize(
    "raw, line, column",
    [
        (b"", 1, 1),
        (b"{", 1, 2),
        (b'{"track_id": "mtrack_0123456789abcdef",}', 1, 40),
        (b"{'track_id': 'x'}", 1, 2),
        (b'{"track_id": "a"}\n{"track_id": "b"}', 2, 1),
    ],
)
def test_malformed_json_is_a_400_with_its_place(client, world, raw, line, column):
    before = world.store.snapshot()
    response = client.post(add_url(world), headers=world.users["alice"].headers, data=raw, content_type="application/json")
    error = assert_envelope(response, status=400, code="INVALID_JSON")
    assert error["details"] == {"line": line, "column": column}
    assert world.store.snapshot() == before


@pytest.mark.parametrize(
    "raw, system_message",
    [
        (b'{"track_id": NaN}', "Malformed JSON body: NaN is not a JSON number"),
        (b'{"track_id": "\xff"}', "The body is not UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, None),
    ],
)
def test_json_that_python_would_take_but_json_does_not_is_refused(client, world, raw, system_message):
    before = world.store.snapshot()
    response = client.post(add_url(world), headers=world.users["alice"].headers, data=raw, content_type="application/json")
    error = assert_envelope(response, status=400, code="INVALID_JSON")
    if system_message is not None:
        assert error["system_message"] == system_message
    assert world.store.snapshot() == before


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "application/merge-patch+json", "APPLICATION/JSON"]
)
def test_json_media_types_and_a_byte_order_mark_are_accepted(client, world, content_type):
    raw = b"\xef\xbb\xbf" + json.dumps({"track_id": world.track("a")}).encode()
    response = client.post(add_url(world), headers={**world.users["alice"].headers, "Content-Type": content_type}, data=raw)
    assert response.status_code == 200


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded", "application/xml", "multipart/form-data"])
def test_a_body_that_is_not_json_is_a_415(client, world, content_type):
    before = world.store.snapshot()
    headers = dict(world.users["alice"].headers)
    if content_type is not None:
        headers["Content-Type"] = content_type
    raw = json.dumps({"track_id": world.track("a")})
    response = client.post(add_url(world), headers=headers, data=raw)
    error = assert_envelope(response, status=415, code="UNSUPPORTED_MEDIA_TYPE")
    assert error["system_message"].startswith("Content-Type ")
    assert world.store.snapshot() == before


def test_a_body_past_the_size_limit_is_a_413(database_path, world):
    app = create_app({"DATABASE": str(database_path), "TESTING": True, "MAX_CONTENT_LENGTH": 100})
    client = app.test_client()
    try:
        before = world.store.snapshot()
        body = {"track_ids": [world.track("a")] * 10}
        response = client.put(
            world.url("org1", "alice_library", "tracks", "order"), headers=world.users["alice"].headers, json=body
        )
        error = assert_envelope(response, status=413, code="PAYLOAD_TOO_LARGE")
        assert error["details"] == {"max_bytes": 100}
        assert world.store.snapshot() == before
        # A body under the limit on the same app is served.
        ok = client.post(add_url(world), headers=world.users["alice"].headers, json={"track_id": world.track("a")})
        assert ok.status_code == 200
    finally:
        get_store(app).close()


@pytest.mark.parametrize(
    "method, path, allowed",
    [
        ("PUT", ("org1",), ["GET", "HEAD", "OPTIONS", "POST"]),
        ("POST", ("org1", "alice_library"), ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH"]),
        ("PATCH", ("org1", "alice_library", "tracks"), ["GET", "HEAD", "OPTIONS", "POST"]),
        ("GET", ("org1", "alice_library", "tracks", "order"), ["DELETE", "OPTIONS", "PUT"]),
        ("PUT", ("org1", "alice_library", "tracks", "a"), ["DELETE", "OPTIONS"]),
    ],
)
def test_a_wrong_method_is_a_405_with_allow(client, world, method, path, allowed):
    before = world.store.snapshot()
    response = client.open(world.url(*path), method=method, headers=world.users["alice"].headers, json={})
    error = assert_envelope(response, status=405, code="METHOD_NOT_ALLOWED")
    assert response.headers["Allow"] == ", ".join(allowed)
    assert error["details"] == {"allowed_methods": allowed}
    assert world.store.snapshot() == before


@pytest.mark.parametrize(
    "path", ["/v1/", "/v1/music", "/v1/music/org_x/collections/", "/v1/music/org_x/playlists", "/v1/music/o/collections/c/tracks/t/x"]
)
def test_an_unknown_path_is_a_404_envelope(client, world, path):
    response = client.get(path, headers=world.users["alice"].headers)
    error = assert_envelope(response, status=404, code="RESOURCE_NOT_FOUND")
    assert error["system_message"] == "No such endpoint"
    assert error["details"] == {"path": path}
    assert b"<" not in response.get_data()


def test_an_internal_failure_is_a_500_envelope_and_changes_nothing(client, world, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(library, "add_track", explode)
    before = world.store.snapshot()
    response = client.post(add_url(world), headers=world.users["alice"].headers, json={"track_id": world.track("a")})
    error = assert_envelope(response, status=500, code="INTERNAL_ERROR", error_type="server_error")
    assert "disk on fire" not in response.get_data(as_text=True)
    assert error["details"] == {}
    assert world.store.snapshot() == before


def test_the_trace_id_is_the_request_id_of_the_header_and_the_log_line(client, world, caplog):
    caplog.set_level(logging.INFO, logger="groove_compat.access")
    response = client.post(add_url(world), headers=world.users["alice"].headers, json={"track_id": "nope"})
    trace_id = response.json["error"]["trace_id"]
    assert trace_id == response.headers["X-Request-Id"]
    lines = [json.loads(record.getMessage()) for record in caplog.records if record.name == "groove_compat.access"]
    (line,) = [line for line in lines if line["request_id"] == trace_id]
    assert (line["status"], line["error"], line["method"]) == (400, "VALIDATION_ERROR", "POST")
    assert line["caller"] == world.users["alice"].caller.user_id
    # Each request has its own.
    again = client.post(add_url(world), headers=world.users["alice"].headers, json={"track_id": "nope"})
    assert again.json["error"]["trace_id"] != trace_id


def test_successes_carry_a_request_id_too(client, world):
    response = client.get(world.url("org1"), headers=world.users["alice"].headers)
    assert response.status_code == 200
    assert response.headers["X-Request-Id"].startswith("req_")
