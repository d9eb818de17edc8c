"""POST /1/content/{ns}/collection/playlists/{create,update,delete} (contract 1.5 to 1.7, 2.5 to 2.7): names,
both playlist id forms, Add / Delete / Move track actions, quotas, CollectionStateToken, playlists sharing tracks
with the library, JSON and XML in both namespaces; every refused request changes nothing."""

import base64
import re
import uuid

import pytest

from groove_helpers import add, browse, sample_catalog
from groove_schemas import NS_2013, NS_2016, call, children, find

from conftest import TRACK_A, TRACK_B, TRACK_C, UNKNOWN_TRACK

PLAYLISTS = "/1/content/music/collection/playlists/{}"
ALL_IDS = [row["id"] for row in sample_catalog()]
TITLES = {row["id"]: row["title"] for row in sample_catalog()}
SOME_FAILED = {"ErrorCode": "COLLECTION-SOME-OPERATIONS-FAILED", "Description": "Some of the operations failed"}
ADD_FAILED = {"ErrorCode": "COLLECTION-INVALID-ID", "Description": "Invalid collection id for this operation",
              "Message": "Collection ErrorCode=ArgumentInvalid, Details=ContentId"}
DELETE_FAILED = {"ErrorCode": "COLLECTION-INVALID-ID", "Description": "Invalid collection id for this operation"}


def post(client, user, operation, body, **kwargs):
    return call(client, "POST", PLAYLISTS.format(operation), "PlaylistActionResponse", headers=user.headers,
                json_body=body, **kwargs)


def create(client, user, name="Mix", track_ids=(), **members):
    body = {"Name": name, **members}
    if track_ids:
        body["TrackActions"] = [{"Id": track_id, "Action": "Add"} for track_id in track_ids]
    response, answer = post(client, user, "create", body)
    assert response.status_code == 200, answer
    return answer["PlaylistActionResult"]


def tracks_of(client, user, playlist_id):
    body = browse(client, user, None, url=f"/1/content/{playlist_id}/collection/playlist/tracks/browse")
    return body["Tracks"].get("Items", [])


def titles_of(client, user, playlist_id):
    return [item["Name"] for item in tracks_of(client, user, playlist_id)]


def entry_ids_of(client, user, playlist_id):
    return [item["Id"] for item in tracks_of(client, user, playlist_id)]


def assert_refused(response, body, status, code, message=None):
    assert response.status_code == status, body
    assert list(body) == ["Error"], body
    assert body["Error"]["ErrorCode"] == code
    if message is not None:
        assert body["Error"]["Message"] == message


def state_token(client, user):
    response, body = call(client, "GET", "/1/user/music/profile", "UserProfileResponse", headers=user.headers)
    return body["Collection"]["Token"]


# ---------------------------------------------------------------------------------------------------------
# Create


def test_create_answers_the_playlist_id_and_echoes_the_name(client, alice, store, codec):
    response, body = post(client, alice, "create", {"Name": "Groove is awesome", "IsPublished": False})
    playlist_id = body["PlaylistActionResult"]["Id"]
    assert re.fullmatch(r"music\.playlist\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", playlist_id)
    assert response.get_data() == (
        f'{{"PlaylistActionResult":{{"Id":"{playlist_id}","Name":"Groove is awesome","IsPublished":false}}}}'
    ).encode()
    collection = store.collection(codec.parse_playlist_id(playlist_id))
    assert (collection["user_id"], collection["kind"], collection["name"], collection["is_published"]) == (
        alice.user_id, "playlist", "Groove is awesome", 0)


def test_create_without_is_published_does_not_echo_it(client, alice):
    response, body = post(client, alice, "create", {"Name": "Plain"})
    assert list(body["PlaylistActionResult"]) == ["Id", "Name"]


def test_create_with_tracks_answers_per_track_results(client, alice, store):
    response, body = post(client, alice, "create", {"Name": "Mix", "TrackActions": [
        {"Id": TRACK_A, "Action": "Add"},
        {"Id": UNKNOWN_TRACK.lower(), "Action": "add"},
        {"Id": TRACK_B.lower(), "Action": "ADD"},
    ]})
    assert response.status_code == 200
    result = body["PlaylistActionResult"]
    entries = entry_ids_of(client, alice, result["Id"])
    assert body == {
        "PlaylistActionResult": {"Id": result["Id"], "Name": "Mix", "TrackActionResults": [
            {"InputId": TRACK_A, "Id": entries[0]},
            {"InputId": UNKNOWN_TRACK, "Error": ADD_FAILED},
            {"InputId": TRACK_B, "Id": entries[1]},
        ]},
        "Error": SOME_FAILED,
    }
    assert titles_of(client, alice, result["Id"]) == ["Atlas Lantern", "Echo Drift"]


@pytest.mark.parametrize("body,status,code", [
    ({}, 400, "COLLECTION-INVALID-PLAYLIST-INFO"),
    ({"Name": None}, 400, "COLLECTION-INVALID-PLAYLIST-INFO"),
    ({"Name": ""}, 400, "COLLECTION-INVALID-PLAYLIST-INFO"),
    ({"Name": "   "}, 400, "COLLECTION-INVALID-PLAYLIST-INFO"),
    ({"Name": "x" * 257}, 400, "INVALID-INPUT-PARAMETER"),
    ({"Name": 42}, 400, "INVALID-INPUT-PARAMETER"),
    ({"Name": "Mix", "IsPublished": "yes"}, 400, "INVALID-INPUT-PARAMETER"),
    ({"Name": "Mix", "TrackActions": "all"}, 400, "INVALID-INPUT-PARAMETER"),
    ({"Name": "Mix", "TrackActions": [{"Id": TRACK_A, "Action": "Delete"}]}, 400, "COLLECTION-INVALID-OPERATION"),
    ({"Name": "Mix", "TrackActions": [{"Id": TRACK_A, "Action": "Move"}]}, 400, "COLLECTION-INVALID-OPERATION"),
    ({"Name": "Mix", "TrackActions": [{"Id": TRACK_A}]}, 400, "INVALID-INPUT-PARAMETER"),
    ({"Name": "Mix", "TrackActions": [{"Id": TRACK_A, "Action": "Play"}]}, 400, "INVALID-INPUT-PARAMETER"),
    ({"Name": "Mix", "TrackActions": [{"Id": TRACK_A, "Action": "Add"}] * 101}, 400, "COLLECTION-INVALID-OPERATION"),
    ({"Name": "Mix", "CollectionStateToken": "1.0.0.0.999"}, 409, "COLLECTION-CONCURRENT-UPDATE"),
])
def test_create_refusals_change_nothing(client, alice, store, body, status, code):
    before = store.snapshot()
    response, answer = post(client, alice, "create", body)
    assert_refused(response, answer, status, code)
    assert store.snapshot() == before


def test_name_limits(client, alice):
    assert create(client, alice, "x")["Name"] == "x"
    assert create(client, alice, "é" * 256)["Name"] == "é" * 256
    response, body = post(client, alice, "create", {"Name": "y" * 257})
    assert_refused(response, body, 400, "INVALID-INPUT-PARAMETER", "Name must be at most 256 characters long")
    response, body = post(client, alice, "create", {"Name": ""})
    assert response.get_data() == (
        b'{"Error":{"ErrorCode":"COLLECTION-INVALID-PLAYLIST-INFO","Description":"Required playlist information is '
        b'missing","Message":"Name must hold 1 to 256 characters"}}'
    )


def test_hundred_track_actions_are_accepted(client, alice):
    body = {"Name": "Big", "TrackActions": [{"Id": ALL_IDS[number % 32], "Action": "Add"} for number in range(100)]}
    response, answer = post(client, alice, "create", body)
    assert response.status_code == 200 and len(answer["PlaylistActionResult"]["TrackActionResults"]) == 100


def test_the_playlist_quota(app, client, alice, bob, store):
    app.config["PLAYLIST_CAPACITY"] = 2
    create(client, alice, "One")
    create(client, alice, "Two")
    create(client, bob, "Bob's")  # the quota is per user
    before = store.snapshot()
    response, body = post(client, alice, "create", {"Name": "Three",
                                                     "TrackActions": [{"Id": TRACK_A, "Action": "Add"}]})
    assert_refused(response, body, 400, "COLLECTION-FULL", "A user owns at most 2 playlists")
    assert store.snapshot() == before


def test_the_playlist_track_capacity_on_create(app, client, alice, store):
    app.config["PLAYLIST_TRACK_CAPACITY"] = 3
    before = store.snapshot()
    response, body = post(client, alice, "create", {"Name": "Too long", "TrackActions": [
        {"Id": track_id, "Action": "Add"} for track_id in ALL_IDS[:4]]})
    assert_refused(response, body, 400, "COLLECTION-PLAYLIST-FULL", "A playlist holds at most 3 tracks")
    assert store.snapshot() == before
    # Repeats of one track count once.
    result = create(client, alice, "Fits", [TRACK_A, TRACK_A, TRACK_B, TRACK_C])
    assert titles_of(client, alice, result["Id"]) == ["Atlas Lantern", "Echo Drift", "Lantern Paper"]


@pytest.mark.parametrize("namespace", [NS_2013, NS_2016])
def test_create_in_xml(client, alice, namespace):
    body = (
        f'<PlaylistAction xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="{namespace}">'
        "<IsPublished>true</IsPublished><Name>Late &amp; loud</Name><TrackActions>"
        f"<TrackAction><Action>Add</Action><Id>{TRACK_A}</Id></TrackAction>"
        f"<TrackAction><Action>Add</Action><Id>{UNKNOWN_TRACK}</Id></TrackAction>"
        "</TrackActions></PlaylistAction>"
    )
    response, root = call(client, "POST", PLAYLISTS.format("create"), "PlaylistActionResponse", headers=alice.headers,
                          data=body, content_type="application/xml")
    assert response.status_code == 200
    assert root.nsmap[None] == namespace
    assert children(root) == ["Error", "PlaylistActionResult"]
    result = find(root, "PlaylistActionResult")
    assert children(result) == ["Id", "IsPublished", "Name", "TrackActionResults"]
    playlist_id = find(result, "Id").text
    (entry,) = entry_ids_of(client, alice, playlist_id)
    assert response.get_data().decode().endswith(
        f"<PlaylistActionResult><Id>{playlist_id}</Id><IsPublished>true</IsPublished><Name>Late &amp; loud</Name>"
        f"<TrackActionResults><TrackActionResult><Id>{entry}</Id><InputId>{TRACK_A}</InputId></TrackActionResult>"
        "<TrackActionResult><Error><Description>Invalid collection id for this operation</Description>"
        "<ErrorCode>COLLECTION-INVALID-ID</ErrorCode><Message>Collection ErrorCode=ArgumentInvalid, Details=ContentId"
        f"</Message></Error><InputId>{UNKNOWN_TRACK}</InputId></TrackActionResult></TrackActionResults>"
        "</PlaylistActionResult></PlaylistActionResponse>"
    )


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"}])
@pytest.mark.parametrize("operation", ["create", "update", "delete"])
def test_playlist_operations_need_a_user_token(client, alice, store, headers, operation):
    playlist = create(client, alice, "Mine")
    before = store.snapshot()
    response, body = call(client, "POST", PLAYLISTS.format(operation), "PlaylistActionResponse", headers=headers,
                          json_body={"Id": playlist["Id"], "Name": "Theirs"})
    assert_refused(response, body, 401, "INVALID-AUTHORIZATION-HEADER")
    assert store.snapshot() == before


# ---------------------------------------------------------------------------------------------------------
# Update: metadata, both id forms


def both_forms(codec, playlist_id):
    collection_id = codec.parse_playlist_id(playlist_id)
    short = codec.playlist_short_id(collection_id)
    # Contract 5: music.AQM + 21 characters, 01 03 + the GUID in .NET byte order.
    assert short.startswith("music.AQM") and len(short) == len("music.") + 24
    assert base64.urlsafe_b64decode(short[6:]) == b"\x01\x03" + uuid.UUID(playlist_id[15:]).bytes_le
    return [playlist_id, codec.playlist_short_id(collection_id), playlist_id.upper().replace("MUSIC.PLAYLIST.",
                                                                                            "music.playlist.")]


@pytest.mark.parametrize("form", [0, 1, 2])
@pytest.mark.parametrize("existing", [0, 1, 2, 3, 4, 5, 6])
def test_update_metadata_with_either_id_form(client, alice, store, codec, form, existing):
    for number in range(existing):  # playlists at other rows: their GUIDs differ in every bit
        create(client, alice, f"Before {number}")
    playlist = create(client, alice, "Old", IsPublished=False)
    text = both_forms(codec, playlist["Id"])[form]
    response, body = post(client, alice, "update", {"Id": text, "Name": "New", "IsPublished": True})
    assert response.get_data() == (
        f'{{"PlaylistActionResult":{{"Id":"{text}","Name":"New","IsPublished":true}}}}'
    ).encode()
    collection = store.collection(codec.parse_playlist_id(playlist["Id"]))
    assert (collection["name"], collection["is_published"]) == ("New", 1)


def test_update_echoes_only_what_was_sent(client, alice):
    playlist = create(client, alice, "Keep")
    response, body = post(client, alice, "update", {"Id": playlist["Id"], "IsPublished": False})
    assert body == {"PlaylistActionResult": {"Id": playlist["Id"], "IsPublished": False}}
    response, body = post(client, alice, "update", {"Id": playlist["Id"]})
    assert body == {"PlaylistActionResult": {"Id": playlist["Id"]}}


@pytest.fixture
def unknown_ids(client, bob, codec):
    bobs = create(client, bob, "Bob's")
    return {
        "bob's playlist": bobs["Id"],
        "bob's playlist short form": codec.playlist_short_id(codec.parse_playlist_id(bobs["Id"])),
        "random guid": f"music.playlist.{uuid.UUID(int=12345)}",
        "catalog id": TRACK_A,
        "garbage": "music.playlist.nope",
    }


@pytest.mark.parametrize("operation", ["update", "delete"])
@pytest.mark.parametrize(
    "kind", ["bob's playlist", "bob's playlist short form", "random guid", "catalog id", "garbage"]
)
def test_a_playlist_that_is_not_the_callers_is_not_found(client, alice, store, unknown_ids, operation, kind):
    create(client, alice, "Mine", [TRACK_A])
    before = store.snapshot()
    response, body = post(client, alice, operation, {"Id": unknown_ids[kind], "Name": "Taken"})
    assert_refused(response, body, 404, "COLLECTION-NO-RESULT")
    assert store.snapshot() == before


@pytest.mark.parametrize("operation", ["update", "delete"])
@pytest.mark.parametrize("body", [{}, {"Id": None}, {"Id": ""}, {"Name": "x"}])
def test_update_and_delete_need_an_id(client, alice, store, operation, body):
    create(client, alice, "Mine")
    before = store.snapshot()
    response, answer = post(client, alice, operation, body)
    assert_refused(response, answer, 400, "COLLECTION-INVALID-PLAYLIST-INFO")
    assert store.snapshot() == before


@pytest.mark.parametrize("body,status,code", [
    ({"Name": ""}, 400, "COLLECTION-INVALID-PLAYLIST-INFO"),
    ({"Name": "z" * 257}, 400, "INVALID-INPUT-PARAMETER"),
    ({"Name": ["list"]}, 400, "INVALID-INPUT-PARAMETER"),
    ({"TrackActions": [{"Id": TRACK_A, "Action": "Shuffle"}]}, 400, "INVALID-INPUT-PARAMETER"),
    ({"TrackActions": [{"Id": TRACK_A, "Action": "Add"}] * 101}, 400, "COLLECTION-INVALID-OPERATION"),
    ({"CollectionStateToken": "1.0.0.0.0"}, 409, "COLLECTION-CONCURRENT-UPDATE"),
    ({"Name": "New", "CollectionStateToken": "stale"}, 409, "COLLECTION-CONCURRENT-UPDATE"),
])
def test_update_refusals_change_nothing(client, alice, store, body, status, code):
    playlist = create(client, alice, "Mine", [TRACK_A])
    before = store.snapshot()
    response, answer = post(client, alice, "update", {"Id": playlist["Id"], **body})
    assert_refused(response, answer, status, code)
    assert store.snapshot() == before


# ---------------------------------------------------------------------------------------------------------
# Update: Add and Delete


def test_add_and_delete_apply_in_request_order(client, alice):
    playlist = create(client, alice, "Mix", [TRACK_A, TRACK_B])
    entry_a, entry_b = entry_ids_of(client, alice, playlist["Id"])
    response, body = post(client, alice, "update", {"Id": playlist["Id"], "TrackActions": [
        {"Id": entry_a, "Action": "Delete"},
        {"Id": TRACK_C, "Action": "Add"},
        {"Id": TRACK_A, "Action": "add"},  # re-added after its delete: it comes back at the end
        {"Id": "music.AQQfnothing", "Action": "remove"},  # remove = Delete
        {"Id": UNKNOWN_TRACK, "Action": "Add"},
    ]})
    assert response.status_code == 200
    entries = entry_ids_of(client, alice, playlist["Id"])
    assert titles_of(client, alice, playlist["Id"]) == ["Echo Drift", "Lantern Paper", "Atlas Lantern"]
    assert body == {
        "PlaylistActionResult": {"Id": playlist["Id"], "TrackActionResults": [
            {"InputId": entry_a},
            {"InputId": TRACK_C, "Id": entries[1]},
            {"InputId": TRACK_A, "Id": entry_a},  # the same track in the same playlist: the same entry id
            {"InputId": "music.AQQfnothing", "Error": DELETE_FAILED},
            {"InputId": UNKNOWN_TRACK, "Error": ADD_FAILED},
        ]},
        "Error": SOME_FAILED,
    }


def test_a_failing_delete_alone_answers_200_with_the_top_level_error(client, alice, store):
    playlist = create(client, alice, "Mix", [TRACK_A])
    before = store.snapshot()
    guid = "music.9bb2c5c5-455c-4c15-827c-f9bfd759a458"
    response, body = post(client, alice, "update", {"Id": playlist["Id"], "TrackActions": [
        {"Id": guid, "Action": "Delete"}]})
    assert response.status_code == 200
    assert body == {"PlaylistActionResult": {"Id": playlist["Id"], "TrackActionResults": [
        {"InputId": guid.upper().replace("MUSIC.", "music."), "Error": DELETE_FAILED}]}, "Error": SOME_FAILED}
    assert store.snapshot() == before


def test_delete_takes_playlist_entries_not_library_entries(client, alice):
    (library_entry,) = add(client, alice, [TRACK_A])
    playlist = create(client, alice, "Mix", [TRACK_A])
    (playlist_entry,) = entry_ids_of(client, alice, playlist["Id"])
    assert playlist_entry != library_entry
    response, body = post(client, alice, "update", {"Id": playlist["Id"], "TrackActions": [
        {"Id": library_entry, "Action": "Delete"}]})
    assert body["PlaylistActionResult"]["TrackActionResults"] == [{"InputId": library_entry, "Error": DELETE_FAILED}]
    response, body = post(client, alice, "update", {"Id": playlist["Id"], "TrackActions": [
        {"Id": playlist_entry, "Action": "Delete"}]})
    assert body == {"PlaylistActionResult": {"Id": playlist["Id"], "TrackActionResults": [{"InputId": playlist_entry}]}}
    assert titles_of(client, alice, playlist["Id"]) == []


def test_the_playlist_track_capacity_on_update(app, client, alice, store):
    app.config["PLAYLIST_TRACK_CAPACITY"] = 3
    playlist = create(client, alice, "Mix", [TRACK_A, TRACK_B])
    before = store.snapshot()
    response, body = post(client, alice, "update", {"Id": playlist["Id"], "Name": "Renamed", "TrackActions": [
        {"Id": ALL_IDS[5], "Action": "Add"}, {"Id": ALL_IDS[6], "Action": "Add"}]})
    assert_refused(response, body, 400, "COLLECTION-PLAYLIST-FULL")
    assert store.snapshot() == before
    # Deleting first makes room within the same request.
    (entry_a, entry_b) = entry_ids_of(client, alice, playlist["Id"])
    response, body = post(client, alice, "update", {"Id": playlist["Id"], "TrackActions": [
        {"Id": entry_a, "Action": "Delete"}, {"Id": ALL_IDS[5], "Action": "Add"}, {"Id": ALL_IDS[6], "Action": "Add"}]})
    assert response.status_code == 200 and "Error" not in body
    assert titles_of(client, alice, playlist["Id"]) == ["Echo Drift", TITLES[ALL_IDS[5]], TITLES[ALL_IDS[6]]]


# ---------------------------------------------------------------------------------------------------------
# Update: Move


@pytest.fixture
def five(client, alice):
    """A playlist of five tracks, A B C D E, and its entry ids."""
    playlist = create(client, alice, "Five", ALL_IDS[:5])
    return playlist["Id"], entry_ids_of(client, alice, playlist["Id"])


def order_letters(client, alice, playlist_id, entries):
    letters = dict(zip(entries, "ABCDE"))
    return "".join(letters[entry] for entry in entry_ids_of(client, alice, playlist_id))


@pytest.mark.parametrize("moved,before,expected", [
    ("D", "B", "ADBCE"),
    ("A", None, "BCDEA"),
    ("E", "A", "EABCD"),
    ("DB", "A", "DBACE"),  # several entries keep the request's order, as one block
    ("BD", "E", "ACBDE"),
    ("AE", None, "BCDAE"),
    ("C", "D", "ABCDE"),  # already there: nothing moves
])
def test_move_keeps_every_other_track_in_order(client, alice, store, five, moved, before, expected):
    playlist_id, entries = five
    letter = dict(zip("ABCDE", entries))
    body = {"Id": playlist_id, "TrackActions": [{"Id": letter[name], "Action": "Move"} for name in moved]}
    if before is not None:
        body["InsertBeforeTrackId"] = letter[before]
    version = store.user(alice.user_id)["state_version"]
    response, answer = post(client, alice, "update", body)
    assert response.status_code == 200
    assert response.get_data() == f'{{"PlaylistActionResult":{{"Id":"{playlist_id}"}}}}'.encode()
    assert order_letters(client, alice, playlist_id, entries) == expected
    assert store.user(alice.user_id)["state_version"] == version + (expected != "ABCDE")


def test_the_sdk_move_request(client, alice, five):
    playlist_id, entries = five
    # Json.NET output of the SDK (contract 8), action spelled in any case.
    body = (
        f'{{"Id":"{playlist_id}","InsertBeforeTrackId":"{entries[0]}",'
        f'"TrackActions":[{{"Id":"{entries[4]}","Action":"move"}}]}}'
    )
    response, answer = call(client, "POST", PLAYLISTS.format("Update"), "PlaylistActionResponse",
                            headers=alice.headers, data=body, content_type="application/json")
    assert answer == {"PlaylistActionResult": {"Id": playlist_id}}
    assert order_letters(client, alice, playlist_id, entries) == "EABCD"


@pytest.mark.parametrize("case", ["with add", "with delete", "with name", "with published", "unknown entry",
                                  "library entry", "before not in playlist", "before is moved", "catalog id not in it"])
def test_invalid_moves_are_refused_whole(client, alice, store, five, case):
    playlist_id, entries = five
    (library_entry,) = add(client, alice, [ALL_IDS[10]])
    move = [{"Id": entries[1], "Action": "Move"}]
    body = {
        "with add": {"TrackActions": move + [{"Id": ALL_IDS[7], "Action": "Add"}]},
        "with delete": {"TrackActions": [{"Id": entries[0], "Action": "Delete"}] + move},
        "with name": {"Name": "Renamed", "TrackActions": move},
        "with published": {"IsPublished": True, "TrackActions": move},
        "unknown entry": {"TrackActions": [{"Id": "music.AQQfAAAAAAAAAAAAAAAAAAAAAAe5PqgAAQ", "Action": "Move"}]},
        "library entry": {"TrackActions": [{"Id": library_entry, "Action": "Move"}]},
        "before not in playlist": {"TrackActions": move, "InsertBeforeTrackId": library_entry},
        "before is moved": {"TrackActions": move, "InsertBeforeTrackId": entries[1]},
        "catalog id not in it": {"TrackActions": [{"Id": ALL_IDS[20], "Action": "Move"}]},
    }[case]
    before = store.snapshot()
    response, answer = post(client, alice, "update", {"Id": playlist_id, **body})
    assert_refused(response, answer, 400, "COLLECTION-INVALID-PLAYLIST-REORDER")
    assert store.snapshot() == before
    assert order_letters(client, alice, playlist_id, entries) == "ABCDE"


# ---------------------------------------------------------------------------------------------------------
# CollectionStateToken


@pytest.mark.parametrize("operation", ["create", "update", "delete"])
def test_a_current_state_token_lets_the_change_through(client, alice, store, operation):
    playlist = create(client, alice, "Mine")
    token = state_token(client, alice)
    body = {"Name": "Next", "CollectionStateToken": token}
    if operation != "create":
        body["Id"] = playlist["Id"]
    response, answer = post(client, alice, operation, body)
    assert response.status_code == 200, answer
    assert state_token(client, alice) != token


@pytest.mark.parametrize("operation", ["create", "update", "delete"])
def test_a_stale_state_token_is_a_concurrent_update(client, alice, store, operation):
    playlist = create(client, alice, "Mine")
    token = state_token(client, alice)
    add(client, alice, [TRACK_A])  # someone else changes the collection in between
    before = store.snapshot()
    body = {"Name": "Next", "CollectionStateToken": token,
            "TrackActions": [{"Id": TRACK_B, "Action": "Add"}]}
    if operation != "create":
        body["Id"] = playlist["Id"]
    response, answer = post(client, alice, operation, body)
    assert_refused(response, answer, 409, "COLLECTION-CONCURRENT-UPDATE")
    assert answer["Error"]["Description"] == "Concurrent update of the collection"
    assert store.snapshot() == before


# ---------------------------------------------------------------------------------------------------------
# Delete


@pytest.mark.parametrize("form", [0, 1])
def test_delete_removes_the_playlist_and_keeps_the_library(client, alice, store, codec, form):
    add(client, alice, [TRACK_A])
    playlist = create(client, alice, "Gone", [TRACK_A, TRACK_B])
    text = both_forms(codec, playlist["Id"])[form]
    response, body = post(client, alice, "delete", {"Id": text, "Name": 5, "TrackActions": "ignored"})
    assert response.get_data() == f'{{"PlaylistActionResult":{{"Id":"{text}"}}}}'.encode()
    assert store.collection(codec.parse_playlist_id(playlist["Id"])) is None
    assert [item["Name"] for item in browse(client, alice, "tracks")["Tracks"]["Items"]] == ["Atlas Lantern"]
    before = store.snapshot()
    response, body = post(client, alice, "delete", {"Id": text})
    assert_refused(response, body, 404, "COLLECTION-NO-RESULT")
    assert store.snapshot() == before


def test_xml_delete_and_update_in_the_2016_namespace(client, alice, five):
    playlist_id, entries = five
    body = (
        f'<PlaylistAction xmlns="{NS_2016}"><Id>{playlist_id}</Id><InsertBeforeTrackId>{entries[0]}'
        f"</InsertBeforeTrackId><TrackActions><TrackAction><Action>Move</Action><Id>{entries[2]}</Id></TrackAction>"
        "</TrackActions></PlaylistAction>"
    )
    response, root = call(client, "POST", PLAYLISTS.format("update"), "PlaylistActionResponse", headers=alice.headers,
                          data=body, content_type="text/xml")
    assert response.get_data() == (
        f'<PlaylistActionResponse xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="{NS_2016}">'
        f"<PlaylistActionResult><Id>{playlist_id}</Id></PlaylistActionResult></PlaylistActionResponse>"
    ).encode()
    assert order_letters(client, alice, playlist_id, entries) == "CABDE"
    body = f'<PlaylistAction xmlns="{NS_2016}"><Id>{playlist_id}</Id></PlaylistAction>'
    response, root = call(client, "POST", PLAYLISTS.format("delete"), "PlaylistActionResponse", headers=alice.headers,
                          data=body, content_type="application/xml")
    assert response.status_code == 200 and root.nsmap[None] == NS_2016


@pytest.mark.parametrize("namespace", [NS_2013, NS_2016])
def test_xml_refusals_keep_the_request_namespace(client, alice, store, namespace):
    before = store.snapshot()
    body = f'<PlaylistAction xmlns="{namespace}"><Name></Name></PlaylistAction>'
    response, root = call(client, "POST", PLAYLISTS.format("create"), "PlaylistActionResponse", headers=alice.headers,
                          data=body, content_type="application/xml")
    assert response.status_code == 400
    assert root.nsmap[None] == namespace
    assert children(root) == ["Error"]
    assert find(root, "Error", "ErrorCode").text == "COLLECTION-INVALID-PLAYLIST-INFO"
    assert store.snapshot() == before


# ---------------------------------------------------------------------------------------------------------
# Playlists and the library share tracks


def test_playlists_share_tracks_with_the_library_without_touching_it(client, alice, store):
    library_entries = add(client, alice, [TRACK_A, TRACK_B])
    library_id = store.user(alice.user_id)["library_id"]
    library_before = store.entry_positions(library_id)
    # A library entry id, a catalog id of a library track and a track that is not in the library.
    playlist = create(client, alice, "Shared", [library_entries[0], TRACK_B, TRACK_C])
    assert titles_of(client, alice, playlist["Id"]) == ["Atlas Lantern", "Echo Drift", "Lantern Paper"]
    assert store.entry_positions(library_id) == library_before
    playlist_entries = entry_ids_of(client, alice, playlist["Id"])
    assert not set(playlist_entries) & set(library_entries)
    # Two playlists holding one track: each has its own entry.
    other = create(client, alice, "Other", [TRACK_A])
    assert entry_ids_of(client, alice, other["Id"])[0] not in playlist_entries
    # Removing the track from the library leaves both playlists as they were.
    call(client, "POST", "/1/content/music/collection/delete", "TrackActionResponse", headers=alice.headers,
         json_body={"TrackIds": [TRACK_A]})
    assert titles_of(client, alice, playlist["Id"]) == ["Atlas Lantern", "Echo Drift", "Lantern Paper"]
    assert titles_of(client, alice, other["Id"]) == ["Atlas Lantern"]
    # Deleting a playlist leaves the library and the other playlist.
    post(client, alice, "delete", {"Id": playlist["Id"]})
    assert [item["Name"] for item in browse(client, alice, "tracks")["Tracks"]["Items"]] == ["Echo Drift"]
    assert titles_of(client, alice, other["Id"]) == ["Atlas Lantern"]


def codec_of(client):
    return client.application.extensions["groove_compat.ids"]


def test_a_new_playlist_shows_in_browse_and_profile(client, alice):
    playlist = create(client, alice, "Seen", [TRACK_A])
    items = browse(client, alice, "playlists")["Playlists"]["Items"]
    assert [(item["Name"], item["TrackCount"]) for item in items] == [("Seen", 1)]
    assert items[0]["Id"] == codec_of(client).playlist_short_id(codec_of(client).parse_playlist_id(playlist["Id"]))
    response, body = call(client, "GET", "/1/user/music/profile", "UserProfileResponse", headers=alice.headers)
    assert body["Collection"]["PlaylistCount"] == 1 and body["Collection"]["RemainingPlaylistCount"] == 99


def test_a_playlist_deleted_and_its_id_reused_while_an_add_reads_is_not_answered_from_the_new_one(
    database_path, store, codec, alice, bob
):
    """The ownership check and the presence check share one snapshot: when the playlist is deleted between
    them and another user's new playlist takes its id (holding every track of the batch), the add fails
    as for a deleted playlist instead of answering ALREADY_PRESENT with an entry of the other playlist."""
    from groove_compat import library
    from groove_compat.auth import Caller
    from groove_compat.store import Store

    def caller(user):
        row = store.user(user.user_id)
        return Caller(None, row["id"], row["organization_id"], row["library_id"])

    alices, bobs = caller(alice), caller(bob)
    playlist = library.create_playlist(store, alices, name="a", quota=10)
    other_store = Store(str(database_path))  # another request, on its own connection
    tracks_by_guid = store.tracks_by_guid

    def meanwhile(**arguments):
        library.delete_collection(other_store, alices, playlist["id"])
        taken = library.create_playlist(other_store, bobs, name="b", quota=10)
        assert taken["id"] == playlist["id"]
        library.add_tracks(other_store, codec, bobs, [TRACK_A], capacity=100, collection_id=taken["id"])
        return tracks_by_guid(**arguments)

    store.tracks_by_guid = meanwhile
    try:
        with pytest.raises(library.LibraryError) as refused:
            library.add_tracks(store, codec, alices, [TRACK_A], capacity=100, collection_id=playlist["id"])
    finally:
        store.tracks_by_guid = tracks_by_guid
        other_store.close()
    assert refused.value.reason == library.Reason.COLLECTION_NOT_FOUND
    assert len(store.collection_track_ids(playlist["id"])) == 1  # bob's playlist, untouched
