"""The OpenAPI document tells the truth about the v1 dialect.

Each case below is a real request to a v1 operation, for its success and for every kind of error. The answer
must be a status the document lists for that operation, with a body its schema accepts, an error code listed
under that status and shown by an example of the same message, and exactly the documented special headers.
And the other way round: every (operation, status, code) that the document lists is answered by some case, so
the document promises nothing the server does not do.
"""

import json
from dataclasses import dataclass, field

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from groove_compat import auth, openapi
from v1_world import world  # noqa: F401

PREFIX = "/v1/music/{organization_id}/collections"
LIST = ("get", PREFIX)
CREATE = ("post", PREFIX)
GET = ("get", PREFIX + "/{collection_id}")
RENAME = ("patch", PREFIX + "/{collection_id}")
DELETE = ("delete", PREFIX + "/{collection_id}")
LIST_TRACKS = ("get", PREFIX + "/{collection_id}/tracks")
ADD = ("post", PREFIX + "/{collection_id}/tracks")
REMOVE = ("delete", PREFIX + "/{collection_id}/tracks/{track_id}")
REORDER = ("put", PREFIX + "/{collection_id}/tracks/order")
MOVE = ("post", PREFIX + "/{collection_id}/tracks/move")

# Headers the document must list on a response exactly when the server sends them.
SPECIAL_HEADERS = ("Location", "WWW-Authenticate", "Allow", "Accept-Patch")
HUGE_BODY = b'{"name": "' + b"x" * 1_100_000 + b'"}'  # past the default MAX_CONTENT_LENGTH (1 MiB)


@dataclass(frozen=True)
class Case:
    operation: tuple  # (method, OpenAPI path)
    name: str
    status: int
    code: str | None  # None: a success
    parts: tuple  # arguments of world.url: organization, collection, then the rest of the path
    body: object = None  # JSON data, a function of the world giving it, or bytes sent as they are
    content_type: str = "application/json"
    query: dict | None = None
    credential: str = "key"  # key, bearer, none or unknown
    settings: dict = field(default_factory=dict)
    prepare: tuple = ()  # tracks added to Alice's playlist before the request
    broken: bool = False  # the store fails under the request

    @property
    def id(self):
        return f"{self.operation[0].upper()} {self.operation[1].removeprefix(PREFIX) or '/'} {self.name}"


def _track(name):
    return lambda world: {"track_id": world.track(name)}


def _common(operation, parts, *, body=None, success=200, prepare=()):
    """The cases every operation has, by what it takes."""
    foreign = ("org2",) + parts[1:]
    malformed = ("malformed_org",) + parts[1:]
    yield Case(operation, "success", success, None, parts, body, prepare=prepare)
    yield Case(operation, "Bearer token", success, None, parts, body, credential="bearer", prepare=prepare)
    yield Case(operation, "no key", 401, "AUTHENTICATION_REQUIRED", parts, body, credential="none")
    yield Case(operation, "unknown key", 401, "AUTHENTICATION_REQUIRED", parts, body, credential="unknown")
    yield Case(operation, "another organization", 404, "RESOURCE_NOT_FOUND", foreign, body, prepare=prepare)
    yield Case(operation, "malformed organization", 404, "RESOURCE_NOT_FOUND", malformed, body, prepare=prepare)
    yield Case(operation, "store failure", 500, "INTERNAL_ERROR", parts, body, broken=True)
    if body is not None:
        yield Case(operation, "text body", 415, "UNSUPPORTED_MEDIA_TYPE", parts, b"hello", content_type="text/plain")
        yield Case(operation, "huge body", 413, "PAYLOAD_TOO_LARGE", parts, HUGE_BODY)
        yield Case(operation, "broken JSON", 400, "INVALID_JSON", parts, b'{"name": ')
        yield Case(operation, "not UTF-8", 400, "INVALID_JSON", parts, b'{"name": "\xff"}')
        yield Case(operation, "unknown member", 400, "VALIDATION_ERROR", parts, {"bogus": 1})
        yield Case(operation, "not an object", 400, "VALIDATION_ERROR", parts, [1, 2])


PLAYLIST = ("org1", "alice_playlist")
LIBRARY = ("org1", "alice_library")
PLAYLIST_TRACKS = PLAYLIST + ("tracks",)
NAME = {"name": "Road trip"}
ORDER_BA = lambda world: {"track_ids": [world.track("b"), world.track("a")]}  # noqa: E731
MOVE_B_FIRST = lambda world: {"track_id": world.track("b"), "before_track_id": world.track("a")}  # noqa: E731

CASES = [
    *_common(LIST, ("org1",)),
    *_common(CREATE, ("org1",), body=NAME, success=201),
    Case(CREATE, "blank name", 400, "VALIDATION_ERROR", ("org1",), {"name": "   "}),
    Case(CREATE, "name too long", 400, "VALIDATION_ERROR", ("org1",), {"name": "x" * 201}),
    Case(CREATE, "playlist quota", 409, "COLLECTION_LIMIT_REACHED", ("org1",), NAME, settings={"PLAYLIST_CAPACITY": 1}),
    *_common(GET, PLAYLIST),
    Case(GET, "the library", 200, None, LIBRARY),
    Case(GET, "unknown collection", 404, "RESOURCE_NOT_FOUND", ("org1", "unknown_collection")),
    Case(GET, "malformed collection", 404, "RESOURCE_NOT_FOUND", ("org1", "malformed_collection")),
    Case(GET, "another user's collection", 404, "RESOURCE_NOT_FOUND", ("org1", "bob_library")),
    *_common(RENAME, PLAYLIST, body=NAME),
    Case(RENAME, "the library", 409, "LIBRARY_IS_PERMANENT", LIBRARY, NAME),
    Case(RENAME, "blank name", 400, "VALIDATION_ERROR", PLAYLIST, {"name": ""}),
    Case(RENAME, "unknown collection", 404, "RESOURCE_NOT_FOUND", ("org1", "unknown_collection"), NAME),
    *_common(DELETE, PLAYLIST),
    Case(DELETE, "the library", 409, "LIBRARY_IS_PERMANENT", LIBRARY),
    Case(DELETE, "another user's collection", 404, "RESOURCE_NOT_FOUND", ("org1", "bob_library")),
    *_common(LIST_TRACKS, PLAYLIST_TRACKS, prepare=("a", "b")),
    Case(LIST_TRACKS, "one per page", 200, None, PLAYLIST_TRACKS, query={"limit": "1"}, prepare=("a", "b")),
    Case(LIST_TRACKS, "limit 0", 400, "VALIDATION_ERROR", PLAYLIST_TRACKS, query={"limit": "0"}),
    Case(LIST_TRACKS, "limit not a number", 400, "VALIDATION_ERROR", PLAYLIST_TRACKS, query={"limit": "ten"}),
    Case(LIST_TRACKS, "unknown parameter", 400, "VALIDATION_ERROR", PLAYLIST_TRACKS, query={"page": "2"}),
    Case(LIST_TRACKS, "not a cursor", 400, "VALIDATION_ERROR", PLAYLIST_TRACKS, query={"cursor": "abc"}),
    Case(LIST_TRACKS, "unknown collection", 404, "RESOURCE_NOT_FOUND", ("org1", "unknown_collection", "tracks")),
    *_common(ADD, PLAYLIST_TRACKS, body=_track("a")),
    Case(ADD, "already there", 200, None, PLAYLIST_TRACKS, _track("a"), prepare=("a",)),
    Case(ADD, "into the library", 200, None, LIBRARY + ("tracks",), _track("a")),
    Case(ADD, "malformed track id", 400, "VALIDATION_ERROR", PLAYLIST_TRACKS, {"track_id": "mtrack_8d2e1f6a3c9b"}),
    Case(ADD, "unknown track", 404, "RESOURCE_NOT_FOUND", PLAYLIST_TRACKS, _track("unknown")),
    Case(ADD, "another organization's track", 404, "RESOURCE_NOT_FOUND", PLAYLIST_TRACKS, _track("other_a")),
    Case(ADD, "unknown collection", 404, "RESOURCE_NOT_FOUND", ("org1", "unknown_collection", "tracks"), _track("a")),
    Case(
        ADD, "full playlist", 409, "COLLECTION_FULL", PLAYLIST_TRACKS, _track("b"),
        settings={"PLAYLIST_TRACK_CAPACITY": 1}, prepare=("a",),
    ),
    *_common(REMOVE, PLAYLIST_TRACKS + ("a",), prepare=("a",)),
    Case(REMOVE, "not there", 200, None, PLAYLIST_TRACKS + ("a",)),
    Case(REMOVE, "unknown track", 404, "RESOURCE_NOT_FOUND", PLAYLIST_TRACKS + ("unknown",)),
    Case(REMOVE, "malformed track", 404, "RESOURCE_NOT_FOUND", PLAYLIST_TRACKS + ("mtrack_1",)),
    Case(REMOVE, "another user's collection", 404, "RESOURCE_NOT_FOUND", ("org1", "bob_library", "tracks", "a")),
    *_common(REORDER, PLAYLIST_TRACKS + ("order",), body=ORDER_BA, prepare=("a", "b")),
    Case(
        REORDER, "a track left out", 400, "INVALID_REORDER", PLAYLIST_TRACKS + ("order",),
        lambda world: {"track_ids": [world.track("a")]}, prepare=("a", "b"),
    ),
    Case(
        REORDER, "a track twice", 400, "INVALID_REORDER", PLAYLIST_TRACKS + ("order",),
        lambda world: {"track_ids": [world.track("a"), world.track("a"), world.track("b")]}, prepare=("a", "b"),
    ),
    Case(REORDER, "not a list", 400, "VALIDATION_ERROR", PLAYLIST_TRACKS + ("order",), {"track_ids": "a"}),
    Case(REORDER, "unknown collection", 404, "RESOURCE_NOT_FOUND", ("org1", "unknown_collection", "tracks", "order"),
         ORDER_BA),
    *_common(MOVE, PLAYLIST_TRACKS + ("move",), body=MOVE_B_FIRST, prepare=("a", "b")),
    Case(
        MOVE, "to the end", 200, None, PLAYLIST_TRACKS + ("move",),
        lambda world: {"track_id": world.track("a"), "before_track_id": None}, prepare=("a", "b"),
    ),
    Case(
        MOVE, "before itself", 400, "VALIDATION_ERROR", PLAYLIST_TRACKS + ("move",),
        lambda world: {"track_id": world.track("a"), "before_track_id": world.track("a")}, prepare=("a", "b"),
    ),
    Case(
        MOVE, "a track not there", 400, "INVALID_REORDER", PLAYLIST_TRACKS + ("move",),
        lambda world: {"track_id": world.track("c")}, prepare=("a", "b"),
    ),
    Case(MOVE, "unknown collection", 404, "RESOURCE_NOT_FOUND", ("org1", "unknown_collection", "tracks", "move"),
         MOVE_B_FIRST),
]


def _validator(document, schema):
    """A JSON Schema validator for a schema of the document, its ``$ref``s resolved inside the document."""
    registry = Registry().with_resource(
        "urn:openapi", Resource.from_contents(document, default_specification=DRAFT202012)
    )
    if "$ref" in schema:
        schema = {"$ref": "urn:openapi" + schema["$ref"]}
    return Draft202012Validator(schema, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _prepare(client, world, case):
    for name in case.prepare:
        added = client.post(
            world.url(*PLAYLIST, "tracks"), headers=world.users["alice"].headers, json={"track_id": world.track(name)}
        )
        assert added.status_code == 200, added.json


def _send(client, world, case):
    headers = {
        "key": world.users["alice"].headers,
        "bearer": world.users["alice"].bearer,
        "none": {},
        "unknown": {"X-API-Key": "not-a-key"},
    }[case.credential]
    body = case.body(world) if callable(case.body) else case.body
    if body is not None and not isinstance(body, bytes):
        body = json.dumps(body).encode()
    if body is not None:
        headers = {**headers, "Content-Type": case.content_type}
    return client.open(
        world.url(*case.parts), method=case.operation[0].upper(), headers=headers, data=body, query_string=case.query
    )


def _assert_error_is_documented(documented, body):
    code = body["error"]["code"]
    assert code in documented["x-error-codes"], f"{code} is not listed under this status"
    examples = [
        example["value"]["error"] for example in documented["content"]["application/json"]["examples"].values()
    ]
    shown = [example for example in examples if example["code"] == code]
    assert shown, f"no example shows {code}"
    assert {(e["message"], e["type"], e["status"]) for e in shown} == {
        (body["error"]["message"], body["error"]["type"], body["error"]["status"])
    }


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_v1_answer_is_what_the_document_says(app, client, world, monkeypatch, case):
    document = openapi.document(app)
    operation = document["paths"][case.operation[1]][case.operation[0]]
    app.config.update(case.settings)
    _prepare(client, world, case)
    if case.broken:

        def failing(store, token):
            raise RuntimeError("disk on fire")

        monkeypatch.setattr(auth, "authenticate", failing)
    before = world.store.snapshot()
    response = _send(client, world, case)

    assert response.status_code == case.status, response.get_data(as_text=True)
    documented = operation["responses"].get(str(response.status_code))
    assert documented is not None, f"status {response.status_code} is not documented"
    assert response.mimetype == "application/json"
    body = response.get_json()
    _validator(document, documented["content"]["application/json"]["schema"]).validate(body)
    if case.code is None:
        assert body["success"] is True
        assert "x-error-codes" not in documented
    else:
        assert body["error"]["code"] == case.code
        assert body["error"]["trace_id"] == response.headers["X-Request-Id"]
        _assert_error_is_documented(documented, body)
        assert world.store.snapshot() == before
    assert "X-Request-Id" in documented["headers"]
    sent = {name for name in SPECIAL_HEADERS if name in response.headers}
    assert sent == {name for name in SPECIAL_HEADERS if name in documented["headers"]}


def test_every_documented_status_and_code_is_answered_by_a_case(app):
    document = openapi.document(app)
    promised = set()
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            if operation["tags"] != ["v1"]:
                continue
            for status, response in operation["responses"].items():
                for code in response.get("x-error-codes", [None]):
                    promised.add((method, path, int(status), code))
    answered = {(*case.operation, case.status, case.code) for case in CASES}
    assert promised == answered


# ---------------------------------------------------------------------------------------------------------
# Answers of no operation: an unknown path, a method a path does not serve


@pytest.mark.parametrize(
    "method,parts,code,status",
    [
        ("GET", ("org1", "alice_playlist", "tracks", "order"), "METHOD_NOT_ALLOWED", 405),
        ("PUT", ("org1",), "METHOD_NOT_ALLOWED", 405),
        ("POST", ("org1", "alice_playlist", "tracks", "a"), "METHOD_NOT_ALLOWED", 405),
        ("GET", ("org1", "alice_playlist", "entries"), "RESOURCE_NOT_FOUND", 404),
    ],
)
def test_answers_outside_the_operations_follow_the_envelope_schema(app, client, world, method, parts, code, status):
    document = openapi.document(app)
    before = world.store.snapshot()
    response = client.open(world.url(*parts), method=method, headers=world.users["alice"].headers)
    assert response.status_code == status
    body = response.get_json()
    _validator(document, {"$ref": "#/components/schemas/v1.ErrorEnvelope"}).validate(body)
    assert body["error"]["code"] == code
    v1_tag = next(tag for tag in document["tags"] if tag["name"] == "v1")
    assert f"{status} `{code}`" in v1_tag["description"]
    if status == 405:
        assert response.headers["Allow"] and "`Allow`" in v1_tag["description"]
    assert world.store.snapshot() == before
