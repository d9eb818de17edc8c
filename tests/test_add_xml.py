"""POST /1/content/music/collection/add with DataContract XML: both namespaces, both TrackIds item forms,
DataContract element order, response format precedence, and XML error bodies; every answer validated
against the published XSD or JSON Schema."""

import os
import re

import pytest

from conftest import ROOT, TRACK_A, TRACK_B, TRACK_C, UNKNOWN_TRACK
from contract_schemas import (
    NS_2013,
    NS_2016,
    NS_ARRAYS,
    NS_INSTANCE,
    assert_entry_id_shape,
    child,
    element_names,
    validate_answer,
    validate_xml,
)

ADD = "/1/content/music/collection/add"
EXAMPLES = os.path.join(ROOT, "examples", "groove")
NAMESPACES = {"2013": NS_2013, "2016": NS_2016, "none": None}


def example(name):
    with open(os.path.join(EXAMPLES, name), "rb") as handle:
        return handle.read()


def request_xml(track_ids, namespace=NS_2013, form="arrays", prefix="d2p1"):
    """A TrackActionRequest in ``namespace`` (None: no namespace) with items in one of the forms seen in the wild:
    ``arrays`` (seed 003: ``<d2p1:string>`` in the arrays namespace), ``TrackId`` (SDK TrackIdList, contract
    namespace) or ``mixed`` (alternating)."""
    default = f' xmlns="{namespace}"' if namespace else ""
    items = []
    for index, track_id in enumerate(track_ids):
        if form == "arrays" or (form == "mixed" and index % 2 == 0):
            items.append(f"<{prefix}:string>{track_id}</{prefix}:string>")
        else:
            items.append(f"<TrackId>{track_id}</TrackId>")
    return (
        f'<TrackActionRequest xmlns:i="{NS_INSTANCE}"{default}>'
        f'<TrackIds xmlns:{prefix}="{NS_ARRAYS}">{"".join(items)}</TrackIds></TrackActionRequest>'
    ).encode("utf-8")


def post_xml(client, body, user=None, *, path=ADD, headers=None, content_type="application/xml"):
    all_headers = dict(user.headers if user is not None else {})
    all_headers["Content-Type"] = content_type
    all_headers.update(headers or {})
    return client.post(path, data=body, headers=all_headers)


def xml_answer(response, namespace, status=200):
    """Assert an XML answer in ``namespace``, valid against its XSD; return the root element."""
    assert response.status_code == status, response.data
    assert response.headers["Content-Type"] == "application/xml; charset=utf-8"
    root = validate_xml(response.data)
    assert root.nsmap[None] == namespace
    assert root.nsmap["i"] == NS_INSTANCE
    return root


def results_of(root):
    results = child(root, "TrackActionResults")
    return [] if results is None else list(results)


def text(element, name):
    found = child(element, name)
    return None if found is None else found.text


def stored_tracks(store, user):
    return store.collection_track_ids(store.user(user.user_id)["library_id"])


def track_rows(store, *catalog_ids):
    import uuid

    guids = {uuid.UUID(catalog_id[6:]).bytes: catalog_id for catalog_id in catalog_ids}
    found = store.tracks_by_guid(organization_id=1, guids=list(guids))
    return [found[uuid.UUID(catalog_id[6:]).bytes] for catalog_id in catalog_ids]


def compact_xml(document):
    return re.sub(rb">\s+<", b"><", document.strip())


# ---------------------------------------------------------------------------------------------------------
# The seed's request and the SDK's


def test_seed_xml_example(client, store, alice):
    response = post_xml(client, example("add-request-2013.xml"), alice)
    root = xml_answer(response, NS_2013)
    (result,) = results_of(root)
    new_id = text(result, "Id")
    assert_entry_id_shape(new_id, TRACK_B)
    seed = compact_xml(example("add-response-2013.xml"))
    # Byte for byte the seed's answer, with the collection id this install minted.
    assert response.data == seed.replace(b"music.AQQfuiqlXWaDzk-j0Ht9qB6EWwe1P4cAAQ", new_id.encode())
    assert stored_tracks(store, alice) == track_rows(store, TRACK_B)


def test_sdk_2016_example_is_answered_in_2016_in_datacontract_order(client, store, alice):
    root = xml_answer(post_xml(client, example("add-request-2016.xml"), alice), NS_2016)
    assert element_names(root) == ["Error", "TrackActionResults"]
    error = child(root, "Error")
    assert element_names(error) == ["Description", "ErrorCode"]
    assert [element.text for element in error] == ["Some of the operations failed", "COLLECTION-SOME-OPERATIONS-FAILED"]
    success, failure = results_of(root)
    assert element_names(success) == ["Id", "InputId"]
    assert element_names(failure) == ["Error", "InputId"]
    assert element_names(child(failure, "Error")) == ["Description", "ErrorCode", "Message"]
    assert [element.text for element in child(failure, "Error")] == [
        "Invalid collection id for this operation",
        "COLLECTION-INVALID-ID",
        "Collection ErrorCode=ArgumentInvalid, Details=ContentId",
    ]
    assert text(success, "InputId") == TRACK_A
    assert text(failure, "InputId") == "music.00000000-0000-0000-0000-000000000001"
    assert_entry_id_shape(text(success, "Id"), TRACK_A)
    assert stored_tracks(store, alice) == track_rows(store, TRACK_A)


@pytest.mark.parametrize("namespace", ["2013", "2016", "none"])
@pytest.mark.parametrize("form", ["arrays", "TrackId", "mixed"])
def test_item_forms_in_every_namespace(client, store, alice, namespace, form):
    batch = [TRACK_A, UNKNOWN_TRACK.lower(), TRACK_C, TRACK_A]
    response = post_xml(client, request_xml(batch, NAMESPACES[namespace], form), alice)
    # A request in no namespace is answered in the default (2013) namespace.
    root = xml_answer(response, NAMESPACES[namespace] or NS_2013)
    assert element_names(root) == ["Error", "TrackActionResults"]
    results = results_of(root)
    assert [etree_name(result) for result in results] == ["TrackActionResult"] * 4
    assert [text(result, "InputId") for result in results] == [TRACK_A, UNKNOWN_TRACK, TRACK_C, TRACK_A]
    assert [element_names(result) for result in results] == [
        ["Id", "InputId"], ["Error", "InputId"], ["Id", "InputId"], ["Id", "InputId"]
    ]
    assert text(results[0], "Id") == text(results[3], "Id")
    assert stored_tracks(store, alice) == track_rows(store, TRACK_A, TRACK_C)


def etree_name(element):
    from lxml import etree

    return etree.QName(element).localname


@pytest.mark.parametrize("prefix", ["d2p1", "a", "arr"])
def test_prefixes_carry_no_meaning(client, store, alice, prefix):
    root = xml_answer(post_xml(client, request_xml([TRACK_C], NS_2013, "arrays", prefix), alice), NS_2013)
    assert text(results_of(root)[0], "InputId") == TRACK_C
    assert stored_tracks(store, alice) == track_rows(store, TRACK_C)


@pytest.mark.parametrize("content_type", ["application/xml", "text/xml", "application/xml; charset=utf-8"])
def test_xml_content_types(client, store, alice, content_type):
    xml_answer(post_xml(client, example("add-request-2013.xml"), alice, content_type=content_type), NS_2013)
    assert stored_tracks(store, alice) == track_rows(store, TRACK_B)


def test_xml_declaration_and_whitespace_are_accepted(client, store, alice):
    body = b'<?xml version="1.0" encoding="utf-8"?>\n' + example("add-request-2016.xml")
    xml_answer(post_xml(client, body, alice), NS_2016)
    assert stored_tracks(store, alice) == track_rows(store, TRACK_A)


def test_nil_item_fails_alone(client, store, alice):
    body = (
        f'<TrackActionRequest xmlns:i="{NS_INSTANCE}" xmlns="{NS_2013}"><TrackIds xmlns:d2p1="{NS_ARRAYS}">'
        f'<d2p1:string i:nil="true"/><d2p1:string>{TRACK_A}</d2p1:string></TrackIds></TrackActionRequest>'
    ).encode()
    root = xml_answer(post_xml(client, body, alice), NS_2013)
    nil, good = results_of(root)
    assert element_names(nil) == ["Error"]
    assert text(child(nil, "Error"), "ErrorCode") == "COLLECTION-INVALID-ID"
    assert text(good, "InputId") == TRACK_A
    assert stored_tracks(store, alice) == track_rows(store, TRACK_A)


def test_text_is_escaped_in_answers(client, store, alice):
    body = request_xml(["music.&lt;b&gt;&amp;", TRACK_A], NS_2013, "TrackId")
    response = post_xml(client, body, alice)
    root = xml_answer(response, NS_2013)
    assert text(results_of(root)[0], "InputId") == "music.<b>&"
    assert b"music.&lt;b&gt;&amp;" in response.data


# ---------------------------------------------------------------------------------------------------------
# Response format: contentType, then Accept, then the body's format, then JSON


@pytest.mark.parametrize(
    "body_format, accept, query, settings, expected",
    [
        ("xml2013", None, "", {}, ("xml", NS_2013)),
        ("xml2016", None, "", {}, ("xml", NS_2016)),
        ("xml2013", "*/*", "", {}, ("xml", NS_2013)),
        ("xml2016", "*/*", "", {}, ("xml", NS_2016)),
        ("xml2013", "application/json", "", {}, ("json", None)),
        ("xml2016", "text/json", "", {}, ("json", None)),
        ("xml2016", "application/xml", "", {}, ("xml", NS_2016)),
        ("json", "application/xml", "", {}, ("xml", NS_2013)),
        ("json", "text/xml", "", {}, ("xml", NS_2013)),
        ("json", "application/xml", "", {"XML_DEFAULT_NAMESPACE": "2016"}, ("xml", NS_2016)),
        ("xml2013", None, "", {"XML_DEFAULT_NAMESPACE": "2016"}, ("xml", NS_2013)),
        ("json", None, "", {}, ("json", None)),
        ("json", "*/*", "", {}, ("json", None)),
        ("json", "application/json;q=0.5, application/xml", "", {}, ("xml", NS_2013)),
        ("json", "application/xml;q=0.2, application/json", "", {}, ("json", None)),
        ("json", "text/html, */*;q=0.1", "", {}, ("json", None)),
        ("xml2013", "application/json", "?contentType=xml", {}, ("xml", NS_2013)),
        ("xml2016", "application/json", "?contentType=xml", {}, ("xml", NS_2016)),
        ("json", "application/json", "?contentType=xml", {}, ("xml", NS_2013)),
        ("xml2013", "application/xml", "?contentType=json", {}, ("json", None)),
        ("json", "application/xml", "?contenttype=JSON", {}, ("json", None)),
    ],
)
def test_response_format_precedence(make_client, store, alice, body_format, accept, query, settings, expected):
    client = make_client(**settings)
    headers = dict(alice.headers)
    if accept is not None:
        headers["Accept"] = accept
    if body_format == "json":
        response = client.post(ADD + query, json={"TrackIds": [TRACK_A, UNKNOWN_TRACK]}, headers=headers)
    else:
        namespace = NS_2013 if body_format == "xml2013" else NS_2016
        response = post_xml(client, request_xml([TRACK_A, UNKNOWN_TRACK], namespace), headers=headers, path=ADD + query)
    assert response.status_code == 200
    fmt, document = validate_answer(response)
    assert fmt == expected[0]
    if fmt == "xml":
        assert document.nsmap[None] == expected[1]
        assert [text(result, "InputId") for result in results_of(document)] == [TRACK_A, UNKNOWN_TRACK]
    else:
        assert [result["InputId"] for result in document["TrackActionResults"]] == [TRACK_A, UNKNOWN_TRACK]
        assert document["Error"]["ErrorCode"] == "COLLECTION-SOME-OPERATIONS-FAILED"
    assert stored_tracks(store, alice) == track_rows(store, TRACK_A)


# ---------------------------------------------------------------------------------------------------------
# Every error has a TrackActionResponse body in the chosen format


def _no_auth(user):
    return {}


ERROR_CASES = {
    # name: (body items or raw body, headers builder, status, code)
    "missing-token": ([TRACK_A], _no_auth, 401, "INVALID-AUTHORIZATION-HEADER"),
    "unknown-token": ([TRACK_A], lambda user: {"Authorization": "Bearer gct_unknown"}, 401, "INVALID-AUTHORIZATION-HEADER"),
    "too-many": ([TRACK_A] * 101, lambda user: user.headers, 400, "COLLECTION-INVALID-OPERATION"),
    "empty": ([], lambda user: user.headers, 400, "MISSING-INPUT-PARAMETER"),
    "malformed": (None, lambda user: user.headers, 400, "INVALID-INPUT-PARAMETER"),
}


@pytest.mark.parametrize("case", list(ERROR_CASES))
@pytest.mark.parametrize("namespace", ["2013", "2016"])
@pytest.mark.parametrize("accept", [None, "*/*", "application/xml"])
def test_errors_to_xml_requests_are_xml_in_the_request_namespace(client, store, alice, case, namespace, accept):
    items, headers_of, status, code = ERROR_CASES[case]
    if items is None:
        body = request_xml([TRACK_A], NAMESPACES[namespace])[:-10]  # cut inside the closing tag
    else:
        body = request_xml(items, NAMESPACES[namespace])
    headers = headers_of(alice)
    if accept is not None:
        headers["Accept"] = accept
    before = store.snapshot()
    response = post_xml(client, body, headers=headers)
    root = xml_answer(response, NAMESPACES[namespace], status)
    assert element_names(root) == ["Error"]
    error = child(root, "Error")
    assert element_names(error) == ["Description", "ErrorCode", "Message"]
    assert text(error, "ErrorCode") == code
    assert store.snapshot() == before


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_errors_to_xml_requests_follow_accept_json(client, store, alice, case):
    items, headers_of, status, code = ERROR_CASES[case]
    body = request_xml([TRACK_A], NS_2016)[:-10] if items is None else request_xml(items, NS_2016)
    before = store.snapshot()
    response = post_xml(client, body, headers=dict(headers_of(alice), Accept="application/json"))
    assert response.status_code == status
    fmt, document = validate_answer(response)
    assert fmt == "json"
    assert list(document) == ["Error"] and document["Error"]["ErrorCode"] == code
    assert store.snapshot() == before


@pytest.mark.parametrize("case", list(ERROR_CASES))
@pytest.mark.parametrize("how", ["accept", "query"])
def test_errors_to_json_requests_asking_for_xml_are_xml_2013(client, store, alice, case, how):
    items, headers_of, status, code = ERROR_CASES[case]
    body = b'{"TrackIds": [' if items is None else None
    headers = headers_of(alice)
    path = ADD
    if how == "accept":
        headers["Accept"] = "application/xml"
    else:
        path += "?contentType=xml"
    before = store.snapshot()
    if body is None:
        response = client.post(path, json={"TrackIds": items}, headers=headers)
    else:
        response = client.post(path, data=body, headers=dict(headers, **{"Content-Type": "application/json"}))
    root = xml_answer(response, NS_2013, status)
    assert element_names(root) == ["Error"]
    assert text(child(root, "Error"), "ErrorCode") == code
    assert store.snapshot() == before


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
@pytest.mark.parametrize("how", ["accept", "query"])
def test_405_in_xml(client, store, alice, method, how):
    before = store.snapshot()
    if how == "accept":
        response = client.open(ADD, method=method, headers=dict(alice.headers, Accept="application/xml"))
    else:
        response = client.open(ADD + "?contentType=xml", method=method, headers=alice.headers)
    root = xml_answer(response, NS_2013, 405)
    assert element_names(root) == ["Error"]
    assert text(child(root, "Error"), "ErrorCode") == "COLLECTION-INVALID-OPERATION"
    assert store.snapshot() == before


@pytest.mark.parametrize("root_name", ["TrackActionResponse", "PlaylistAction", "Foo"])
def test_a_wrong_root_element_is_refused(client, store, alice, root_name):
    body = request_xml([TRACK_A], NS_2013).replace(b"TrackActionRequest", root_name.encode())
    before = store.snapshot()
    root = xml_answer(post_xml(client, body, alice), NS_2013, 400)
    assert text(child(root, "Error"), "ErrorCode") == "INVALID-INPUT-PARAMETER"
    assert store.snapshot() == before


def test_a_foreign_root_namespace_is_refused(client, store, alice):
    body = request_xml([TRACK_A], "urn:example:other")
    before = store.snapshot()
    response = post_xml(client, body, alice)
    assert response.status_code == 400
    fmt, root = validate_answer(response)
    assert fmt == "xml"
    assert text(child(root, "Error"), "ErrorCode") == "INVALID-INPUT-PARAMETER"
    assert store.snapshot() == before
