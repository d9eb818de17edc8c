"""POST /1/content/{ns}/collection/delete (contract 1.2): collection ids (and catalog ids of tracks in the
collection) out, per-item results with only InputId on success, COLLECTION-INVALID-ID without Message on
failure, partial failure as HTTP 200, the batch limit, JSON and XML in both namespaces."""

import pytest

from groove_helpers import add, browse, sample_catalog
from groove_schemas import NS_2013, NS_2016, call, children, find_all

from conftest import TRACK_A, TRACK_B, TRACK_C, UNKNOWN_TRACK

DELETE = "/1/content/music/collection/delete"
ALL_IDS = [row["id"] for row in sample_catalog()]
SOME_FAILED = {"ErrorCode": "COLLECTION-SOME-OPERATIONS-FAILED", "Description": "Some of the operations failed"}
INVALID_ID = {"ErrorCode": "COLLECTION-INVALID-ID", "Description": "Invalid collection id for this operation"}


def delete(client, user, track_ids):
    return call(client, "POST", DELETE, "TrackActionResponse", headers=user.headers, json_body={"TrackIds": track_ids})


def library_titles(client, user):
    return [item["Name"] for item in browse(client, user, "tracks", "?orderBy=CollectionDate")["Tracks"]["Items"]]


def test_deleting_by_collection_id_answers_input_ids_only(client, alice, store):
    entry_a, entry_b, _ = add(client, alice, [TRACK_A, TRACK_B, TRACK_C])
    version = store.user(alice.user_id)["state_version"]
    response, body = delete(client, alice, [entry_a, entry_b])
    assert response.status_code == 200
    assert response.get_data() == (
        f'{{"TrackActionResults":[{{"InputId":"{entry_a}"}},{{"InputId":"{entry_b}"}}]}}'
    ).encode()
    assert library_titles(client, alice) == ["Lantern Paper"]
    assert store.user(alice.user_id)["state_version"] == version + 1
    assert store.collection(store.user(alice.user_id)["library_id"])["track_count"] == 1


@pytest.mark.parametrize("spelling", [TRACK_A, TRACK_A.lower(), "music." + TRACK_A[6:].lower().replace("a", "A", 2)])
def test_a_catalog_id_of_a_track_in_the_collection_deletes_it(client, alice, spelling):
    add(client, alice, [TRACK_A, TRACK_B])
    response, body = delete(client, alice, [spelling])
    assert body == {"TrackActionResults": [{"InputId": TRACK_A}]}  # GUID ids are echoed upper-cased
    assert library_titles(client, alice) == ["Echo Drift"]


def test_repeating_an_id_succeeds_each_time(client, alice):
    (entry_a,) = add(client, alice, [TRACK_A])
    response, body = delete(client, alice, [entry_a, TRACK_A, entry_a])
    assert body == {"TrackActionResults": [{"InputId": entry_a}, {"InputId": TRACK_A}, {"InputId": entry_a}]}
    assert library_titles(client, alice) == []


@pytest.fixture
def others(client, alice, bob):
    """Ids that name nothing in alice's collection: bob's entry, alice's playlist entry, a catalog track she
    does not hold, an unknown track, and malformed ids."""
    (bob_entry,) = add(client, bob, [TRACK_C])
    response, created = call(
        client, "POST", "/1/content/music/collection/playlists/create", "PlaylistActionResponse",
        headers=alice.headers, json_body={"Name": "Mix", "TrackActions": [{"Id": TRACK_A, "Action": "Add"}]},
    )
    playlist_entry = created["PlaylistActionResult"]["TrackActionResults"][0]["Id"]
    return {
        "bob's entry": bob_entry,
        "playlist entry": playlist_entry,
        "catalog track not held": TRACK_C,
        "unknown catalog track": UNKNOWN_TRACK,
        "random guid": "music.9bb2c5c5-455c-4c15-827c-f9bfd759a458",
        "forged entry id": "music.AQQfAAAAAAAAAAAAAAAAAAAAAAe5PqgAAQ",
        "playlist id": created["PlaylistActionResult"]["Id"],
        "garbage": "not an id",
        "empty": "",
    }


@pytest.mark.parametrize("kind", ["bob's entry", "playlist entry", "catalog track not held", "unknown catalog track",
                                  "random guid", "forged entry id", "playlist id", "garbage", "empty"])
def test_ids_not_in_the_collection_fail_alone_and_change_nothing(client, alice, store, others, kind):
    add(client, alice, [TRACK_B])
    before = store.snapshot()
    bad = others[kind]
    response, body = delete(client, alice, [bad])
    assert response.status_code == 200
    expected_input = "music." + bad[6:].upper() if kind == "random guid" else bad
    assert body == {"TrackActionResults": [{"InputId": expected_input, "Error": INVALID_ID}], "Error": SOME_FAILED}
    assert store.snapshot() == before


@pytest.mark.parametrize("item,input_id", [(5, "5"), (None, None), (True, "true"), ({"Id": "x"}, '{"Id":"x"}')])
def test_non_string_items_fail_alone(client, alice, store, item, input_id):
    (entry_b,) = add(client, alice, [TRACK_B])
    response, body = delete(client, alice, [item, entry_b])
    first = {"Error": INVALID_ID} if input_id is None else {"InputId": input_id, "Error": INVALID_ID}
    assert body == {"TrackActionResults": [first, {"InputId": entry_b}], "Error": SOME_FAILED}
    assert library_titles(client, alice) == []


def test_partial_failure_deletes_the_rest(client, alice, bob, store, others):
    entry_a, entry_b = add(client, alice, [TRACK_A, TRACK_B])
    response, body = delete(client, alice, [others["bob's entry"], entry_a, "x"])
    assert response.status_code == 200
    assert body["Error"] == SOME_FAILED
    assert [("Error" in result) for result in body["TrackActionResults"]] == [True, False, True]
    assert library_titles(client, alice) == ["Echo Drift"]
    # Bob's track is still his.
    assert [item["Name"] for item in browse(client, bob, "tracks")["Tracks"]["Items"]] == ["Lantern Paper"]


@pytest.mark.parametrize("count,status", [(100, 200), (101, 400)])
def test_the_batch_limit(client, alice, store, count, status):
    entries = add(client, alice, ALL_IDS)
    before = store.snapshot()
    ids = (entries * 4)[:count]
    response, body = delete(client, alice, ids)
    assert response.status_code == status
    if status == 400:
        assert response.get_data() == (
            b'{"Error":{"ErrorCode":"COLLECTION-INVALID-OPERATION","Description":"This operation is not supported",'
            b'"Message":"Number of tracks for this operation is limited to 100"}}'
        )
        assert store.snapshot() == before
    else:
        assert len(body["TrackActionResults"]) == 100 and "Error" not in body


@pytest.mark.parametrize("body,code", [
    ({}, "MISSING-INPUT-PARAMETER"),
    ({"TrackIds": []}, "MISSING-INPUT-PARAMETER"),
    ({"TrackIds": None}, "MISSING-INPUT-PARAMETER"),
    ({"TrackIds": "music.AQQ"}, "INVALID-INPUT-PARAMETER"),
])
def test_a_request_without_ids_is_refused(client, alice, store, body, code):
    add(client, alice, [TRACK_A])
    before = store.snapshot()
    response, answer = call(client, "POST", DELETE, "TrackActionResponse", headers=alice.headers, json_body=body)
    assert response.status_code == 400
    assert answer["Error"]["ErrorCode"] == code and "TrackActionResults" not in answer
    assert store.snapshot() == before


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"}])
def test_delete_needs_a_user_token(client, alice, store, headers):
    (entry_a,) = add(client, alice, [TRACK_A])
    before = store.snapshot()
    response, body = call(client, "POST", DELETE, "TrackActionResponse", headers=headers,
                          json_body={"TrackIds": [entry_a]})
    assert response.status_code == 401
    assert body["Error"]["ErrorCode"] == "INVALID-AUTHORIZATION-HEADER"
    assert store.snapshot() == before


def test_removing_and_re_adding_gives_the_same_id_and_makes_it_newest(client, alice):
    entry_a, entry_b, entry_c = add(client, alice, [TRACK_A, TRACK_B, TRACK_C])
    delete(client, alice, [entry_a])
    assert add(client, alice, [TRACK_A]) == [entry_a]
    assert library_titles(client, alice) == ["Atlas Lantern", "Lantern Paper", "Echo Drift"]
    # Deleting it again works with the same id.
    response, body = delete(client, alice, [entry_a])
    assert body == {"TrackActionResults": [{"InputId": entry_a}]}


def test_deleting_from_the_library_leaves_playlists_alone(client, alice):
    (entry_a,) = add(client, alice, [TRACK_A])
    response, created = call(
        client, "POST", "/1/content/music/collection/playlists/create", "PlaylistActionResponse",
        headers=alice.headers, json_body={"Name": "Keep", "TrackActions": [{"Id": entry_a, "Action": "Add"}]},
    )
    playlist_id = created["PlaylistActionResult"]["Id"]
    delete(client, alice, [entry_a])
    body = browse(client, alice, None, url=f"/1/content/{playlist_id}/collection/playlist/tracks/browse")
    assert [item["Name"] for item in body["Tracks"]["Items"]] == ["Atlas Lantern"]
    assert library_titles(client, alice) == []


@pytest.mark.parametrize("namespace,item", [(NS_2013, "arrays"), (NS_2013, "TrackId"), (NS_2016, "TrackId")])
def test_xml_requests_are_answered_in_their_namespace(client, alice, store, namespace, item):
    entry_a, entry_b = add(client, alice, [TRACK_A, TRACK_B])
    if item == "arrays":
        items = (
            '<TrackIds xmlns:d2p1="http://schemas.microsoft.com/2003/10/Serialization/Arrays">'
            f"<d2p1:string>{entry_a}</d2p1:string><d2p1:string>nope</d2p1:string></TrackIds>"
        )
    else:
        items = f"<TrackIds><TrackId>{entry_a}</TrackId><TrackId>nope</TrackId></TrackIds>"
    body = (
        f'<TrackActionRequest xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="{namespace}">{items}'
        "</TrackActionRequest>"
    )
    response, root = call(client, "POST", DELETE, "TrackActionResponse", headers=alice.headers, data=body,
                          content_type="application/xml")
    assert response.status_code == 200
    assert response.get_data() == (
        f'<TrackActionResponse xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="{namespace}">'
        "<Error><Description>Some of the operations failed</Description>"
        "<ErrorCode>COLLECTION-SOME-OPERATIONS-FAILED</ErrorCode></Error><TrackActionResults>"
        f"<TrackActionResult><InputId>{entry_a}</InputId></TrackActionResult>"
        "<TrackActionResult><Error><Description>Invalid collection id for this operation</Description>"
        "<ErrorCode>COLLECTION-INVALID-ID</ErrorCode></Error><InputId>nope</InputId></TrackActionResult>"
        "</TrackActionResults></TrackActionResponse>"
    ).encode()
    assert children(root) == ["Error", "TrackActionResults"]
    assert [children(result) for result in find_all(root, "TrackActionResults", "TrackActionResult")] == [
        ["InputId"], ["Error", "InputId"]]
    assert library_titles(client, alice) == ["Echo Drift"]


def test_underscore_spelling_setting(client, alice, app):
    app.config["ERROR_CODE_STYLE"] = "underscore"
    response, body = delete(client, alice, ["nope"])
    assert body["Error"]["ErrorCode"] == "COLLECTION_SOME_OPERATIONS_FAILED"
    assert body["TrackActionResults"][0]["Error"]["ErrorCode"] == "COLLECTION_INVALID_ID"


@pytest.mark.parametrize("path", ["/1/content/music/collection/Delete", "/1/CONTENT/MUSIC/COLLECTION/DELETE"])
def test_the_sdk_spelling_of_the_path(client, alice, path):
    (entry_a,) = add(client, alice, [TRACK_A])
    response, body = call(client, "POST", path, "TrackActionResponse", headers=alice.headers,
                          json_body={"TrackIds": [entry_a]})
    assert body == {"TrackActionResults": [{"InputId": entry_a}]}


@pytest.mark.parametrize("path", ["/1/content/music/collection/Move", "/1/content/music/collection/move"])
def test_collection_move_is_not_an_operation(client, alice, store, path):
    (entry_a,) = add(client, alice, [TRACK_A])
    before = store.snapshot()
    response, body = call(client, "POST", path, "TrackActionResponse", headers=alice.headers,
                          json_body={"TrackIds": [entry_a]})
    assert response.status_code == 400
    assert body["Error"]["ErrorCode"] == "COLLECTION-INVALID-OPERATION"
    assert store.snapshot() == before


def test_get_is_not_allowed(client, alice):
    response, body = call(client, "GET", DELETE, "TrackActionResponse", headers=alice.headers)
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]
