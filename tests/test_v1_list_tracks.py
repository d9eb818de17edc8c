"""GET /v1/music/{organization_id}/collections/{collection_id}/tracks: position order, cursor pages."""

import itertools
import re
import uuid

import pytest

from conftest import TRACK_A
from groove_compat import ids, library
from v1_world import assert_envelope, envelope_without_volatile, world  # noqa: F401

ISO_MILLISECONDS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def add(client, world, track, collection="alice_library", user="alice"):
    response = client.post(
        world.url(world.users[user].organization, collection, "tracks"),
        headers=world.users[user].headers,
        json={"track_id": world.tracks.get(track, track)},
    )
    assert response.status_code == 200


def page(client, world, collection="alice_library", user="alice", organization=None, **query):
    return client.get(
        world.url(organization or world.users[user].organization, collection, "tracks"),
        headers=world.users[user].headers,
        query_string=query,
    )


@pytest.mark.parametrize("collection", ["alice_library", "alice_playlist"])
def test_an_entry_carries_its_ids_catalog_fields_position_and_time(client, world, collection):
    add(client, world, "a", collection)
    response = page(client, world, collection)
    assert response.status_code == 200
    body = response.json
    assert list(body) == ["success", "data", "has_more", "next_cursor"]
    assert body["success"] is True and body["has_more"] is False and body["next_cursor"] is None
    (entry,) = body["data"]
    assert list(entry) == [
        "id", "groove_catalog_id", "groove_collection_id", "title", "artist", "album", "duration", "track_number",
        "isrc", "position", "added_at",
    ]
    collection_row = world.row("collection", world.collections[collection])
    track_row = world.row("track", world.track("a"))
    assert entry["id"] == world.track("a")
    assert entry["groove_catalog_id"] == TRACK_A
    assert entry["groove_collection_id"] == world.codec.entry_id(collection_row, track_row, ids.parse_catalog_guid(TRACK_A))
    assert entry["groove_collection_id"].startswith("music.AQQ") and len(entry["groove_collection_id"]) == 40
    assert (entry["title"], entry["artist"], entry["album"]) == ("Atlas Lantern", "Northbound Lights", "Harbor Songs")
    assert (entry["duration"], entry["track_number"], entry["isrc"]) == (355, 1, "USQX92274821")
    assert entry["position"] == 0
    assert ISO_MILLISECONDS.match(entry["added_at"])


def test_an_empty_collection_is_one_empty_last_page(client, world):
    assert page(client, world).json == {"success": True, "data": [], "has_more": False, "next_cursor": None}


def test_pages_follow_the_cursor_to_the_end_with_dense_positions(client, world):
    tracks = world.tracks["all_org1"][:7]
    for track in tracks:
        add(client, world, track)
    seen, cursors, cursor = [], [], None
    while True:
        response = page(client, world, limit=3, **({} if cursor is None else {"cursor": cursor}))
        assert response.status_code == 200
        body = response.json
        seen.append([(item["id"], item["position"]) for item in body["data"]])
        assert body["has_more"] is (body["next_cursor"] is not None)
        cursor = body["next_cursor"]
        if cursor is None:
            break
        cursors.append(cursor)
    assert [len(items) for items in seen] == [3, 3, 1]
    assert [item for items in seen for item in items] == [(track, position) for position, track in enumerate(tracks)]
    for cursor in cursors:  # opaque and URL-safe
        assert re.fullmatch(r"[A-Za-z0-9_-]{22}", cursor)


def test_a_full_last_page_says_there_is_no_more(client, world):
    for track in world.tracks["all_org1"][:4]:
        add(client, world, track)
    first = page(client, world, limit=2).json
    second = page(client, world, limit=2, cursor=first["next_cursor"]).json
    assert len(second["data"]) == 2 and second["has_more"] is False and second["next_cursor"] is None


def test_positions_stay_dense_after_removes_and_a_cursor_survives_changes_before_it(client, world):
    tracks = world.tracks["all_org1"][:8]
    for track in tracks:
        add(client, world, track)
    first = page(client, world, limit=4).json
    # Remove one entry of the first page and one of the second while the client pages.
    for track in (tracks[1], tracks[5]):
        assert client.delete(
            world.url("org1", "alice_library", "tracks", track), headers=world.users["alice"].headers
        ).status_code == 200
    second = page(client, world, limit=4, cursor=first["next_cursor"]).json
    assert [(item["id"], item["position"]) for item in second["data"]] == [
        (tracks[4], 3), (tracks[6], 4), (tracks[7], 5)
    ]
    everything = page(client, world, limit=200).json["data"]
    assert [item["position"] for item in everything] == list(range(6))


def test_the_default_page_holds_50_entries(client, world, store, codec):
    guids = [uuid.uuid4().bytes for _ in range(60)]
    store.upsert_tracks([(1, guid, f"Extra {n}", None, None, None, None, None) for n, guid in enumerate(guids)])
    library.add_tracks(store, codec, world.users["alice"].caller, [ids.catalog_id(g) for g in guids], capacity=1000)
    body = page(client, world).json
    assert len(body["data"]) == 50 and body["has_more"] is True
    assert [item["title"] for item in body["data"]] == [f"Extra {n}" for n in range(50)]
    assert body["data"][0]["artist"] is None and body["data"][0]["duration"] is None
    rest = page(client, world, cursor=body["next_cursor"]).json
    assert [item["position"] for item in rest["data"]] == list(range(50, 60))


@pytest.mark.parametrize(
    "query, field, message",
    [
        ({"limit": "0"}, "limit", "Must be greater than or equal to 1 and less than or equal to 200."),
        ({"limit": "201"}, "limit", "Must be greater than or equal to 1 and less than or equal to 200."),
        ({"limit": "ten"}, "limit", "Not a valid integer."),
        ({"limit": ""}, "limit", "Not a valid integer."),
        ({"cursor": "x" * 65}, "cursor", "Longer than maximum length 64."),
        ({"cursor": "not-a-cursor"}, "cursor", "Not a cursor of this collection."),
        ({"cursor": "A" * 22}, "cursor", "Not a cursor of this collection."),
        ({"offset": "3"}, "offset", "Unknown field."),
    ],
)
def test_bad_queries_are_validation_errors_naming_the_parameter(client, world, query, field, message):
    add(client, world, "a")
    before = world.store.snapshot()
    response = page(client, world, **query)
    error = assert_envelope(response, status=400, code="VALIDATION_ERROR")
    assert error["details"] == {"fields": {field: [message]}}
    assert world.store.snapshot() == before


def test_a_cursor_of_another_collection_is_refused(client, world):
    for track in ("a", "b", "c"):
        add(client, world, track)
        add(client, world, track, "alice_playlist")
    cursor = page(client, world, limit=1).json["next_cursor"]
    assert page(client, world, limit=1, cursor=cursor).status_code == 200
    response = page(client, world, "alice_playlist", limit=1, cursor=cursor)
    assert assert_envelope(response, status=400, code="VALIDATION_ERROR")["details"] == {
        "fields": {"cursor": ["Not a cursor of this collection."]}
    }


@pytest.mark.parametrize(
    "organization, collection",
    [
        case
        for case in itertools.product(
            ["org1", "org2", "unknown_org", "malformed_org"],
            ["alice_library", "bob_library", "carol_library", "unknown_collection", "malformed_collection"],
        )
        if case != ("org1", "alice_library")
    ],
)
def test_not_the_callers_answers_one_identical_404(client, world, organization, collection):
    add(client, world, "a", "bob_library", user="bob")
    add(client, world, "other_a", "carol_library", user="carol")
    before = world.store.snapshot()
    response = page(client, world, collection, organization=organization)
    assert_envelope(response, status=404, code="RESOURCE_NOT_FOUND")
    assert envelope_without_volatile(response.json)["error"] == {
        "code": "RESOURCE_NOT_FOUND",
        "message": "The requested resource was not found.",
        "system_message": "Collection not owned by caller",
        "type": "client_error",
        "status": 404,
        "details": {"collection_id": world.collections[collection]},
    }
    assert world.store.snapshot() == before
