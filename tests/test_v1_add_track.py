"""POST /v1/music/{organization_id}/collections/{collection_id}/tracks (seed 000)."""

import itertools
import json

import pytest

from groove_compat.app import create_app, get_store
from v1_world import assert_envelope, envelope_without_volatile, world  # noqa: F401


def add(client, world, user, track, *, organization=None, collection=None):
    organization = organization or world.users[user].organization
    collection = collection or f"{user}_library"
    return client.post(
        world.url(organization, collection, "tracks"),
        headers=world.users[user].headers,
        json={"track_id": world.tracks.get(track, track)},
    )


@pytest.mark.parametrize("collection", ["alice_library", "alice_playlist"])
def test_add_appends_and_answers_the_acknowledgement(client, world, collection):
    track = world.track("a")
    response = add(client, world, "alice", "a", collection=collection)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_data() == json.dumps(
        {"success": True, "id": track, "detail": "Track added to collection."}, separators=(",", ":")
    ).encode()
    assert world.stored_order(collection) == [world.row("track", track)]


@pytest.mark.parametrize("collection", ["alice_library", "alice_playlist"])
def test_adding_a_track_already_present_changes_nothing_and_answers_the_same(client, world, collection):
    first = add(client, world, "alice", "a", collection=collection)
    add(client, world, "alice", "b", collection=collection)
    before = world.store.snapshot()
    again = add(client, world, "alice", "a", collection=collection)
    assert again.status_code == 200
    assert again.get_data() == first.get_data()
    assert world.store.snapshot() == before  # no entry, version or collection state changed


@pytest.mark.parametrize("collection", ["alice_library", "alice_playlist"])
def test_tracks_are_appended_at_the_end_in_the_order_added(client, world, collection):
    order = world.tracks["all_org1"][:6]
    for track in [order[3], order[0], order[5], order[1], order[0], order[4], order[2]]:
        assert add(client, world, "alice", track, collection=collection).status_code == 200
    expected = [order[3], order[0], order[5], order[1], order[4], order[2]]
    assert world.listed(client, "alice", collection) == expected
    assert world.stored_order(collection) == [world.row("track", t) for t in expected]


def test_the_same_track_in_library_and_playlist_is_two_entries(client, world):
    add(client, world, "alice", "a", collection="alice_library")
    add(client, world, "alice", "a", collection="alice_playlist")
    assert world.store.table_counts()["entries"] == 2


def test_a_caller_of_another_organization_adds_its_own_row_of_the_same_groove_track(client, world):
    response = add(client, world, "carol", "other_a")
    assert response.status_code == 200
    assert world.stored_order("carol_library") == [world.row("track", world.track("other_a"))]


# The 404 matrix: whichever of organization, collection and track is not the caller's, the answer is the same
# (apart from trace_id and timestamp) and nothing is stored.
ALICE_ORGANIZATIONS = ["org1", "org2", "unknown_org", "malformed_org"]
ALICE_COLLECTIONS = [
    "alice_library", "alice_playlist", "bob_library", "carol_library", "unknown_collection", "malformed_collection"
]
ALICE_TRACKS = ["a", "other_a", "other_only", "unknown", "undecodable"]
ALICE_FAILURES = [
    case
    for case in itertools.product(ALICE_ORGANIZATIONS, ALICE_COLLECTIONS, ALICE_TRACKS)
    if not (case[0] == "org1" and case[1] in ("alice_library", "alice_playlist") and case[2] == "a")
]
CAROL_FAILURES = [
    case
    for case in itertools.product(
        ["org2", "org1", "unknown_org"], ["carol_library", "alice_library", "alice_playlist", "bob_library"],
        ["other_a", "other_only", "a", "unknown"],
    )
    if not (case[0] == "org2" and case[1] == "carol_library" and case[2] in ("other_a", "other_only"))
]
MATRIX = [("alice", *case) for case in ALICE_FAILURES] + [("carol", *case) for case in CAROL_FAILURES]


def expected_not_found(world, collection, track):
    return {
        "success": False,
        "error": {
            "code": "RESOURCE_NOT_FOUND",
            "message": "The requested resource was not found.",
            "system_message": "Collection not owned by caller or track not found",
            "type": "client_error",
            "status": 404,
            "details": {"collection_id": world.collections[collection], "track_id": world.tracks[track]},
        },
    }


@pytest.mark.parametrize("caller, organization, collection, track", MATRIX)
def test_not_the_callers_answers_one_identical_404(client, world, caller, organization, collection, track):
    # Every collection holds tracks, so a wrongly allowed add would change an existing collection.
    for user, own_track in (("alice", "b"), ("bob", "b"), ("carol", "other_b")):
        assert add(client, world, user, own_track).status_code == 200
    add(client, world, "alice", "b", collection="alice_playlist")
    before = world.store.snapshot()
    response = add(client, world, caller, track, organization=organization, collection=collection)
    assert_envelope(response, status=404, code="RESOURCE_NOT_FOUND")
    assert envelope_without_volatile(response.json) == expected_not_found(world, collection, track)
    assert world.store.snapshot() == before


def test_playlist_capacity_refuses_new_tracks_but_not_present_ones(database_path, world):
    app = create_app({"DATABASE": str(database_path), "TESTING": True, "PLAYLIST_TRACK_CAPACITY": 2})
    client = app.test_client()
    try:
        assert add(client, world, "alice", "a", collection="alice_playlist").status_code == 200
        assert add(client, world, "alice", "b", collection="alice_playlist").status_code == 200
        before = world.store.snapshot()
        full = add(client, world, "alice", "c", collection="alice_playlist")
        error = assert_envelope(full, status=409, code="COLLECTION_FULL")
        assert error["details"] == {"collection_id": world.collections["alice_playlist"], "track_id": world.track("c")}
        assert world.store.snapshot() == before
        assert add(client, world, "alice", "a", collection="alice_playlist").status_code == 200
        # The library has its own, larger capacity.
        assert add(client, world, "alice", "c").status_code == 200
        assert world.store.snapshot() != before
    finally:
        get_store(app).close()
