"""POST /1/content/music/collection/add with JSON bodies: seed 003 replayed, ids, idempotency, limits,
capacity, error spelling, path and parameter casing; the database checked after every request."""

import csv
import json
import os
import uuid

import pytest

from conftest import ROOT, TRACK_A, TRACK_B, TRACK_C, UNKNOWN_TRACK
from contract_schemas import assert_entry_id_shape, validate_answer, validate_json

ADD = "/1/content/music/collection/add"
EXAMPLES = os.path.join(ROOT, "examples", "groove")

with open(os.path.join(ROOT, "examples", "sample_catalog.csv"), encoding="utf-8") as _handle:
    CATALOG = [row["id"] for row in csv.DictReader(_handle)]

INVALID_ID = {
    "ErrorCode": "COLLECTION-INVALID-ID",
    "Description": "Invalid collection id for this operation",
    "Message": "Collection ErrorCode=ArgumentInvalid, Details=ContentId",
}
SOME_FAILED = {"ErrorCode": "COLLECTION-SOME-OPERATIONS-FAILED", "Description": "Some of the operations failed"}
TOO_MANY_BODY = (
    b'{"Error":{"ErrorCode":"COLLECTION-INVALID-OPERATION","Description":"This operation is not supported",'
    b'"Message":"Number of tracks for this operation is limited to 100"}}'
)


def example(name):
    with open(os.path.join(EXAMPLES, name), "rb") as handle:
        return handle.read()


def compact(document):
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def post(client, body, user=None, *, path=ADD, headers=None):
    """POST ``body`` (a JSON-able object, or bytes sent as application/json)."""
    all_headers = dict(user.headers if user is not None else {})
    all_headers.update(headers or {})
    if isinstance(body, bytes):
        all_headers.setdefault("Content-Type", "application/json")
        return client.post(path, data=body, headers=all_headers)
    return client.post(path, json=body, headers=all_headers)


def answer(response, status=200):
    """Assert status and JSON type, validate against the JSON Schema, return the document."""
    assert response.status_code == status, response.data
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    return validate_json(response.data)


def track_row(store, catalog_id):
    guid = uuid.UUID(catalog_id[len("music."):]).bytes
    return store.tracks_by_guid(organization_id=1, guids=[guid])[guid]


def library_of(store, user):
    return store.user(user.user_id)["library_id"]


def entries(store, user):
    """``[(catalog track row, position)]`` of the user's library, in position order."""
    return store.connection.execute(
        "SELECT track_id, position FROM entries WHERE collection_id = ? ORDER BY position",
        (library_of(store, user),),
    ).fetchall()


def stored_tracks(store, user):
    return [track_id for track_id, _ in entries(store, user)]


def rows(store, *catalog_ids):
    return [track_row(store, catalog_id) for catalog_id in catalog_ids]


# ---------------------------------------------------------------------------------------------------------
# Seed 003 replayed


def test_seed_first_example(client, store, alice):
    response = post(client, example("add-request.json"), alice)
    document = answer(response)
    new_id = document["TrackActionResults"][1]["Id"]
    expected = json.loads(example("add-response.json"))
    seed_id = expected["TrackActionResults"][1]["Id"]
    # The collection id is minted by this install (contract 5: same shape, different bytes); all else is the seed's.
    expected["TrackActionResults"][1]["Id"] = new_id
    assert response.data == compact(expected)
    assert_entry_id_shape(new_id, TRACK_A)
    assert new_id != seed_id
    assert document["TrackActionResults"][0] == {"InputId": UNKNOWN_TRACK, "Error": INVALID_ID}
    assert "Message" not in document["Error"]
    assert entries(store, alice) == [(track_row(store, TRACK_A), 0)]


@pytest.mark.parametrize(
    "seed_id, catalog_id",
    [
        ("music.AQQfZ78ml185KUqtiDc9dx6i6Ae5PqgAAQ", "music.A83EB907-0100-11DB-89CA-0019B92A3933"),
        ("music.AQQfuiqlXWaDzk-j0Ht9qB6EWwe1P4cAAQ", "music.873FB507-0100-11DB-89CA-0019B92A3933"),
    ],
)
def test_the_shape_check_holds_for_the_seeds_own_ids(seed_id, catalog_id):
    assert_entry_id_shape(seed_id, catalog_id)


@pytest.mark.parametrize("other", [TRACK_B, TRACK_C])
def test_the_shape_check_rejects_another_tracks_tail(other):
    with pytest.raises(AssertionError):
        assert_entry_id_shape("music.AQQfZ78ml185KUqtiDc9dx6i6Ae5PqgAAQ", other)


@pytest.mark.parametrize("catalog_id", CATALOG[:6])
def test_minted_ids_have_the_contract_shape(client, store, codec, alice, catalog_id):
    document = answer(post(client, {"TrackIds": [catalog_id]}, alice))
    (result,) = document["TrackActionResults"]
    assert result["InputId"] == catalog_id
    assert_entry_id_shape(result["Id"], catalog_id)
    # The id names this user's library and this catalog track.
    assert codec.parse_entry_id(result["Id"])[:2] == (library_of(store, alice), track_row(store, catalog_id))
    assert "Error" not in document


def test_seed_too_many_example_is_accepted_by_default(client, store, alice):
    """Project decision 2: the seed's "too many" request holds exactly 100 ids, which the documented limit allows."""
    document = answer(post(client, example("add-request-too-many.json"), alice))
    results = document["TrackActionResults"]
    assert len(results) == 100
    assert {result["InputId"] for result in results} == {TRACK_A}
    assert len({result["Id"] for result in results}) == 1
    assert "Error" not in document
    assert entries(store, alice) == [(track_row(store, TRACK_A), 0)]


def test_seed_too_many_example_is_refused_with_a_threshold_of_99(make_client, store, alice):
    before = store.snapshot()
    response = post(make_client(MAX_BATCH_SIZE=99), example("add-request-too-many.json"), alice)
    document = answer(response, 400)
    assert document == {
        "Error": {
            "ErrorCode": "COLLECTION-INVALID-OPERATION",
            "Description": "This operation is not supported",
            "Message": "Number of tracks for this operation is limited to 99",
        }
    }
    assert store.snapshot() == before


# ---------------------------------------------------------------------------------------------------------
# The batch limit and missing input


@pytest.mark.parametrize("count", [1, 2, 99, 100])
def test_up_to_100_ids_are_accepted(client, store, alice, count):
    track_ids = [CATALOG[index % len(CATALOG)] for index in range(count)]
    document = answer(post(client, {"TrackIds": track_ids}, alice))
    assert [result["InputId"] for result in document["TrackActionResults"]] == track_ids
    assert "Error" not in document
    distinct = list(dict.fromkeys(track_ids))
    assert entries(store, alice) == [(row, position) for position, row in enumerate(rows(store, *distinct))]


@pytest.mark.parametrize("count", [101, 102, 500])
def test_more_than_100_ids_are_refused_with_the_seed_body(client, store, alice, count):
    before = store.snapshot()
    response = post(client, {"TrackIds": [TRACK_A] * count}, alice)
    answer(response, 400)
    assert response.data == TOO_MANY_BODY
    assert store.snapshot() == before


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"TrackIds": []},
        {"TrackIds": None},
        {"TrackId": [TRACK_A]},
        {"Ids": [TRACK_A]},
    ],
    ids=["no-members", "empty-list", "null", "misspelt-member", "other-member"],
)
def test_missing_or_empty_track_ids(client, store, alice, body):
    before = store.snapshot()
    document = answer(post(client, body, alice), 400)
    assert list(document) == ["Error"]
    assert document["Error"]["ErrorCode"] == "MISSING-INPUT-PARAMETER"
    assert document["Error"]["Description"] == "Missing or empty mandatory parameter"
    assert store.snapshot() == before


@pytest.mark.parametrize("member", ["trackids", "TRACKIDS", "trackIds"])
def test_member_names_are_read_case_insensitively(client, store, alice, member):
    """Json.NET reads member names case-insensitively, so such bodies worked against Groove."""
    document = answer(post(client, {member: [TRACK_A]}, alice))
    assert document["TrackActionResults"][0]["InputId"] == TRACK_A
    assert stored_tracks(store, alice) == rows(store, TRACK_A)


# ---------------------------------------------------------------------------------------------------------
# Idempotency and stable ids


def test_adding_again_returns_the_same_id_and_stores_one_row(client, store, alice):
    first = answer(post(client, {"TrackIds": [TRACK_A]}, alice))
    state = store.collection(library_of(store, alice))
    second = answer(post(client, {"TrackIds": [TRACK_A]}, alice))
    assert second == first
    assert entries(store, alice) == [(track_row(store, TRACK_A), 0)]
    # Nothing changed, so the collection's version did not move either.
    assert store.collection(library_of(store, alice))["version"] == state["version"]


@pytest.mark.parametrize(
    "batch, distinct",
    [
        ([TRACK_A, TRACK_A], [TRACK_A]),
        ([TRACK_A, TRACK_B, TRACK_A, TRACK_A], [TRACK_A, TRACK_B]),
        ([TRACK_B, TRACK_A, TRACK_B, TRACK_C, TRACK_A], [TRACK_B, TRACK_A, TRACK_C]),
    ],
)
def test_repeated_ids_in_one_batch(client, store, alice, batch, distinct):
    document = answer(post(client, {"TrackIds": batch}, alice))
    results = document["TrackActionResults"]
    assert [result["InputId"] for result in results] == batch
    id_of = {}
    for result in results:
        assert id_of.setdefault(result["InputId"], result["Id"]) == result["Id"]
    assert len(set(id_of.values())) == len(distinct)
    assert entries(store, alice) == [(row, position) for position, row in enumerate(rows(store, *distinct))]


def test_mixed_case_duplicates_are_one_track(client, store, alice):
    guid = TRACK_A[len("music."):]
    spellings = [TRACK_A, "music." + guid.lower(), "music." + guid[:8].lower() + guid[8:], TRACK_A]
    document = answer(post(client, {"TrackIds": spellings}, alice))
    results = document["TrackActionResults"]
    assert [result["InputId"] for result in results] == [TRACK_A] * 4
    assert len({result["Id"] for result in results}) == 1
    assert entries(store, alice) == [(track_row(store, TRACK_A), 0)]


def test_ids_are_stable_per_user_and_track(client, store, alice, bob):
    alice_first = answer(post(client, {"TrackIds": [TRACK_A, TRACK_B]}, alice))["TrackActionResults"]
    bob_first = answer(post(client, {"TrackIds": [TRACK_A]}, bob))["TrackActionResults"]
    alice_again = answer(post(client, {"TrackIds": [TRACK_B, TRACK_A]}, alice))["TrackActionResults"]
    assert alice_first[0]["Id"] != alice_first[1]["Id"]  # two tracks, two ids
    assert bob_first[0]["Id"] != alice_first[0]["Id"]  # two users, two ids for one track
    assert_entry_id_shape(bob_first[0]["Id"], TRACK_A)
    assert [alice_again[1]["Id"], alice_again[0]["Id"]] == [alice_first[0]["Id"], alice_first[1]["Id"]]
    assert stored_tracks(store, alice) == rows(store, TRACK_A, TRACK_B)
    assert stored_tracks(store, bob) == rows(store, TRACK_A)


def test_an_entry_id_readded_by_its_owner_is_the_same_track(client, store, alice, bob):
    """An id already in the collection (in its collection form) gives the same Id and no second row."""
    entry_id = answer(post(client, {"TrackIds": [TRACK_C]}, alice))["TrackActionResults"][0]["Id"]
    document = answer(post(client, {"TrackIds": [entry_id]}, alice))
    assert document["TrackActionResults"] == [{"InputId": entry_id, "Id": entry_id}]
    assert stored_tracks(store, alice) == rows(store, TRACK_C)
    # Another user cannot use it: it names alice's collection, not a catalog track of bob's.
    before = store.snapshot()
    document = answer(post(client, {"TrackIds": [entry_id]}, bob))
    assert document == {"TrackActionResults": [{"InputId": entry_id, "Error": INVALID_ID}], "Error": SOME_FAILED}
    assert store.snapshot() == before


def test_positions_are_appended_in_request_order_across_requests(client, store, alice):
    answer(post(client, {"TrackIds": [TRACK_C, TRACK_A]}, alice))
    answer(post(client, {"TrackIds": [TRACK_A, CATALOG[5], TRACK_B]}, alice))
    assert entries(store, alice) == list(zip(rows(store, TRACK_C, TRACK_A, CATALOG[5], TRACK_B), range(4)))
    collection = store.collection(library_of(store, alice))
    assert (collection["track_count"], collection["next_position"]) == (4, 4)


# ---------------------------------------------------------------------------------------------------------
# One result per input, in order; bad items


@pytest.mark.parametrize(
    "batch",
    [
        [UNKNOWN_TRACK],
        [TRACK_A, UNKNOWN_TRACK, TRACK_B],
        [UNKNOWN_TRACK, TRACK_C, "music.00000000-0000-0000-0000-000000000001", TRACK_A],
        CATALOG[:10] + [UNKNOWN_TRACK],
    ],
)
def test_one_result_per_input_in_order(client, store, alice, batch):
    document = answer(post(client, {"TrackIds": batch}, alice))
    results = document["TrackActionResults"]
    assert [result["InputId"] for result in results] == batch
    known = [catalog_id for catalog_id in batch if catalog_id in CATALOG]
    for catalog_id, result in zip(batch, results):
        if catalog_id in CATALOG:
            assert set(result) == {"InputId", "Id"}
            assert_entry_id_shape(result["Id"], catalog_id)
        else:
            assert result == {"InputId": catalog_id, "Error": INVALID_ID}
    # Even when every item failed, the answer is 200 with the top-level error (contract 1.1).
    assert document["Error"] == SOME_FAILED
    assert entries(store, alice) == [(row, position) for position, row in enumerate(rows(store, *known))]


@pytest.mark.parametrize(
    "item, input_id",
    [
        (123, "123"),
        (1.5, "1.5"),
        (True, "true"),
        ({"Id": TRACK_A}, '{"Id":"music.A83EB907-0100-11DB-89CA-0019B92A3933"}'),
        ([TRACK_A], '["music.A83EB907-0100-11DB-89CA-0019B92A3933"]'),
        (None, None),
        ("", ""),
        (" ", " "),
        ("music.", "music."),
        ("music", "music"),
        ("A83EB907-0100-11DB-89CA-0019B92A3933", "A83EB907-0100-11DB-89CA-0019B92A3933"),
        ("music.A83EB907-0100-11DB-89CA-0019B92A393Z", "music.A83EB907-0100-11DB-89CA-0019B92A393Z"),
        ("music.A83EB9070100-11DB-89CA-0019B92A3933a", "music.A83EB9070100-11DB-89CA-0019B92A3933a"),
        (" " + TRACK_A, " " + TRACK_A),
        (TRACK_A + "\n", TRACK_A + "\n"),
        ("video." + TRACK_A[6:], "video." + TRACK_A[6:]),
        ("Music." + TRACK_A[6:], "Music." + TRACK_A[6:]),
        ("music.8D6KGX65DHCN", "music.8D6KGX65DHCN"),
        ("music.AQQfZ78ml185KUqtiDc9dx6i6Ae5PqgAAQ", "music.AQQfZ78ml185KUqtiDc9dx6i6Ae5PqgAAQ"),
        ("müsic.☃", "müsic.☃"),
    ],
    ids=lambda value: repr(value)[:40],
)
def test_bad_items_fail_alone(client, store, alice, item, input_id):
    document = answer(post(client, {"TrackIds": [TRACK_B, item, TRACK_C]}, alice))
    first, bad, last = document["TrackActionResults"]
    expected = {"Error": INVALID_ID} if input_id is None else {"InputId": input_id, "Error": INVALID_ID}
    assert bad == expected
    assert first["InputId"] == TRACK_B and "Id" in first
    assert last["InputId"] == TRACK_C and "Id" in last
    assert document["Error"] == SOME_FAILED
    assert stored_tracks(store, alice) == rows(store, TRACK_B, TRACK_C)


@pytest.mark.parametrize(
    "item, message",
    [
        ("music.isrc.XX0000000000", "Collection ErrorCode=ArgumentInvalid, Details=Isrc: no catalog track has this ISRC"),
        ("music.isrc.XX00", "Collection ErrorCode=ArgumentInvalid, Details=Isrc: not a 12-character ISRC (CC-XXX-YY-NNNNN)"),
    ],
)
def test_isrc_items_say_why_they_failed(client, store, alice, item, message):
    """ISRC ids have no Groove wire example: their messages keep the seed's shape and say what to fix."""
    document = answer(post(client, {"TrackIds": [TRACK_B, item]}, alice))
    assert document["TrackActionResults"][1] == {"InputId": item, "Error": {**INVALID_ID, "Message": message}}
    assert document["Error"] == SOME_FAILED
    assert stored_tracks(store, alice) == rows(store, TRACK_B)


@pytest.mark.parametrize("item", [123, None, "", "music.nope", UNKNOWN_TRACK])
def test_a_batch_of_only_bad_items_writes_nothing(client, store, alice, item):
    before = store.snapshot()
    document = answer(post(client, {"TrackIds": [item, item]}, alice))
    assert len(document["TrackActionResults"]) == 2
    assert all(result["Error"] == INVALID_ID for result in document["TrackActionResults"])
    assert document["Error"] == SOME_FAILED
    assert store.snapshot() == before


def test_a_track_of_another_organization_is_unknown(client, store, alice):
    """The catalog is per organization: a GUID imported only for another organization is not the caller's."""
    other = store.create_organization(name="other")
    foreign = "music.11111111-2222-3333-4444-555555555555"
    store.upsert_tracks([(other, uuid.UUID(foreign[6:]).bytes, "Foreign", None, None, None, None, None)])
    before = store.snapshot()
    document = answer(post(client, {"TrackIds": [foreign]}, alice))
    assert document == {"TrackActionResults": [{"InputId": foreign, "Error": INVALID_ID}], "Error": SOME_FAILED}
    assert store.snapshot() == before


# ---------------------------------------------------------------------------------------------------------
# Capacity


def test_items_beyond_capacity_fail_with_collection_full(make_client, store, alice):
    client = make_client(COLLECTION_CAPACITY=3)
    batch = [TRACK_A, TRACK_B, UNKNOWN_TRACK, TRACK_C, CATALOG[4], CATALOG[5], TRACK_A]
    document = answer(post(client, {"TrackIds": batch}, alice))
    results = document["TrackActionResults"]
    assert [result["InputId"] for result in results] == batch
    assert [("Id" in result) for result in results] == [True, True, False, True, False, False, True]
    assert results[2]["Error"] == INVALID_ID
    for result in results[4:6]:
        assert result["Error"]["ErrorCode"] == "COLLECTION-FULL"
        assert result["Error"]["Description"] == "Your collection is full"
    assert results[6]["Id"] == results[0]["Id"]
    assert document["Error"] == SOME_FAILED
    assert entries(store, alice) == list(zip(rows(store, TRACK_A, TRACK_B, TRACK_C), range(3)))

    # Full now: a new track fails, a track already there still answers with its id, nothing is written.
    before = store.snapshot()
    document = answer(post(client, {"TrackIds": [CATALOG[6], TRACK_B]}, alice))
    full, present = document["TrackActionResults"]
    assert full["Error"]["ErrorCode"] == "COLLECTION-FULL"
    assert present == {"InputId": TRACK_B, "Id": results[1]["Id"]}
    assert store.snapshot() == before


def test_capacity_is_per_user(make_client, store, alice, bob):
    client = make_client(COLLECTION_CAPACITY=1)
    answer(post(client, {"TrackIds": [TRACK_A]}, alice))
    document = answer(post(client, {"TrackIds": [TRACK_A]}, bob))
    assert "Error" not in document
    assert stored_tracks(store, alice) == stored_tracks(store, bob) == rows(store, TRACK_A)


# ---------------------------------------------------------------------------------------------------------
# Error-code spelling (Project decisions 1)


@pytest.mark.parametrize(
    "body, headers, status, codes",
    [
        ({"TrackIds": [UNKNOWN_TRACK, TRACK_A]}, None, 200, ["COLLECTION_INVALID_ID", "COLLECTION_SOME_OPERATIONS_FAILED"]),
        ({"TrackIds": [TRACK_A]}, {"Authorization": "Bearer nope"}, 401, ["INVALID_AUTHORIZATION_HEADER"]),
        ({"TrackIds": [TRACK_A] * 101}, None, 400, ["COLLECTION_INVALID_OPERATION"]),
        ({"TrackIds": []}, None, 400, ["MISSING_INPUT_PARAMETER"]),
        ({"TrackIds": "x"}, None, 400, ["INVALID_INPUT_PARAMETER"]),
    ],
    ids=["partial-failure", "unauthorized", "too-many", "missing", "invalid"],
)
@pytest.mark.parametrize("style", ["hyphen", "underscore"])
def test_error_code_spelling_follows_the_setting(make_client, store, alice, style, body, headers, status, codes):
    client = make_client(ERROR_CODE_STYLE=style)
    document = answer(post(client, body, alice, headers=headers), status)
    found = [result["Error"]["ErrorCode"] for result in document.get("TrackActionResults", []) if "Error" in result]
    found.append(document["Error"]["ErrorCode"])
    expected = codes if style == "underscore" else [code.replace("_", "-") for code in codes]
    assert found == expected


def test_the_default_spelling_is_hyphenated(client, alice):
    document = answer(post(client, {"TrackIds": [UNKNOWN_TRACK]}, alice))
    assert document["Error"]["ErrorCode"] == "COLLECTION-SOME-OPERATIONS-FAILED"


# ---------------------------------------------------------------------------------------------------------
# Paths, parameters, namespaces and methods


@pytest.mark.parametrize(
    "path",
    [
        "/1/content/music/collection/add",
        "/1/content/music/collection/Add",
        "/1/content/music/Collection/Add",
        "/1/Content/music/COLLECTION/ADD",
    ],
)
def test_paths_match_case_insensitively(client, store, alice, path):
    document = answer(post(client, {"TrackIds": [TRACK_A]}, alice, path=path))
    assert document["TrackActionResults"][0]["InputId"] == TRACK_A
    assert stored_tracks(store, alice) == rows(store, TRACK_A)


@pytest.mark.parametrize("query", ["contentType=xml", "contenttype=XML", "CONTENTTYPE=Xml", "ContentType=xml"])
def test_query_names_match_case_insensitively(client, store, alice, query):
    response = post(client, {"TrackIds": [TRACK_A]}, alice, path=f"{ADD}?{query}")
    assert response.status_code == 200
    fmt, root = validate_answer(response)
    assert fmt == "xml"
    assert stored_tracks(store, alice) == rows(store, TRACK_A)


@pytest.mark.parametrize("query", ["contentType=json", "contenttype=JSON"])
def test_content_type_parameter_json_wins_over_accept(client, alice, query):
    response = post(client, {"TrackIds": [TRACK_A]}, alice, path=f"{ADD}?{query}", headers={"Accept": "application/xml"})
    answer(response)


@pytest.mark.parametrize("namespace", ["video", "games", "musik", "music2", "xyz"])
@pytest.mark.parametrize("accept", ["application/json", "text/html", "application/xml"])
def test_a_namespace_other_than_music_gets_a_groove_error(client, store, alice, namespace, accept):
    before = store.snapshot()
    response = post(
        client, {"TrackIds": [TRACK_A]}, alice, path=f"/1/content/{namespace}/collection/add", headers={"Accept": accept}
    )
    assert response.status_code == 404
    assert b"<html" not in response.data.lower()
    fmt, document = validate_answer(response)
    assert fmt == ("xml" if accept == "application/xml" else "json")
    if fmt == "json":
        assert list(document) == ["Error"]
        assert document["Error"]["Description"]
    assert store.snapshot() == before


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_other_methods_get_405_with_a_groove_body(client, store, alice, method):
    before = store.snapshot()
    response = client.open(ADD, method=method, headers=alice.headers, json={"TrackIds": [TRACK_A]})
    document = answer(response, 405)
    assert list(document) == ["Error"]
    assert document["Error"]["ErrorCode"] == "COLLECTION-INVALID-OPERATION"
    assert "POST" in response.headers["Allow"]
    assert store.snapshot() == before


@pytest.mark.parametrize("path", ["/1/content/music/collection/ad", "/1/content/music/collections/add", "/1/nothing"])
def test_unknown_groove_paths_get_a_groove_404(client, store, alice, path):
    before = store.snapshot()
    response = post(client, {"TrackIds": [TRACK_A]}, alice, path=path)
    assert response.status_code == 404
    assert list(validate_json(response.data)) == ["Error"]
    assert store.snapshot() == before


# ---------------------------------------------------------------------------------------------------------
# One transaction per batch


def test_an_internal_error_mid_batch_stores_nothing(client, store, alice, monkeypatch):
    original = store.append_entries
    written = []

    def append_then_fail(**kwargs):
        original(**kwargs)
        written.append(store.connection.execute("SELECT COUNT(*) FROM entries").fetchone()[0])
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr(store, "append_entries", append_then_fail)
    before = store.snapshot()
    response = post(client, {"TrackIds": [TRACK_A, TRACK_B]}, alice)
    document = answer(response, 500)
    assert written == [2]  # the rows were in the transaction when it failed
    assert list(document) == ["Error"]
    assert document["Error"]["ErrorCode"] == "INTERNAL-SERVER-ERROR"
    assert response.headers["X-Request-Id"] in document["Error"]["Message"]
    assert store.snapshot() == before

    monkeypatch.undo()
    answer(post(client, {"TrackIds": [TRACK_A, TRACK_B]}, alice))
    assert stored_tracks(store, alice) == rows(store, TRACK_A, TRACK_B)
