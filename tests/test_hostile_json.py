"""Malformed and hostile JSON against every route that reads a body, on a live server.

Each case must get its documented status with a Groove body of the route's response type (checked against
the published JSON Schema), within one second, and store nothing; the last test replays every case and
checks the workers' resident memory.

``GENERIC_CASES`` hold for any request object; ``CASES_BY_TYPE`` hold the shape cases of one request object
(wrong types at every level). A route whose request object is new adds its rows there.
"""

import json
import time

import pytest
import requests

from conftest import seeded_database
from reliability import BODY_ROUTES, warm_up, UNKNOWN_TRACK, ServerProcess, parse_groove_answer, snapshot

OK_NOTHING_STORED = (200, "COLLECTION_SOME_OPERATIONS_FAILED")
REFUSED = (400, "INVALID_INPUT_PARAMETER")
MISSING = (400, "MISSING_INPUT_PARAMETER")
TOO_MANY = (400, "COLLECTION_INVALID_OPERATION")
VALID = json.dumps({"TrackIds": [UNKNOWN_TRACK]})


def nested(depth, leaf="1"):
    return "[" * depth + leaf + "]" * depth


GENERIC_CASES = [
    # Not an object at the top.
    ("top-array", "[]", *REFUSED),
    ("top-string", '"music.9BB2C5C5-455C-4C15-827C-F9BFD759A458"', *REFUSED),
    ("top-number", "42", *REFUSED),
    ("top-null", "null", *REFUSED),
    ("top-true", "true", *REFUSED),
    ("top-nan", "NaN", *REFUSED),
    # Not JSON.
    ("empty-body", "", *MISSING),
    ("whitespace-body", " \r\n\t ", *MISSING),
    ("bom-only", "\ufeff", *MISSING),
    ("trailing-garbage", VALID + " garbage", *REFUSED),
    ("two-documents", VALID + VALID, *REFUSED),
    ("trailing-comma", '{"TrackIds": ["x"],}', *REFUSED),
    ("comment", '// comment\n' + VALID, *REFUSED),
    ("single-quotes", "{'TrackIds': ['x']}", *REFUSED),
    ("unquoted-member", "{TrackIds: []}", *REFUSED),
    ("truncated", VALID[:-3], *REFUSED),
    ("raw-control-character", '{"TrackIds": ["music.\x01"]}', *REFUSED),
    ("invalid-utf-8", b'{"TrackIds": ["music.\xff\xfe"]}', *REFUSED),
    ("overlong-utf-8", b'{"TrackIds": ["music.\xc0\xaf"]}', *REFUSED),
    ("utf-8-encoded-surrogate", b'{"TrackIds": ["music.\xed\xa0\x80"]}', *REFUSED),
    ("latin-1-bytes", '{"TrackIds": ["musïc"]}'.encode("latin-1"), *REFUSED),
    # Deep nesting.
    ("nesting-100000-deep", nested(100_000), *REFUSED),
    ("nesting-100000-deep-objects", '{"a":' * 100_000 + "1" + "}" * 100_000, *REFUSED),
    ("unknown-member-nesting-100000-deep", '{"Junk": ' + nested(100_000) + ', "TrackIds": []}', *REFUSED),
    # Duplicates and huge members.
    ("duplicate-unknown-member", '{"Junk": 1, "Junk": 2, "TrackIds": ["x"]}', *REFUSED),
    ("huge-member-name", json.dumps({"x" * 900_000: 1}), *MISSING),
    ("fifty-thousand-members", json.dumps({f"m{n}": n for n in range(50_000)}), *MISSING),
]

CASES_BY_TYPE = {
    "TrackActionRequest": [
        ("valid", VALID, *OK_NOTHING_STORED),
        ("empty-object", "{}", *MISSING),
        ("member-name-in-other-case", json.dumps({"trackids": [UNKNOWN_TRACK]}), *OK_NOTHING_STORED),
        # Wrong type of the list.
        ("list-null", '{"TrackIds": null}', *MISSING),
        ("list-empty", '{"TrackIds": []}', *MISSING),
        ("list-string", json.dumps({"TrackIds": UNKNOWN_TRACK}), *REFUSED),
        ("list-number", '{"TrackIds": 1}', *REFUSED),
        ("list-object", '{"TrackIds": {"0": "x"}}', *REFUSED),
        ("list-true", '{"TrackIds": true}', *REFUSED),
        # Wrong type of an item: that item fails alone.
        ("item-number", '{"TrackIds": [1]}', *OK_NOTHING_STORED),
        ("item-float", '{"TrackIds": [1.5]}', *OK_NOTHING_STORED),
        ("item-null", '{"TrackIds": [null]}', *OK_NOTHING_STORED),
        ("item-true", '{"TrackIds": [true]}', *OK_NOTHING_STORED),
        ("item-object", '{"TrackIds": [{"Id": "x"}]}', *OK_NOTHING_STORED),
        ("item-list", '{"TrackIds": [["x"]]}', *OK_NOTHING_STORED),
        ("item-empty-string", '{"TrackIds": [""]}', *OK_NOTHING_STORED),
        ("item-request-inside", json.dumps({"TrackIds": [{"TrackIds": [UNKNOWN_TRACK]}]}), *OK_NOTHING_STORED),
        ("item-nesting-500-deep", '{"TrackIds": [' + nested(500) + "]}", *OK_NOTHING_STORED),
        ("item-nesting-5000-deep", '{"TrackIds": [' + nested(5000) + "]}", *REFUSED),
        # (The parser's recursion limit, about 950 levels, refuses deeper items before anything echoes them.)
        ("item-object-nesting-500-deep", '{"TrackIds": [' + '{"a":' * 500 + "1" + "}" * 500 + "]}", *OK_NOTHING_STORED),
        # Duplicate members.
        ("duplicate-list", json.dumps({"TrackIds": [UNKNOWN_TRACK]})[:-1] + ', "TrackIds": []}', *REFUSED),
        ("duplicate-list-other-case", '{"TrackIds": ["x"], "trackIds": ["y"]}', *REFUSED),
        ("duplicate-inside-item", '{"TrackIds": [{"a": 1, "a": 2}]}', *REFUSED),
        # Numbers outside what JSON allows, or huge.
        ("item-nan", '{"TrackIds": [NaN]}', *REFUSED),
        ("item-infinity", '{"TrackIds": [Infinity]}', *REFUSED),
        ("item-minus-infinity", '{"TrackIds": [-Infinity]}', *REFUSED),
        ("item-float-overflow", '{"TrackIds": [1e999]}', *OK_NOTHING_STORED),
        ("item-float-underflow", '{"TrackIds": [1e-999]}', *OK_NOTHING_STORED),
        ("item-minus-zero", '{"TrackIds": [-0]}', *OK_NOTHING_STORED),
        ("item-4000-digits", '{"TrackIds": [' + "9" * 4000 + "]}", *OK_NOTHING_STORED),
        ("item-100000-digits", '{"TrackIds": [' + "9" * 100_000 + "]}", *REFUSED),
        ("item-100000-digit-float", '{"TrackIds": [0.' + "1" * 100_000 + "]}", *OK_NOTHING_STORED),
        # Strings.
        ("item-of-900-kb", json.dumps({"TrackIds": ["music." + "A" * 900_000]}), *OK_NOTHING_STORED),
        ("item-of-257-characters", json.dumps({"TrackIds": ["music." + "A" * 251]}), *OK_NOTHING_STORED),
        ("item-escaped-900-kb", '{"TrackIds": ["' + "\\u0041" * 150_000 + '"]}', *OK_NOTHING_STORED),
        ("item-lone-high-surrogate", '{"TrackIds": ["music.\\ud800"]}', *OK_NOTHING_STORED),
        ("item-lone-low-surrogate", '{"TrackIds": ["\\udfff"]}', *OK_NOTHING_STORED),
        ("item-reversed-surrogates", '{"TrackIds": ["\\udc00\\ud800"]}', *OK_NOTHING_STORED),
        ("item-nul-escape", '{"TrackIds": ["music.\\u0000"]}', *OK_NOTHING_STORED),
        ("item-noncharacters", json.dumps({"TrackIds": ["\ufffe\uffff\U0010ffff"]}), *OK_NOTHING_STORED),
        # Sizes of the list.
        ("one-hundred-ids", json.dumps({"TrackIds": [UNKNOWN_TRACK] * 100}), *OK_NOTHING_STORED),
        ("one-hundred-and-one-ids", json.dumps({"TrackIds": [UNKNOWN_TRACK] * 101}), *TOO_MANY),
        ("four-hundred-thousand-items", '{"TrackIds": [' + ",".join(["1"] * 400_000) + "]}", *TOO_MANY),
        # Encodings JSON allows (RFC 8259 readers may accept UTF-16/32).
        ("utf-8-bom", b"\xef\xbb\xbf" + VALID.encode(), *OK_NOTHING_STORED),
        ("utf-16-bom", VALID.encode("utf-16"), *OK_NOTHING_STORED),
        ("utf-16-le-no-bom", VALID.encode("utf-16-le"), *OK_NOTHING_STORED),
        ("utf-32-bom", VALID.encode("utf-32"), *OK_NOTHING_STORED),
    ],
}


def cases_for(route):
    return [(route, *case) for case in GENERIC_CASES + CASES_BY_TYPE[route.request_type]]


ALL_CASES = [case for route in BODY_ROUTES for case in cases_for(route)]


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile-json")
    database = folder / "groove-compat.sqlite"
    users = seeded_database(database)
    with ServerProcess(database) as server:
        server.users = users
        yield server


def post(server, route, body, *, accept=None):
    headers = dict(server.users["alice"].headers, **{"Content-Type": "application/json"})
    if accept:
        headers["Accept"] = accept
    if isinstance(body, str):
        body = body.encode("utf-8", "surrogatepass")
    started = time.monotonic()
    response = requests.request(route.method, server.url + route.path, data=body, headers=headers, timeout=10)
    return response, time.monotonic() - started


@pytest.mark.parametrize("accept", ["application/json", "application/xml"])
@pytest.mark.parametrize("route, case, body, status, code", ALL_CASES, ids=[f"{c[1]}-{c[0]}" for c in ALL_CASES])
def test_hostile_json_is_answered_safely(hostile_server, route, case, body, status, code, accept):
    before = snapshot(hostile_server.database)
    response, elapsed = post(hostile_server, route, body, accept=accept)
    assert response.status_code == status, response.content[:300]
    answered_format, answered_code, _ = parse_groove_answer(
        response.headers.get("Content-Type"), response.content, route.response_type
    )
    assert answered_format == accept.split("/")[1]
    assert answered_code == code
    assert elapsed < 1.0, f"answered in {elapsed:.2f}s"
    assert snapshot(hostile_server.database) == before


@pytest.mark.parametrize("route", BODY_ROUTES, ids=str)
def test_lone_surrogate_is_echoed_as_valid_utf8(hostile_server, route):
    """A \\ud800 escape is a string Python holds but UTF-8 cannot: the echo must still be valid UTF-8."""
    response, _ = post(hostile_server, route, '{"TrackIds": ["music.\\ud800"]}')
    response.content.decode("utf-8")  # strict
    result = response.json()["TrackActionResults"][0]
    assert result["InputId"] in ("music.?", "music.\ufffd")
    assert result["Error"]["ErrorCode"] == "COLLECTION-INVALID-ID"


@pytest.mark.parametrize("route", BODY_ROUTES, ids=str)
def test_hostile_json_does_not_grow_worker_memory(hostile_server, route):
    """Replay every case three times once warmed up: the workers' RSS grows by under 8 MiB each (threaded workers: allocator arenas move by a few MB under a loaded machine).

    Warm-up rounds run until RSS settles (caches filled, allocator pools at their working size; at most
    eight rounds): what grows after that, round after round, is what a leak would look like."""
    bodies = [(body, status) for _, _, body, status, _ in cases_for(route)]

    def round_trip():
        for body, status in bodies:
            assert post(hostile_server, route, body)[0].status_code == status

    before = warm_up(hostile_server, round_trip)
    for _ in range(3):
        round_trip()
    after = hostile_server.rss_kib()
    assert before.keys() == after.keys(), "a worker was replaced during the run"
    growth = {pid: after[pid] - before[pid] for pid in before}
    print(f"figures: json cases={len(bodies)} rounds=3 rss_before_kib={before} growth_kib={growth}")
    assert max(growth.values()) < 8192, f"RSS growth per worker (KiB): {growth}, before: {before}"
