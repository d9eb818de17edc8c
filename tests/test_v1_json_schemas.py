"""schemas/json/v1/: the v1 JSON Schemas are cut from the OpenAPI document, and live answers follow them.

The checked-in files must equal what ``groove-compat openapi --json-schemas`` generates, so they cannot drift
from the code. Then a real server answers each v1 operation once with a success and once with an error; each
body must validate against the file of the schema the document names for that operation and status, and each
request body sent against the file of its request schema.
"""

import json
import os
from dataclasses import dataclass

import pytest
import requests

from conftest import ROOT, TRACK_A, TRACK_B, TRACK_C, make_user
from contract_schemas import validate_json
from groove_compat import ids, openapi
from groove_compat.app import create_app, get_store
from groove_compat.cli import main
from groove_compat.openapi.json_schemas import json_schemas, schema_text

FOLDER = os.path.join(ROOT, "schemas", "json", "v1")
REGENERATE = "schemas/json/v1 is stale: regenerate it with `groove-compat openapi --json-schemas schemas/json/v1`"
PREFIX = "/v1/music/{organization_id}/collections"


def _checked_in():
    found = {}
    for name in sorted(os.listdir(FOLDER)):
        with open(os.path.join(FOLDER, name), encoding="utf-8") as handle:
            found[name] = handle.read()
    return found


def test_checked_in_schemas_are_the_generated_ones(app):
    generated = {name: schema_text(schema) for name, schema in json_schemas(openapi.document(app)).items()}
    assert _checked_in() == generated, REGENERATE


def test_every_v1_body_of_the_document_has_a_file(app):
    document = openapi.document(app)
    named = set()
    for path, operations in document["paths"].items():
        if not path.startswith("/v1/"):
            continue
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            bodies = [operation.get("requestBody", {})] + list(operation.get("responses", {}).values())
            for body in bodies:
                for media in body.get("content", {}).values():
                    named.add(media["schema"]["$ref"].rsplit("/", 1)[1].removeprefix("v1."))
    assert named and {f"{name}.schema.json" for name in named} <= set(_checked_in())


def test_cli_writes_the_checked_in_files_and_removes_stale_ones(runner, tmp_path):
    stale = tmp_path / "Gone.schema.json"
    stale.write_text("{}")
    (tmp_path / "notes.txt").write_text("kept")
    result = runner.invoke(main, ["openapi", "--json-schemas", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert result.output == f"wrote {len(_checked_in())} schemas to {tmp_path}\n"
    written = {path.name: path.read_text(encoding="utf-8") for path in tmp_path.iterdir() if path.name != "notes.txt"}
    assert written == _checked_in()
    assert (tmp_path / "notes.txt").read_text() == "kept"


def test_refs_become_sibling_file_names_and_foreign_refs_are_refused():
    document = {"components": {"schemas": {
        "v1.Outer": {"type": "object", "properties": {"xml": {"$ref": "#/components/schemas/v1.Inner"}},
                     "xml": {"name": "Outer"}, "example": {}},
        "v1.Inner": {"type": "string"},
        "Groove": {"type": "string"},
    }}}
    schemas = json_schemas(document)
    assert list(schemas) == ["Inner.schema.json", "Outer.schema.json"]
    assert schemas["Outer.schema.json"] == {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://groove-compat.invalid/schemas/json/v1/Outer.schema.json",
        "title": "Outer",
        "type": "object",
        "properties": {"xml": {"$ref": "Inner.schema.json"}},  # a member named xml stays; the keyword goes
    }
    document["components"]["schemas"]["v1.Inner"] = {"$ref": "#/components/schemas/Groove"}
    with pytest.raises(ValueError, match="Groove"):
        json_schemas(document)


# ---------------------------------------------------------------------------------------------------------
# Live answers


@dataclass
class Live:
    url: str
    organization: str
    library: str
    headers: dict
    tracks: dict  # name -> mtrack_ id
    document: dict

    def collections(self):
        return f"{self.url}/v1/music/{self.organization}/collections"

    def new_playlist(self, *track_names):
        created = requests.post(self.collections(), json={"name": "Schema case"}, headers=self.headers, timeout=10)
        assert created.status_code == 201, created.text
        collection = created.json()["id"]
        for name in track_names:
            added = requests.post(f"{self.collections()}/{collection}/tracks", json={"track_id": self.tracks[name]},
                                  headers=self.headers, timeout=10)
            assert added.status_code == 200, added.text
        return collection


@pytest.fixture(scope="module")
def live(live_server):
    app = create_app({"DATABASE": live_server.database})
    store = get_store(app)
    codec = ids.IdCodec(store.id_key())
    user = make_user(store, "schema-checker")
    from groove_compat import auth

    caller = auth.authenticate(store, user.token)
    tracks = {}
    for name, catalog_id in (("a", TRACK_A), ("b", TRACK_B), ("c", TRACK_C)):
        guid = ids.parse_catalog_guid(catalog_id)
        tracks[name] = codec.public_id("track", store.tracks_by_guid(organization_id=1, guids=[guid])[guid])
    document = openapi.document(app)
    result = Live(live_server.url, codec.public_id("organization", caller.organization_id),
                  codec.public_id("collection", caller.library_id), {"X-API-Key": user.token}, tracks, document)
    store.close()
    return result


def _path(live, collection=None, *rest):
    return "/".join([live.collections(), *([collection] if collection else []), *rest])


# (operation, case name, status, request builder: live -> (url, keyword arguments of requests.request))
CASES = [
    (("get", PREFIX), "list", 200, lambda live: (_path(live), {})),
    (("get", PREFIX), "no key", 401, lambda live: (_path(live), {"anonymous": True})),
    (("post", PREFIX), "create", 201, lambda live: (_path(live), {"json": {"name": "New"}})),
    (("post", PREFIX), "empty name", 400, lambda live: (_path(live), {"json": {"name": ""}})),
    (("get", PREFIX + "/{collection_id}"), "library", 200, lambda live: (_path(live, live.library), {})),
    (("get", PREFIX + "/{collection_id}"), "unknown", 404, lambda live: (_path(live, "mcoll_0000000000000000"), {})),
    (("patch", PREFIX + "/{collection_id}"), "rename", 200,
     lambda live: (_path(live, live.new_playlist()), {"json": {"name": "Renamed"}})),
    (("patch", PREFIX + "/{collection_id}"), "not JSON", 400,
     lambda live: (_path(live, live.new_playlist()), {"data": b"{", "headers": {"Content-Type": "application/json"}})),
    (("delete", PREFIX + "/{collection_id}"), "playlist", 200, lambda live: (_path(live, live.new_playlist()), {})),
    (("delete", PREFIX + "/{collection_id}"), "library", 409, lambda live: (_path(live, live.library), {})),
    (("get", PREFIX + "/{collection_id}/tracks"), "page", 200,
     lambda live: (_path(live, live.new_playlist("a", "b"), "tracks"), {"params": {"limit": 1}})),
    (("get", PREFIX + "/{collection_id}/tracks"), "bad limit", 400,
     lambda live: (_path(live, live.library, "tracks"), {"params": {"limit": 0}})),
    (("post", PREFIX + "/{collection_id}/tracks"), "add", 200,
     lambda live: (_path(live, live.new_playlist(), "tracks"), {"json": {"track_id": live.tracks["c"]}})),
    (("post", PREFIX + "/{collection_id}/tracks"), "unknown track", 404,
     lambda live: (_path(live, live.new_playlist(), "tracks"), {"json": {"track_id": "mtrack_0000000000000000"}})),
    (("post", PREFIX + "/{collection_id}/tracks/move"), "move", 200,
     lambda live: (_path(live, live.new_playlist("a", "b"), "tracks", "move"),
                   {"json": {"track_id": live.tracks["b"], "before_track_id": live.tracks["a"]}})),
    (("post", PREFIX + "/{collection_id}/tracks/move"), "malformed id", 400,
     lambda live: (_path(live, live.new_playlist("a"), "tracks", "move"), {"json": {"track_id": "x"}})),
    (("put", PREFIX + "/{collection_id}/tracks/order"), "reorder", 200,
     lambda live: (_path(live, live.new_playlist("a", "b"), "tracks", "order"),
                   {"json": {"track_ids": [live.tracks["b"], live.tracks["a"]]}})),
    (("put", PREFIX + "/{collection_id}/tracks/order"), "not every track", 400,
     lambda live: (_path(live, live.new_playlist("a", "b"), "tracks", "order"),
                   {"json": {"track_ids": [live.tracks["a"]]}})),
    (("delete", PREFIX + "/{collection_id}/tracks/{track_id}"), "remove", 200,
     lambda live: (_path(live, live.new_playlist("a"), "tracks", live.tracks["a"]), {})),
    (("delete", PREFIX + "/{collection_id}/tracks/{track_id}"), "unknown collection", 404,
     lambda live: (_path(live, "mcoll_0000000000000000", "tracks", live.tracks["a"]), {})),
]


def _schema_name(content):
    return "v1/" + content["application/json"]["schema"]["$ref"].rsplit("/", 1)[1].removeprefix("v1.")


def test_every_operation_has_a_success_and_an_error_case():
    operations = {(method, path) for method, path in [case[0] for case in CASES]}
    documented = {
        (method, path)
        for path, methods in json.load(open(os.path.join(ROOT, "schemas", "openapi.json"), encoding="utf-8"))["paths"].items()
        if path.startswith("/v1/") for method in methods if method in ("get", "post", "put", "patch", "delete")
    }
    assert operations == documented
    for operation in operations:
        statuses = [case[2] for case in CASES if case[0] == operation]
        assert any(status < 300 for status in statuses) and any(status >= 400 for status in statuses), operation


@pytest.mark.parametrize("operation, name, status, build", CASES, ids=[f"{c[0][0]} {c[0][1].removeprefix(PREFIX) or '/'} {c[1]}" for c in CASES])
def test_live_answer_follows_its_schema(live, operation, name, status, build):
    url, arguments = build(live)
    headers = {} if arguments.pop("anonymous", False) else {**live.headers, **arguments.pop("headers", {})}
    described = live.document["paths"][operation[1]][operation[0]]
    response = requests.request(operation[0].upper(), url, headers=headers, timeout=10, **arguments)
    assert response.status_code == status, response.text
    if "json" in arguments:
        # The request schema and the server agree: what the server takes validates, what it refuses as
        # VALIDATION_ERROR does not (other refusals, such as an unknown id, are about the data, not the shape).
        request_schema = _schema_name(described["requestBody"]["content"])
        if status < 400:
            validate_json(arguments["json"], request_schema)
        elif response.json()["error"]["code"] == "VALIDATION_ERROR":
            with pytest.raises(AssertionError):
                validate_json(arguments["json"], request_schema)
    assert response.headers["Content-Type"].startswith("application/json")
    body = validate_json(response.content, _schema_name(described["responses"][str(status)]["content"]))
    assert body["success"] is (status < 400)
    if status >= 400:
        assert body["error"]["status"] == status
        assert body["error"]["trace_id"] == response.headers["X-Request-Id"]
