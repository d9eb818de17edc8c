"""The OpenAPI document tells the truth about the Groove dialect.

Each case below is a real request to a Groove operation, for its success and for every kind of error. The
answer must be a status the document lists for that operation, with a JSON body its schema accepts, an
ErrorCode listed under that status (item ErrorCodes under the 200's item errors), and the documented special
headers. And the other way round: every (operation, status, code) and item code the document lists is
answered by some case, so the document promises nothing the server does not do.
"""

import json
from dataclasses import dataclass, field

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from conftest import TRACK_A, TRACK_B, TRACK_C, UNKNOWN_TRACK
from groove_compat import auth, openapi
from groove_compat.app import create_app
from groove_compat.groove import errors

ADD = ("post", "/1/content/{namespace}/collection/add")
DELETE = ("post", "/1/content/{namespace}/collection/delete")
MOVE = ("post", "/1/content/{namespace}/collection/move")
BROWSE = ("get", "/1/content/{namespace}/collection/{list_type}/browse")
PLAYLIST_TRACKS = ("get", "/1/content/{playlist_id}/collection/playlist/tracks/browse")
LOOKUP = ("get", "/1/content/{id_list}/lookup")
CREATE = ("post", "/1/content/{namespace}/collection/playlists/create")
UPDATE = ("post", "/1/content/{namespace}/collection/playlists/update")
DELETE_PLAYLIST = ("post", "/1/content/{namespace}/collection/playlists/delete")
PROFILE = ("get", "/1/user/{namespace}/profile")

SPECIAL_HEADERS = ("WWW-Authenticate", "Retry-After")
HUGE_BODY = b" " * 2_000_000  # past the default MAX_CONTENT_LENGTH


@dataclass(frozen=True)
class Case:
    operation: tuple
    name: str
    status: int
    code: str | None  # the answer's top-level ErrorCode (canonical spelling); None: none
    url: str  # the path, formatted with the world (``{playlist}``, ``{entry}``...)
    body: object = None  # JSON data, a function of the world giving it, or bytes sent as they are
    content_type: str = "application/json"
    query: str = ""
    credential: str = "alice"  # alice, bob, none, unknown, basic, revoked
    settings: dict = field(default_factory=dict)
    trouble: str | None = None  # "broken": the store fails; "limited": over the rate limit
    item_codes: tuple = ()  # ErrorCodes of failed items (200 batches)

    @property
    def id(self):
        return f"{self.operation[0].upper()} {self.operation[1]} {self.name}"


def _common(operation, url, *, body=None, success=200, token="required", namespace=True):
    """The cases every operation has, by what it takes."""
    if success is not None:
        yield Case(operation, "success", success, None, url, body)
    yield Case(operation, "contentType yaml", 400, "INVALID_INPUT_PARAMETER", url, body, query="contentType=yaml")
    yield Case(operation, "jsonp not a name", 400, "INVALID_INPUT_PARAMETER", url, body, query="jsonp=1x")
    yield Case(operation, "language", 400, "INVALID_INPUT_PARAMETER", url, body, query="language=french")
    yield Case(operation, "country", 400, "INVALID_INPUT_PARAMETER", url, body, query="country=FRA")
    yield Case(operation, "Basic header", 401, "INVALID_AUTHORIZATION_HEADER", url, body, credential="basic")
    yield Case(operation, "revoked token", 401, "INVALID_AUTHORIZATION_HEADER", url, body, credential="revoked")
    if token == "required":
        yield Case(operation, "no token", 401, "INVALID_AUTHORIZATION_HEADER", url, body, credential="none")
        yield Case(operation, "unknown token", 401, "INVALID_AUTHORIZATION_HEADER", url, body, credential="unknown")
        yield Case(operation, "rate limited", 429, "TOO_MANY_REQUESTS", url, body, trouble="limited")
    if namespace:
        yield Case(
            operation, "namespace video", 404, "INVALID_INPUT_PARAMETER", url.replace("/music/", "/video/"), body
        )
    yield Case(operation, "store failure", 500, "INTERNAL_SERVER_ERROR", url, body, trouble="broken")
    if body is not None:
        yield Case(operation, "empty body", 400, "MISSING_INPUT_PARAMETER", url, b"")
        yield Case(operation, "broken JSON", 400, "INVALID_INPUT_PARAMETER", url, b"{")
        yield Case(operation, "broken XML", 400, "INVALID_INPUT_PARAMETER", url, b"<Foo", content_type="text/xml")
        yield Case(operation, "text body", 415, "INVALID_INPUT_PARAMETER", url, b"hello", content_type="text/plain")
        yield Case(operation, "huge body", 413, "INVALID_INPUT_PARAMETER", url, HUGE_BODY)


COLLECTION = "/1/content/music/collection/"
PLAYLISTS = COLLECTION + "playlists/"
BROWSE_TRACKS = COLLECTION + "tracks/browse"
PLAYLIST_BROWSE = "/1/content/{playlist}/collection/playlist/tracks/browse"
TOO_MANY = [TRACK_A] * 101


def _entry(world):
    return world["library_entries"][0]


def _playlist_action(**members):
    return lambda world: {**members, "Id": world["playlist"]} if "Id" not in members else members


CASES = [
    # --- add
    *_common(ADD, COLLECTION + "add", body={"TrackIds": [TRACK_C]}),
    Case(ADD, "partial failure", 200, "COLLECTION_SOME_OPERATIONS_FAILED", COLLECTION + "add",
         {"TrackIds": [UNKNOWN_TRACK, TRACK_C]}, item_codes=("COLLECTION_INVALID_ID",)),
    Case(ADD, "collection full", 200, "COLLECTION_SOME_OPERATIONS_FAILED", COLLECTION + "add",
         {"TrackIds": [TRACK_C]}, settings={"COLLECTION_CAPACITY": 2}, item_codes=("COLLECTION_FULL",)),
    Case(ADD, "empty list", 400, "MISSING_INPUT_PARAMETER", COLLECTION + "add", {"TrackIds": []}),
    Case(ADD, "not a list", 400, "INVALID_INPUT_PARAMETER", COLLECTION + "add", {"TrackIds": TRACK_A}),
    Case(ADD, "101 ids", 400, "COLLECTION_INVALID_OPERATION", COLLECTION + "add", {"TrackIds": TOO_MANY}),
    # --- delete
    *_common(DELETE, COLLECTION + "delete", body=lambda world: {"TrackIds": [_entry(world)]}),
    Case(DELETE, "catalog id", 200, None, COLLECTION + "delete", {"TrackIds": [TRACK_B]}),
    Case(DELETE, "partial failure", 200, "COLLECTION_SOME_OPERATIONS_FAILED", COLLECTION + "delete",
         {"TrackIds": [TRACK_A, TRACK_C]}, item_codes=("COLLECTION_INVALID_ID",)),
    Case(DELETE, "null", 400, "MISSING_INPUT_PARAMETER", COLLECTION + "delete", {"TrackIds": None}),
    Case(DELETE, "not a list", 400, "INVALID_INPUT_PARAMETER", COLLECTION + "delete", {"TrackIds": {"a": 1}}),
    Case(DELETE, "101 ids", 400, "COLLECTION_INVALID_OPERATION", COLLECTION + "delete", {"TrackIds": TOO_MANY}),
    # --- move (refused)
    *_common(MOVE, COLLECTION + "move", success=None),
    Case(MOVE, "refused", 400, "COLLECTION_INVALID_OPERATION", COLLECTION + "move", {"TrackIds": [TRACK_A]}),
    # --- browse
    *_common(BROWSE, BROWSE_TRACKS),
    *[Case(BROWSE, list_type, 200, None, COLLECTION + f"{list_type}/browse")
      for list_type in ("Albums", "artists", "PLAYLISTS", "playlistsforyou")],
    Case(BROWSE, "ordered page", 200, None, BROWSE_TRACKS, query="orderBy=artistname&maxItems=1&page=1"),
    Case(BROWSE, "next page", 200, None, BROWSE_TRACKS, query="continuationToken={token}"),
    Case(BROWSE, "unknown list", 404, "INVALID_INPUT_PARAMETER", COLLECTION + "videos/browse"),
    Case(BROWSE, "maxItems 26", 400, "INVALID_INPUT_PARAMETER", BROWSE_TRACKS, query="maxItems=26"),
    Case(BROWSE, "maxItems 0", 400, "INVALID_INPUT_PARAMETER", BROWSE_TRACKS, query="maxItems=0"),
    Case(BROWSE, "page -1", 400, "INVALID_INPUT_PARAMETER", BROWSE_TRACKS, query="page=-1"),
    Case(BROWSE, "orderBy of albums", 400, "INCOMPATIBLE_INPUT_PARAMETERS", COLLECTION + "artists/browse",
         query="orderBy=AlbumTitle"),
    Case(BROWSE, "orderBy for you", 400, "INCOMPATIBLE_INPUT_PARAMETERS", COLLECTION + "playlistsforyou/browse",
         query="orderBy=CollectionDate"),
    Case(BROWSE, "token and another order", 400, "INCOMPATIBLE_INPUT_PARAMETERS", BROWSE_TRACKS,
         query="continuationToken={token}&orderBy=ArtistName"),
    Case(BROWSE, "token and page", 400, "INCOMPATIBLE_INPUT_PARAMETERS", BROWSE_TRACKS,
         query="continuationToken={token}&page=1"),
    Case(BROWSE, "edited token", 400, "CONTINUATION_TOKEN_INVALID_ERROR", BROWSE_TRACKS,
         query="continuationToken=AQAAAXMADWF0bGFzIGxhbnRlcm5p"),
    Case(BROWSE, "token of another list", 400, "CONTINUATION_TOKEN_INVALID_ERROR", COLLECTION + "albums/browse",
         query="continuationToken={token}"),
    # --- a playlist's tracks
    *_common(PLAYLIST_TRACKS, PLAYLIST_BROWSE, namespace=False),
    Case(PLAYLIST_TRACKS, "long id form", 200, None, "/1/content/{playlist_long}/collection/playlist/tracks/browse",
         query="orderBy=TrackTitle&maxItems=1"),
    Case(PLAYLIST_TRACKS, "another user's", 404, "COLLECTION_NO_RESULT", PLAYLIST_BROWSE, credential="bob"),
    Case(PLAYLIST_TRACKS, "not a playlist id", 404, "COLLECTION_NO_RESULT",
         "/1/content/music.playlist.nope/collection/playlist/tracks/browse"),
    Case(PLAYLIST_TRACKS, "maxItems x", 400, "INVALID_INPUT_PARAMETER", PLAYLIST_BROWSE, query="maxItems=x"),
    Case(PLAYLIST_TRACKS, "orderBy of albums", 400, "INCOMPATIBLE_INPUT_PARAMETERS", PLAYLIST_BROWSE,
         query="orderBy=PlaylistName"),
    Case(PLAYLIST_TRACKS, "library's token", 400, "CONTINUATION_TOKEN_INVALID_ERROR", PLAYLIST_BROWSE,
         query="continuationToken={token}"),
    # --- lookup
    *_common(LOOKUP, "/1/content/{entry}+{playlist}/lookup", namespace=False),
    Case(LOOKUP, "catalog id", 200, None, f"/1/content/{TRACK_A}/lookup", query="source=Catalog+Collection"),
    Case(LOOKUP, "no source", 400, "INVALID_INPUT_PARAMETER", f"/1/content/{TRACK_A}/lookup", query="-"),
    Case(LOOKUP, "catalog source", 400, "INVALID_INPUT_PARAMETER", f"/1/content/{TRACK_A}/lookup",
         query="source=catalog"),
    Case(LOOKUP, "ids too long", 400, "INVALID_INPUT_PARAMETER", "/1/content/" + "+".join([TRACK_A] * 6) + "/lookup"),
    Case(LOOKUP, "no id", 400, "MISSING_INPUT_PARAMETER", "/1/content/+/lookup"),
    Case(LOOKUP, "nothing found", 404, "COLLECTION_NO_RESULT", f"/1/content/{TRACK_C}+{UNKNOWN_TRACK}/lookup"),
    # --- playlists/create
    *_common(CREATE, PLAYLISTS + "create", body={"Name": "Road trip", "IsPublished": True}),
    Case(CREATE, "with tracks", 200, "COLLECTION_SOME_OPERATIONS_FAILED", PLAYLISTS + "create",
         {"Name": "Mix", "TrackActions": [{"Id": TRACK_A, "Action": "Add"}, {"Id": "music.nope", "Action": "add"}]},
         item_codes=("COLLECTION_INVALID_ID",)),
    Case(CREATE, "no name", 400, "COLLECTION_INVALID_PLAYLIST_INFO", PLAYLISTS + "create", {"IsPublished": True}),
    Case(CREATE, "blank name", 400, "COLLECTION_INVALID_PLAYLIST_INFO", PLAYLISTS + "create", {"Name": "  "}),
    Case(CREATE, "long name", 400, "INVALID_INPUT_PARAMETER", PLAYLISTS + "create", {"Name": "x" * 257}),
    Case(CREATE, "IsPublished yes", 400, "INVALID_INPUT_PARAMETER", PLAYLISTS + "create",
         {"Name": "Mix", "IsPublished": "yes"}),
    Case(CREATE, "unknown action", 400, "INVALID_INPUT_PARAMETER", PLAYLISTS + "create",
         {"Name": "Mix", "TrackActions": [{"Id": TRACK_A, "Action": "Frob"}]}),
    Case(CREATE, "a Delete action", 400, "COLLECTION_INVALID_OPERATION", PLAYLISTS + "create",
         {"Name": "Mix", "TrackActions": [{"Id": TRACK_A, "Action": "Delete"}]}),
    Case(CREATE, "101 actions", 400, "COLLECTION_INVALID_OPERATION", PLAYLISTS + "create",
         {"Name": "Mix", "TrackActions": [{"Id": TRACK_A, "Action": "Add"}] * 101}),
    Case(CREATE, "playlist quota", 400, "COLLECTION_FULL", PLAYLISTS + "create", {"Name": "Mix"},
         settings={"PLAYLIST_CAPACITY": 1}),
    Case(CREATE, "too many tracks", 400, "COLLECTION_PLAYLIST_FULL", PLAYLISTS + "create",
         {"Name": "Mix", "TrackActions": [{"Id": TRACK_A, "Action": "Add"}, {"Id": TRACK_B, "Action": "Add"}]},
         settings={"PLAYLIST_TRACK_CAPACITY": 1}),
    Case(CREATE, "stale state", 409, "COLLECTION_CONCURRENT_UPDATE", PLAYLISTS + "create",
         {"Name": "Mix", "CollectionStateToken": "1.0.0.0.0"}),
    # --- playlists/update
    *_common(UPDATE, PLAYLISTS + "update", body=_playlist_action(Name="Renamed", IsPublished=False)),
    Case(UPDATE, "tracks", 200, "COLLECTION_SOME_OPERATIONS_FAILED", PLAYLISTS + "update",
         _playlist_action(TrackActions=[{"Id": TRACK_C, "Action": "Add"}, {"Id": UNKNOWN_TRACK, "Action": "Delete"}]),
         item_codes=("COLLECTION_INVALID_ID",)),
    Case(UPDATE, "move", 200, None, PLAYLISTS + "update",
         lambda world: {"Id": world["playlist_long"], "TrackActions": [
             {"Id": world["playlist_entries"][1], "Action": "Move"}], "InsertBeforeTrackId": world["playlist_entries"][0]}),
    Case(UPDATE, "no Id", 400, "COLLECTION_INVALID_PLAYLIST_INFO", PLAYLISTS + "update", {"Name": "Renamed"}),
    Case(UPDATE, "blank name", 400, "COLLECTION_INVALID_PLAYLIST_INFO", PLAYLISTS + "update",
         _playlist_action(Name="")),
    Case(UPDATE, "long name", 400, "INVALID_INPUT_PARAMETER", PLAYLISTS + "update", _playlist_action(Name="x" * 300)),
    Case(UPDATE, "TrackActions not a list", 400, "INVALID_INPUT_PARAMETER", PLAYLISTS + "update",
         _playlist_action(TrackActions="add")),
    Case(UPDATE, "101 actions", 400, "COLLECTION_INVALID_OPERATION", PLAYLISTS + "update",
         _playlist_action(TrackActions=[{"Id": TRACK_C, "Action": "Add"}] * 101)),
    Case(UPDATE, "move and rename", 400, "COLLECTION_INVALID_PLAYLIST_REORDER", PLAYLISTS + "update",
         _playlist_action(Name="Renamed", TrackActions=[{"Id": TRACK_A, "Action": "Move"}])),
    Case(UPDATE, "move of no entry", 400, "COLLECTION_INVALID_PLAYLIST_REORDER", PLAYLISTS + "update",
         _playlist_action(TrackActions=[{"Id": TRACK_C, "Action": "Move"}])),
    Case(UPDATE, "playlist full", 400, "COLLECTION_PLAYLIST_FULL", PLAYLISTS + "update",
         _playlist_action(TrackActions=[{"Id": TRACK_C, "Action": "Add"}]), settings={"PLAYLIST_TRACK_CAPACITY": 2}),
    Case(UPDATE, "unknown playlist", 404, "COLLECTION_NO_RESULT", PLAYLISTS + "update",
         {"Id": "music.playlist.00000000-0000-0000-0000-000000000000", "Name": "Renamed"}),
    Case(UPDATE, "another user's", 404, "COLLECTION_NO_RESULT", PLAYLISTS + "update",
         _playlist_action(Name="Mine"), credential="bob"),
    Case(UPDATE, "stale state", 409, "COLLECTION_CONCURRENT_UPDATE", PLAYLISTS + "update",
         _playlist_action(Name="Renamed", CollectionStateToken="1.0.0.0.0")),
    # --- playlists/delete
    *_common(DELETE_PLAYLIST, PLAYLISTS + "delete", body=_playlist_action()),
    Case(DELETE_PLAYLIST, "no Id", 400, "COLLECTION_INVALID_PLAYLIST_INFO", PLAYLISTS + "delete", {"Name": "x"}),
    Case(DELETE_PLAYLIST, "Id not a string", 400, "INVALID_INPUT_PARAMETER", PLAYLISTS + "delete", {"Id": 5}),
    Case(DELETE_PLAYLIST, "malformed Id", 404, "COLLECTION_NO_RESULT", PLAYLISTS + "delete", {"Id": "music.x"}),
    Case(DELETE_PLAYLIST, "stale state", 409, "COLLECTION_CONCURRENT_UPDATE", PLAYLISTS + "delete",
         _playlist_action(CollectionStateToken="1.0.0.0.0")),
    # --- profile
    *_common(PROFILE, "/1/user/music/profile", token="optional"),
    Case(PROFILE, "no token", 200, None, "/1/user/music/profile", credential="none", query="country=FR"),
    Case(PROFILE, "unknown token", 200, None, "/1/user/music/profile", credential="unknown"),
]


class _OverTheLimit:
    def take(self, credential_id):
        return 2.5


@pytest.fixture(scope="module")
def document(tmp_path_factory):
    """The document of the default settings (the cases' settings do not change it)."""
    from conftest import seeded_database

    path = tmp_path_factory.mktemp("groove-openapi") / "document.sqlite"
    seeded_database(path)
    return openapi.document(create_app({"DATABASE": str(path)}))


def _validator(document, schema):
    registry = Registry().with_resource("urn:openapi", Resource.from_contents(document, default_specification=DRAFT202012))
    if "$ref" in schema:
        schema = {"$ref": "urn:openapi" + schema["$ref"]}
    return Draft202012Validator(schema, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _world(client, alice, store, codec):
    """Alice's library holds tracks A and B, her playlist both; a browse token of her library (page size 1)."""
    added = client.post(COLLECTION + "add", json={"TrackIds": [TRACK_A, TRACK_B]}, headers=alice.headers).get_json()
    created = client.post(PLAYLISTS + "create", headers=alice.headers, json={
        "Name": "Road trip", "TrackActions": [{"Id": TRACK_A, "Action": "Add"}, {"Id": TRACK_B, "Action": "Add"}],
    }).get_json()["PlaylistActionResult"]
    page = client.get(BROWSE_TRACKS + "?maxItems=1", headers=alice.headers).get_json()
    collection_id = codec.parse_playlist_id(created["Id"])
    return {
        "library_entries": [result["Id"] for result in added["TrackActionResults"]],
        "entry": added["TrackActionResults"][0]["Id"],
        "playlist_entries": [result["Id"] for result in created["TrackActionResults"]],
        "playlist": codec.playlist_short_id(collection_id),
        "playlist_long": created["Id"],
        "token": page["Tracks"]["ContinuationToken"],
    }


def _headers(case, users, store):
    alice, bob = users["alice"], users["bob"]
    if case.credential == "revoked":
        store.revoke_credential(store.credentials_of_user(alice.user_id)[0]["id"])
    return {
        "alice": alice.headers, "bob": bob.headers, "none": {}, "revoked": alice.headers,
        "unknown": {"Authorization": "Bearer not-a-token"}, "basic": {"Authorization": "Basic YWxpY2U6c2VjcmV0"},
    }[case.credential]


def _spelled(code):
    return errors.spell(code, "hyphen")


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_groove_answer_is_what_the_document_says(app, client, store, codec, users, document, monkeypatch, case):
    operation = document["paths"][case.operation[1]][case.operation[0]]
    world = _world(client, users["alice"], store, codec)
    app.config.update(case.settings)
    headers = {"Accept": "application/json", **_headers(case, users, store)}
    body = case.body(world) if callable(case.body) else case.body
    if body is not None and not isinstance(body, bytes):
        body = json.dumps(body).encode()
    if body is not None:
        headers["Content-Type"] = case.content_type
    url = case.url.format(**world) + ("?" + case.query.format(**world) if case.query else "")
    if not case.query and case.operation == LOOKUP:
        url += "?source=collection"
    if case.trouble == "limited":
        monkeypatch.setitem(app.extensions, "groove_compat.rate_limiter", _OverTheLimit())
    if case.trouble == "broken":

        def failing(store, token):
            raise RuntimeError("disk on fire")

        monkeypatch.setattr(auth, "authenticate", failing)
    before = store.snapshot()
    response = client.open(url, method=case.operation[0].upper(), headers=headers, data=body)

    assert response.status_code == case.status, response.get_data(as_text=True)
    documented = operation["responses"].get(str(response.status_code))
    assert documented is not None, f"status {response.status_code} is not documented"
    assert response.mimetype == "application/json"
    answer = response.get_json()
    _validator(document, documented["content"]["application/json"]["schema"]).validate(answer)
    code = answer.get("Error", {}).get("ErrorCode")
    assert code == (case.code and _spelled(case.code))
    if code is not None:
        assert code in documented["x-error-codes"], f"{code} is not listed under {response.status_code}"
        if response.status_code >= 400:
            example = documented["content"]["application/json"]["examples"][code]["value"]
            assert set(answer) == set(example)
            assert answer["Error"]["Description"] == example["Error"]["Description"]
            assert store.snapshot() == before
    items = answer.get("TrackActionResults") or answer.get("PlaylistActionResult", {}).get("TrackActionResults", [])
    item_codes = tuple(dict.fromkeys(item["Error"]["ErrorCode"] for item in items if "Error" in item))
    assert item_codes == tuple(_spelled(item_code) for item_code in case.item_codes)
    assert set(item_codes) <= set(documented.get("x-item-error-codes", []))
    sent = {name for name in SPECIAL_HEADERS if name in response.headers}
    assert sent == {name for name in SPECIAL_HEADERS if name in documented["headers"]}


def test_every_documented_status_and_code_is_answered_by_a_case(document):
    promised, promised_items = set(), set()
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            if operation["tags"] != ["Groove"]:
                continue
            for status, response in operation["responses"].items():
                codes = response.get("x-error-codes", [])
                for code in codes + ([None] if status == "200" else []):
                    promised.add((method, path, int(status), code))
                for code in response.get("x-item-error-codes", []):
                    promised_items.add((method, path, code))
    answered = {(*case.operation, case.status, case.code and _spelled(case.code)) for case in CASES}
    answered_items = {(*case.operation, _spelled(code)) for case in CASES for code in case.item_codes}
    assert promised == answered
    assert promised_items == answered_items
