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
from reliability import (
    GROOVE_BODY_ROUTES,
    ONE_PLAYLIST,
    UNKNOWN_TRACK,
    V1_BODY_ROUTES,
    ServerProcess,
    fill,
    parse_groove_answer,
    parse_v1_answer,
    snapshot,
    targets_of,
    assert_memory_steady,
)

OK_NOTHING_STORED = ("OK",)  # the route's answer to a valid request (``Route.ok``): parsed, nothing stored
REFUSED = (400, "INVALID_INPUT_PARAMETER")
MISSING = ("MISSING",)  # the request object's answer when its mandatory member is absent
MISSING_BY_TYPE = {
    "TrackActionRequest": (400, "MISSING_INPUT_PARAMETER"),
    "PlaylistAction": (400, "COLLECTION_INVALID_PLAYLIST_INFO"),
}
EMPTY = (400, "MISSING_INPUT_PARAMETER")  # no document at all
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
    ("empty-body", "", *EMPTY),
    ("whitespace-body", " \r\n\t ", *EMPTY),
    ("bom-only", "\ufeff", *EMPTY),
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



def playlist(**members):
    """A PlaylistAction: the route's valid request with ``members`` replaced (None: member absent)."""

    def build(route):
        body = dict(route.valid_body)
        for name, value in members.items():
            body.pop(name, None)
            if value is not None:
                body[name] = value
        return json.dumps(body)

    return build


def playlist_text(text):
    """A PlaylistAction written by hand: ``{valid}`` is the route's valid members without the braces."""
    return lambda route: text.replace("{valid}", json.dumps(route.valid_body)[1:-1])


INFO = (400, "COLLECTION_INVALID_PLAYLIST_INFO")
ABSENT = ("ABSENT",)  # what the route answers when the member the case breaks is ignored or absent
CASES_BY_TYPE["PlaylistAction"] = [
    ("valid", playlist(), *OK_NOTHING_STORED),
    ("empty-object", "{}", *MISSING),
    ("name-absent", playlist(Name=None), *ABSENT),
    ("name-number", playlist(Name=1), *REFUSED),
    ("name-list", playlist(Name=["x"]), *REFUSED),
    ("name-object", playlist(Name={"Name": "x"}), *REFUSED),
    ("name-true", playlist(Name=True), *REFUSED),
    ("name-nesting-5000-deep", playlist_text('{"Name": ' + nested(5000) + ', "Id": "x"}'), *REFUSED),
    ("name-lone-surrogate", playlist_text('{valid}, "Name": "\\ud800"'), *REFUSED),
    ("name-nul-escape", playlist_text('{valid}, "Name": "a\\u0000b"'), *REFUSED),
    ("id-number", playlist(Id=1), *REFUSED),
    ("id-list", playlist(Id=["music.playlist.x"]), *REFUSED),
    ("id-of-900-kb", playlist(Id="music.playlist." + "a" * 900_000), *ABSENT),
    ("id-nul-escape", playlist(Id="music.playlist.\u0000"), *ABSENT),
    ("is-published-string", playlist(IsPublished="yes"), *REFUSED),
    ("is-published-number", playlist(IsPublished=2), *REFUSED),
    ("is-published-nan", playlist_text('{valid}, "IsPublished": NaN'), *REFUSED),
    ("state-token-number", playlist(CollectionStateToken=5), *REFUSED),
    ("track-actions-string", playlist(TrackActions="x"), *REFUSED),
    ("track-actions-object", playlist(TrackActions={"Id": "x"}), *REFUSED),
    ("track-action-number", playlist(TrackActions=[1]), *REFUSED),
    ("track-action-unknown-verb", playlist(TrackActions=[{"Id": UNKNOWN_TRACK, "Action": "Explode"}]), *REFUSED),
    ("track-action-verb-number", playlist(TrackActions=[{"Id": UNKNOWN_TRACK, "Action": 1}]), *REFUSED),
    ("one-hundred-and-one-track-actions", playlist(TrackActions=[{"Id": UNKNOWN_TRACK, "Action": "Add"}] * 101), *ABSENT),
    ("duplicate-member", playlist_text('{valid}, "Name": "x", "Name": "y"'), *REFUSED),
    ("duplicate-member-other-case", playlist_text('{valid}, "Name": "x", "name": "y"'), *REFUSED),
    ("utf-8-bom", lambda route: "\ufeff" + json.dumps(route.valid_body), *OK_NOTHING_STORED),
    ("utf-16-bom", lambda route: json.dumps(route.valid_body).encode("utf-16"), *OK_NOTHING_STORED),
]
# What a route answers when the broken member is read but the request is still valid, or is not read:
# create refuses a missing Name and too many track actions before the quota and ignores an Id; update
# (Name optional) and delete look for the playlist first (an unknown Id: 404); delete reads only the Id.
ABSENT_BY_ROUTE = {
    ("groove.playlists.create", "name-absent"): INFO,
    ("groove.playlists.delete", "name-absent"): ("OK",),  # resolved below
    ("groove.playlists.create", "one-hundred-and-one-track-actions"): (400, "COLLECTION_INVALID_OPERATION"),
}
# Members delete does not read: a broken one changes nothing (the unknown Id still answers 404).
IGNORED_BY_DELETE = {
    "name-number", "name-list", "name-object", "name-true",
    "is-published-string", "is-published-number", "track-actions-string", "track-actions-object",
    "track-action-number", "track-action-unknown-verb", "track-action-verb-number",
}


def resolve(route, case, outcome):
    if outcome == ("OK",):
        return route.ok
    if outcome == ("MISSING",):
        return MISSING_BY_TYPE[route.request_type]
    if outcome == ("ABSENT",):
        found = ABSENT_BY_ROUTE.get((route.name, case), route.ok)
        return route.ok if found == ("OK",) else found
    if route.name == "groove.playlists.delete" and case in IGNORED_BY_DELETE:
        return route.ok
    return outcome


def cases_for(route):
    cases = []
    for case, body, *outcome in GENERIC_CASES + CASES_BY_TYPE[route.request_type]:
        body = body(route) if callable(body) else body
        cases.append((route, case, body, *resolve(route, case, tuple(outcome))))
    return cases


ALL_CASES = [case for route in GROOVE_BODY_ROUTES for case in cases_for(route)]


# The memory replay is the slow part (up to eleven rounds of every case): one route per request object
# and dialect keeps it within the CI budget; the parsers and validators are shared by the routes of a type.
MEMORY_ROUTES = [GROOVE_BODY_ROUTES[0]] + [
    route for route in GROOVE_BODY_ROUTES if route.request_type == "PlaylistAction"][:1]


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile-json")
    database = folder / "groove-compat.sqlite"
    users = seeded_database(database)
    targets = targets_of(database, users["alice"])
    with ServerProcess(database, env=ONE_PLAYLIST) as server:
        server.users = users
        server.targets = targets
        yield server


def post(server, route, body, *, accept=None):
    headers = dict(server.users["alice"].headers, **{"Content-Type": "application/json"})
    if accept:
        headers["Accept"] = accept
    if isinstance(body, str):
        body = body.encode("utf-8", "surrogatepass")
    started = time.monotonic()
    response = requests.request(route.method, server.url + route.target(server.targets), data=body, headers=headers, timeout=10)
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


@pytest.mark.parametrize("route", [route for route in GROOVE_BODY_ROUTES if route.request_type == "TrackActionRequest"], ids=str)
def test_lone_surrogate_is_echoed_as_valid_utf8(hostile_server, route):
    """A \\ud800 escape is a string Python holds but UTF-8 cannot: the echo must still be valid UTF-8."""
    response, _ = post(hostile_server, route, '{"TrackIds": ["music.\\ud800"]}')
    response.content.decode("utf-8")  # strict
    result = response.json()["TrackActionResults"][0]
    assert result["InputId"] in ("music.?", "music.\ufffd")
    assert result["Error"]["ErrorCode"] == "COLLECTION-INVALID-ID"


@pytest.mark.parametrize("route", MEMORY_ROUTES, ids=str)
def test_hostile_json_does_not_grow_worker_memory(hostile_server, route):
    """Replay every case three times once warmed up: no worker's RSS grows by reliability.MEMORY_GROWTH_KIB.

    Warm-up rounds run until RSS settles (caches filled, allocator pools at their working size; at most
    eight rounds): what grows after that, round after round, is what a leak would look like."""
    bodies = [(body, status) for _, _, body, status, _ in cases_for(route)]

    def round_trip():
        for body, status in bodies:
            assert post(hostile_server, route, body)[0].status_code == status

    assert_memory_steady(hostile_server, round_trip, label=f"json cases={len(bodies)}")


# ---------------------------------------------------------------------------------------------------------
# The v1 dialect: JSON only, one error envelope (docs/v1-api.md). Bodies are sent to every v1 route that
# reads one; ``V1_OK`` is the route's answer to its valid request (``Route.ok``).

V1_INVALID_JSON = (400, "INVALID_JSON")
V1_INVALID = (400, "VALIDATION_ERROR")
V1_OK = ("OK",)


def v1_valid(route):
    return json.dumps(route.valid_body)


def v1_text(text):
    return lambda route: text.replace("{valid}", v1_valid(route)[1:-1])


V1_CASES = [
    ("valid", v1_valid, *V1_OK),
    ("empty-body", "", *V1_INVALID_JSON),
    ("whitespace-body", " \r\n ", *V1_INVALID_JSON),
    ("bom-only", "\ufeff", *V1_INVALID_JSON),
    ("empty-object", "{}", *V1_INVALID),
    ("top-array", "[]", *V1_INVALID),
    ("top-string", '"x"', *V1_INVALID),
    ("top-null", "null", *V1_INVALID),
    ("top-nan", "NaN", *V1_INVALID_JSON),
    ("member-nan", v1_text("{{valid}, \"x\": NaN}"), *V1_INVALID_JSON),
    ("member-infinity", v1_text("{{valid}, \"x\": -Infinity}"), *V1_INVALID_JSON),
    ("unknown-member", v1_text('{{valid}, "junk": 1}'), *V1_INVALID),
    ("duplicate-member", v1_text("{{valid}, {valid}}"), *V1_INVALID_JSON),
    ("trailing-garbage", lambda route: v1_valid(route) + " garbage", *V1_INVALID_JSON),
    ("two-documents", lambda route: v1_valid(route) * 2, *V1_INVALID_JSON),
    ("trailing-comma", v1_text("{{valid},}"), *V1_INVALID_JSON),
    ("single-quotes", lambda route: v1_valid(route).replace('"', "'"), *V1_INVALID_JSON),
    ("truncated", lambda route: v1_valid(route)[:-2], *V1_INVALID_JSON),
    ("invalid-utf-8", lambda route: v1_valid(route).encode()[:-2] + b'\xff"}', *V1_INVALID_JSON),
    ("utf-8-encoded-surrogate", lambda route: v1_valid(route).encode()[:-2] + b'\xed\xa0\x80"}', *V1_INVALID_JSON),
    ("utf-16-bom", lambda route: v1_valid(route).encode("utf-16"), *V1_INVALID_JSON),
    ("utf-8-bom", lambda route: b"\xef\xbb\xbf" + v1_valid(route).encode(), *V1_OK),
    ("raw-control-character", lambda route: v1_valid(route)[:-2] + '\x01"}', *V1_INVALID_JSON),
    ("nesting-100000-deep", nested(100_000), *V1_INVALID_JSON),
    ("unknown-member-nesting-100000-deep", '{"junk": ' + nested(100_000) + "}", *V1_INVALID_JSON),
    ("member-of-900-kb", v1_text('{{valid}, "junk": "' + "x" * 900_000 + '"}'), *V1_INVALID),
    ("member-name-of-900-kb", json.dumps({"x" * 900_000: 1}), *V1_INVALID),
    ("fifty-thousand-members", json.dumps({f"m{n}": n for n in range(50_000)}), *V1_INVALID),
    ("every-member-a-number", lambda route: json.dumps({name: 1 for name in route.valid_body}), *V1_INVALID),
    ("every-member-a-list", lambda route: json.dumps({name: [[1]] for name in route.valid_body}), *V1_INVALID),
    ("every-member-an-object", lambda route: json.dumps({name: {"a": 1} for name in route.valid_body}), *V1_INVALID),
    ("every-member-too-long", lambda route: json.dumps({name: "x" * 100_000 for name in route.valid_body}), *V1_INVALID),
    # A lone surrogate has no UTF-8 form: once stored as a name it made a 500 (now refused at parsing).
    ("every-member-lone-surrogate", lambda route: "{" + ", ".join(f'"{name}": "\\ud800"' for name in route.valid_body) + "}", *V1_INVALID_JSON),
    ("lone-surrogate-in-unknown-member", v1_text('{{valid}, "junk": ["\\udfff"]}'), *V1_INVALID_JSON),
]


def v1_cases():
    for route in V1_BODY_ROUTES:
        for case, body, *outcome in V1_CASES:
            yield route, case, body, (route.ok if tuple(outcome) == V1_OK else tuple(outcome))


V1_ALL = list(v1_cases())


@pytest.mark.parametrize("route, case, body, outcome", V1_ALL, ids=[f"{c[1]}-{c[0]}" for c in V1_ALL])
def test_hostile_json_v1_is_answered_safely(hostile_server, route, case, body, outcome):
    """Each case: its documented status and code in the v1 envelope, within a second, nothing stored, and
    an answer no larger than 64 KB (a body of 50,000 unknown members once got 1.4 MB naming each)."""
    if callable(body):
        body = body(V1Route(route, hostile_server.targets))
    before = snapshot(hostile_server.database)
    response, elapsed = post(hostile_server, route, body)
    status, code = outcome
    assert response.status_code == status, response.content[:300]
    _, answered_code, _ = parse_v1_answer(response.headers.get("Content-Type"), response.content)
    assert answered_code == code
    assert elapsed < 1.0, f"answered in {elapsed:.2f}s"
    assert len(response.content) < 65536, f"{len(response.content)} bytes"
    assert snapshot(hostile_server.database) == before


class V1Route:
    """A v1 route whose valid body has this server's ids filled in."""

    def __init__(self, route, targets):
        self.valid_body = fill(route.valid_body, targets)
