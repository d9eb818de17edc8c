"""GET /openapi.json: generated from the views' declarations, equal to schemas/openapi.json, valid OpenAPI 3.1,
and true to what the server answers."""

import json
import os

import pytest
from flask import Blueprint
from jsonschema import Draft202012Validator
from lxml import etree
from marshmallow import Schema, fields
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from conftest import ROOT, TRACK_A, UNKNOWN_TRACK
from groove_compat import openapi
from groove_compat.app import create_app
from groove_compat.cli import main
from groove_compat.groove import web
from groove_compat.groove.contracts import CONTRACTS, ERROR_COMPANIONS, NAMESPACES
from groove_compat.openapi import DocumentationError, documented
from groove_compat.openapi.generator import openapi_path

CHECKED_IN = os.path.join(ROOT, "schemas", "openapi.json")
REGENERATE = "schemas/openapi.json is stale: regenerate it with `groove-compat openapi > schemas/openapi.json`"

with open(CHECKED_IN, encoding="utf-8") as checked_in_file:
    # Parametrisation reads the checked-in copy; test_served_document_is_the_checked_in_copy ties it to the code.
    PUBLISHED = json.load(checked_in_file)

OPERATIONS = [
    (method, path, operation) for path, methods in PUBLISHED["paths"].items() for method, operation in methods.items()
]
GROOVE_OPERATIONS = [item for item in OPERATIONS if item[2]["tags"] == ["Groove"]]


def _registry(document):
    return Registry().with_resource("urn:openapi", Resource.from_contents(document, default_specification=DRAFT202012))


def _validator(document, schema):
    """A JSON Schema validator for a schema of the document (``$ref``s resolved inside the document)."""
    if "$ref" in schema:
        schema = {"$ref": "urn:openapi" + schema["$ref"]}
    return Draft202012Validator(schema, registry=_registry(document))


def _concrete(path):
    return path.replace("{namespace}", "music").replace("{", "").replace("}", "")


# ---------------------------------------------------------------------------------------------------------
# Every route, documented once


def test_every_route_is_documented(app):
    assert openapi.undocumented_routes(app) == []


def test_a_route_without_documentation_is_reported_and_left_out(app):
    app.add_url_rule(
        "/1/content/<namespace>/collection/frobnicate", "frobnicate", lambda namespace: "", methods=["POST"]
    )
    assert openapi.undocumented_routes(app) == ["POST /1/content/<namespace>/collection/frobnicate (frobnicate)"]
    assert "/1/content/{namespace}/collection/frobnicate" not in openapi.document(app)["paths"]


def test_every_route_and_method_is_in_the_document(app):
    routed = {
        (method.lower(), openapi_path(rule))
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    documented_operations = {
        (method, path) for path, methods in openapi.document(app)["paths"].items() for method in methods
    }
    assert documented_operations == routed


# ---------------------------------------------------------------------------------------------------------
# The served document, the checked-in copy and the CLI


def test_served_document_is_the_checked_in_copy(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    with open(CHECKED_IN, "rb") as file:
        assert response.data == file.read(), REGENERATE


def test_cli_prints_the_checked_in_copy(runner):
    result = runner.invoke(main, ["openapi"])
    assert result.exit_code == 0, result.output
    with open(CHECKED_IN, encoding="utf-8") as file:
        assert result.output == file.read(), REGENERATE


def test_document_answers_conditional_requests(client):
    first = client.get("/openapi.json")
    again = client.get("/openapi.json", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.data == b""


def test_document_is_built_once_and_never_by_api_requests(app, client, alice, monkeypatch):
    calls = []
    real = openapi.build_document
    monkeypatch.setattr(openapi, "build_document", lambda application: calls.append(1) or real(application))
    response = client.post("/1/content/music/collection/add", json={"TrackIds": [TRACK_A]}, headers=alice.headers)
    assert response.status_code == 200
    assert client.get("/healthz").status_code == 200
    assert calls == []
    first = client.get("/openapi.json").data
    assert client.get("/docs").status_code == 200
    assert client.get("/openapi.json").data == first
    assert openapi.document(app) is openapi.document(app)
    assert calls == [1]


SETTINGS = [
    {},
    {"ERROR_CODE_STYLE": "underscore"},
    {"XML_DEFAULT_NAMESPACE": "2016", "MAX_CONTENT_LENGTH": 4096},
]


@pytest.mark.parametrize("settings", SETTINGS, ids=["defaults", "underscore", "2016"])
def test_document_is_valid_openapi_3_1(database_path, users, settings):
    app = create_app({"DATABASE": str(database_path), **settings})
    document = openapi.document(app)
    validate(document)
    assert document["openapi"] == "3.1.0"
    assert set(document["components"]["securitySchemes"]) == {"bearer", "apiKey"}
    assert document["components"]["securitySchemes"]["apiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": document["components"]["securitySchemes"]["apiKey"]["description"],
    }


@pytest.mark.parametrize(
    "settings,code,namespace",
    [
        ({}, "INVALID-AUTHORIZATION-HEADER", NAMESPACES["2013"]),
        ({"ERROR_CODE_STYLE": "underscore"}, "INVALID_AUTHORIZATION_HEADER", NAMESPACES["2013"]),
        ({"XML_DEFAULT_NAMESPACE": "2016"}, "INVALID-AUTHORIZATION-HEADER", NAMESPACES["2016"]),
    ],
)
def test_served_document_follows_the_deployment_settings(database_path, users, settings, code, namespace):
    app = create_app({"DATABASE": str(database_path), **settings})
    unauthorized = openapi.document(app)["paths"]["/1/content/{namespace}/collection/add"]["post"]["responses"]["401"]
    assert unauthorized["x-error-codes"] == [code]
    assert unauthorized["content"]["application/json"]["examples"][code]["value"]["Error"]["ErrorCode"] == code
    xml = etree.fromstring(unauthorized["content"]["application/xml"]["examples"][code]["value"].encode())
    assert xml.tag == "{%s}TrackActionResponse" % namespace
    # The answer itself, in the same settings, is what the example shows.
    response = app.test_client().post("/1/content/music/collection/add?contentType=xml", json={"TrackIds": [TRACK_A]})
    assert etree.fromstring(response.data).tag == xml.tag
    assert etree.fromstring(response.data).findtext("{%s}Error/{%s}ErrorCode" % (namespace, namespace)) == code


# ---------------------------------------------------------------------------------------------------------
# Groove bodies: the contracts table, the marshmallow request schemas, the published JSON and XML schemas

CONTRACT_COMPONENTS = [name for name in PUBLISHED["components"]["schemas"] if name in CONTRACTS]


@pytest.mark.parametrize("name", CONTRACT_COMPONENTS)
def test_groove_component_follows_its_contract(app, name):
    component = openapi.document(app)["components"]["schemas"][name]
    contract = CONTRACTS[name]
    if "additionalProperties" in component:  # a response object, generated from the contract
        assert list(component["properties"]) == list(contract.json)
        assert component["additionalProperties"] is False
    else:  # a request object, from its marshmallow schema: unknown members are ignored
        assert set(component["properties"]) == set(contract.json)
    assert component["xml"] == {"name": name, "namespace": NAMESPACES["2013"]}
    assert component["x-xml-namespaces"] == NAMESPACES
    assert component["x-xml-order"] == {year: list(contract.xml_order(ns)) for year, ns in NAMESPACES.items()}


def _published_json_schema(name):
    directory = os.path.join(ROOT, "schemas", "json")
    documents = []
    for file_name in sorted(os.listdir(directory)):
        if not file_name.endswith(".json"):  # v1/ holds the v1 dialect's schemas
            continue
        with open(os.path.join(directory, file_name), encoding="utf-8") as file:
            documents.append(json.load(file))
    registry = Registry().with_resources((d["$id"], Resource.from_contents(d)) for d in documents)
    schema = next(d for d in documents if d["$id"].endswith(f"/{name}.schema.json"))
    return schema, registry.resolver(base_uri=schema["$id"])


def _kind(schema, resolve):
    while "$ref" in schema:
        schema = resolve(schema["$ref"])
    if "properties" in schema or schema.get("type") == "object":
        return "object"
    kind = schema.get("type")
    if isinstance(kind, list):  # request schemas accept null where the server answers it with an error
        kind = [item for item in kind if item != "null"]
        kind = kind[0] if len(kind) == 1 else kind
    return "any" if kind is None else kind


# PaginatedList<T> is one published schema whose $defs type the items; the contracts name each list.
PUBLISHED_LISTS = {"TrackList": "Tracks", "AlbumList": "Albums", "ArtistList": "Artists", "PlaylistList": "Playlists"}


@pytest.mark.parametrize("name", CONTRACT_COMPONENTS)
def test_groove_component_agrees_with_the_published_json_schema(app, name):
    """Every member the server writes or reads is a member of the published schema, of the same kind. The
    published Groove objects also hold members that the collection surface never writes (``OtherIds``,
    ``Subgenres``, ``Radios``...): those may be absent from the document."""
    document = openapi.document(app)
    component = document["components"]["schemas"][name]
    published, resolver = _published_json_schema("PaginatedList" if name in PUBLISHED_LISTS else name)
    if name in PUBLISHED_LISTS:
        typed = published["$defs"][PUBLISHED_LISTS[name]]["properties"]["Items"]["items"]["$ref"]
        assert typed == component["properties"]["Items"]["items"]["$ref"].rsplit("/", 1)[-1] + ".schema.json"

    def resolve_document(reference):
        node = document
        for part in reference.lstrip("#/").split("/"):
            node = node[part]
        return node

    def resolve_published(reference):
        return resolver.lookup(reference).contents

    assert set(component["properties"]) <= set(published["properties"])
    if "additionalProperties" not in component:  # a request object: the schema reads every published member
        assert set(component["properties"]) == set(published["properties"])
    for member, schema in component["properties"].items():
        assert _kind(schema, resolve_document) == _kind(published["properties"][member], resolve_published), member


def _examples(document, kind):
    """(operation, status, media type, schema, name, value) of every example in the document."""
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            parts = [("request", operation.get("requestBody", {}))]
            parts += list(operation["responses"].items())
            for status, part in parts:
                for media_type, media in part.get("content", {}).items():
                    if (media_type == "application/xml") != (kind == "xml"):
                        continue
                    for name, example in media.get("examples", {}).items():
                        yield f"{method} {path} {status} {name}", media["schema"], example["value"]


JSON_EXAMPLES = list(_examples(PUBLISHED, "json"))
XML_EXAMPLES = list(_examples(PUBLISHED, "xml"))


def test_there_are_examples_to_check():
    assert len(JSON_EXAMPLES) >= 8 and len(XML_EXAMPLES) >= 8


@pytest.mark.parametrize("where,schema,value", JSON_EXAMPLES, ids=[item[0] for item in JSON_EXAMPLES])
def test_json_example_matches_its_schema(app, where, schema, value):
    _validator(openapi.document(app), schema).validate(value)


@pytest.mark.parametrize("where,schema,value", XML_EXAMPLES, ids=[item[0] for item in XML_EXAMPLES])
def test_xml_example_matches_the_published_xsd(where, schema, value):
    root = etree.fromstring(value.encode("utf-8"))
    namespace, name = etree.QName(root).namespace, etree.QName(root).localname
    assert name == schema["$ref"].rsplit("/", 1)[-1]
    year = next(year for year, uri in NAMESPACES.items() if uri == namespace)
    xsd = etree.XMLSchema(etree.parse(os.path.join(ROOT, "schemas", "xml", year, f"{name}.xsd")))
    xsd.assertValid(root)


# ---------------------------------------------------------------------------------------------------------
# The document says what the server does


def _error_cases():
    """Requests that every Groove operation must answer with a documented error, by what the operation has."""
    for method, path, operation in GROOVE_OPERATIONS:
        yield method, path, "contentType=yaml", {"query": "?contentType=yaml", "auth": True}
        yield method, path, "jsonp=1x", {"query": "?jsonp=1x", "auth": True}
        if operation.get("security") and {} not in operation["security"]:  # {}: the token is optional
            yield method, path, "no token", {"auth": False}
            yield method, path, "unknown token", {"auth": "Bearer not-a-token"}
        if "{namespace}" in path:
            yield method, path, "namespace video", {"namespace": "video", "auth": True}
        if "requestBody" in operation:
            yield method, path, "empty body", {"auth": True, "body": b"", "type": "application/json"}
            yield method, path, "text body", {"auth": True, "body": b"hello", "type": "text/plain"}
            yield method, path, "broken JSON", {"auth": True, "body": b"{", "type": "application/json"}
            yield method, path, "broken XML", {"auth": True, "body": b"<TrackActionRequest", "type": "application/xml"}
            yield method, path, "huge body", {"auth": True, "body": b" " * 2_000_000, "type": "application/json"}


ERROR_CASES = list(_error_cases())


def operation_type(documented_response):
    return documented_response["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]


def _assert_documented_error(document, method, path, response):
    operation = document["paths"][path][method]
    documented_response = operation["responses"].get(str(response.status_code))
    assert documented_response is not None, f"status {response.status_code} is not documented"
    body = response.get_json()
    code = body["Error"]["ErrorCode"]
    assert code in documented_response["x-error-codes"]
    example = documented_response["content"]["application/json"]["examples"][code]["value"]
    # Only Error, beside the members the response type writes in every answer (UserProfileResponse).
    assert list(body) == list(example) and "Error" in body
    assert set(body) - {"Error"} == set(ERROR_COMPANIONS.get(operation_type(documented_response), {}))
    assert body["Error"]["Description"] == example["Error"]["Description"]
    _validator(document, documented_response["content"]["application/json"]["schema"]).validate(body)


@pytest.mark.parametrize("method,path,case,request_parts", ERROR_CASES, ids=[f"{c[1]}-{c[2]}" for c in ERROR_CASES])
def test_groove_error_answers_are_documented(app, client, store, alice, method, path, case, request_parts):
    url = _concrete(path).replace("/music/", "/" + request_parts.get("namespace", "music") + "/")
    url += request_parts.get("query", "")
    headers = {"Accept": "application/json"}
    if request_parts["auth"] is True:
        headers.update(alice.headers)
    elif request_parts["auth"]:
        headers["Authorization"] = request_parts["auth"]
    body = request_parts.get("body", json.dumps({"TrackIds": [TRACK_A]}).encode())
    headers["Content-Type"] = request_parts.get("type", "application/json")
    before = store.snapshot()
    response = client.open(url, method=method.upper(), headers=headers, data=body)
    assert response.status_code >= 400
    _assert_documented_error(openapi.document(app), method, path, response)
    assert store.snapshot() == before


@pytest.mark.parametrize(
    "track_ids,status",
    [
        ([], 400),
        (None, 400),
        ("music.A83EB907-0100-11DB-89CA-0019B92A3933", 400),
        ([TRACK_A] * 101, 400),
    ],
    ids=["empty list", "null", "not a list", "101 ids"],
)
def test_add_request_errors_are_documented(app, client, store, alice, track_ids, status):
    before = store.snapshot()
    response = client.post("/1/content/music/collection/add", json={"TrackIds": track_ids}, headers=alice.headers)
    assert response.status_code == status
    _assert_documented_error(openapi.document(app), "post", "/1/content/{namespace}/collection/add", response)
    assert store.snapshot() == before


def test_add_item_errors_are_documented(app, client, alice):
    response = client.post(
        "/1/content/music/collection/add", json={"TrackIds": [UNKNOWN_TRACK, TRACK_A, 42]}, headers=alice.headers
    )
    assert response.status_code == 200
    success = openapi.document(app)["paths"]["/1/content/{namespace}/collection/add"]["post"]["responses"]["200"]
    body = response.get_json()
    _validator(openapi.document(app), success["content"]["application/json"]["schema"]).validate(body)
    assert body["Error"]["ErrorCode"] in success["x-error-codes"]
    failed = [result["Error"]["ErrorCode"] for result in body["TrackActionResults"] if "Error" in result]
    assert len(failed) == 2
    assert set(failed) <= set(success["x-item-error-codes"])


@pytest.mark.parametrize("namespace", ["2013", "2016"])
def test_add_xml_answer_follows_the_documented_xml_names_and_order(app, client, alice, namespace):
    document = openapi.document(app)
    request_example = document["paths"]["/1/content/{namespace}/collection/add"]["post"]["requestBody"]["content"][
        "application/xml"
    ]["examples"][f"seed 003 ({namespace})"]["value"]
    response = client.post(
        "/1/content/music/collection/add",
        data=request_example.encode(),
        headers={**alice.headers, "Content-Type": "application/xml"},
    )
    assert response.status_code == 200
    root = etree.fromstring(response.data)
    schemas = document["components"]["schemas"]

    def check(element, name):
        component = schemas[name]
        assert etree.QName(element).namespace == NAMESPACES[namespace]
        members = [etree.QName(child).localname for child in element]
        order = component["x-xml-order"][namespace]
        assert members == [member for member in order if member in members]
        for child in element:
            schema = component["properties"][etree.QName(child).localname]
            if "$ref" in schema:
                check(child, schema["$ref"].rsplit("/", 1)[-1])
            elif "$ref" in schema.get("items", {}):
                for item in child:
                    item_name = schema["items"]["$ref"].rsplit("/", 1)[-1]
                    assert etree.QName(item).localname == schemas[item_name]["xml"]["name"]
                    check(item, item_name)

    assert etree.QName(root).localname == schemas["TrackActionResponse"]["xml"]["name"]
    check(root, "TrackActionResponse")


def test_healthz_answer_matches_its_schema(app, client):
    response = client.get("/healthz")
    schema = openapi.document(app)["paths"]["/healthz"]["get"]["responses"]["200"]["content"]["application/json"]
    _validator(openapi.document(app), schema["schema"]).validate(response.get_json())


# ---------------------------------------------------------------------------------------------------------
# The declaration mechanism, as routes still to be written will use it


class EchoSchema(Schema):
    track_id = fields.String(required=True, metadata={"description": "A track id (mtrack_...)."})


def _app_with(database_path, blueprint):
    app = create_app({"DATABASE": str(database_path)})
    app.register_blueprint(blueprint)
    return app


def test_a_v1_route_plugs_in_by_declaring_itself(database_path, users):
    blueprint = Blueprint("v1test", __name__)

    @blueprint.route("/v1/music/<organization_id>/collections/<collection_id>/echo", methods=["POST"])
    @documented(
        "Echo a track id",
        request=EchoSchema,
        responses={200: EchoSchema},
        parameters=[{"in": "path", "name": "collection_id", "description": "The collection id (mcoll_)."}],
    )
    def add_track(organization_id, collection_id):
        return {}

    app = _app_with(database_path, blueprint)
    assert openapi.undocumented_routes(app) == []
    document = openapi.document(app)
    validate(document)
    operation = document["paths"]["/v1/music/{organization_id}/collections/{collection_id}/echo"]["post"]
    assert operation["tags"] == ["v1"]
    assert operation["security"] == [{"apiKey": []}, {"bearer": []}]
    assert [p["name"] for p in operation["parameters"]] == ["organization_id", "collection_id"]
    assert operation["parameters"][1]["description"] == "The collection id (mcoll_)."
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Echo"}
    assert document["components"]["schemas"]["Echo"]["required"] == ["track_id"]


def _groove_app(database_path, **declaration):
    blueprint = Blueprint("groovetest", __name__)

    @blueprint.route("/1/content/<namespace>/collection/frobnicate", methods=["POST"])
    @documented("Frobnicate", **declaration)
    @web.groove_endpoint("TrackActionResponse")
    def frobnicate(namespace):
        return ""

    return _app_with(database_path, blueprint)


@pytest.mark.parametrize(
    "declaration,message",
    [
        ({"responses": {200: "TrackActionResponse", 400: ["NO_SUCH_CODE"]}}, "NO_SUCH_CODE"),
        ({"responses": {200: "NoSuchObject"}}, "NoSuchObject"),
        ({"request": "TrackActionResponse", "responses": {200: "TrackActionResponse"}}, "TrackActionResponseSchema"),
        ({"responses": {200: "TrackActionResponse"}, "security": ["basic"]}, "basic"),
    ],
    ids=["unknown code", "unknown object", "request without schema", "unknown security"],
)
def test_a_wrong_declaration_names_the_route_and_the_fix(database_path, users, declaration, message):
    app = _groove_app(database_path, **declaration)
    with pytest.raises(DocumentationError, match=message) as raised:
        openapi.build_document(app)
    assert "/1/content/{namespace}/collection/frobnicate" in str(raised.value)


@pytest.mark.parametrize(
    "arguments",
    [
        {"summary": "", "responses": {200: "TrackActionResponse"}},
        {"summary": "x", "responses": {}},
        {"summary": "x", "responses": {999: "TrackActionResponse"}},
        {"summary": "x", "responses": {200: 42}},
        {"summary": "x", "responses": {200: "TrackActionResponse"}, "examples": {404: {}}},
        {"summary": "x", "responses": {200: "TrackActionResponse"}, "parameters": ["contentType"]},
    ],
    ids=["no summary", "no responses", "bad status", "bad body", "example of no response", "bad parameter"],
)
def test_documented_refuses_a_malformed_declaration(arguments):
    summary = arguments.pop("summary")
    with pytest.raises(DocumentationError):
        documented(summary, **arguments)
