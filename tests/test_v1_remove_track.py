"""DELETE /v1/music/{organization_id}/collections/{collection_id}/tracks/{track_id}."""

import itertools
import json

import pytest

from v1_world import assert_envelope, envelope_without_volatile, world  # noqa: F401


def add(client, world, user, track, collection):
    response = client.post(
        world.url(world.users[user].organization, collection, "tracks"),
        headers=world.users[user].headers,
        json={"track_id": world.tracks.get(track, track)},
    )
    assert response.status_code == 200


def remove(client, world, user, track, *, organization=None, collection=None):
    return client.delete(
        world.url(organization or world.users[user].organization, collection or f"{user}_library", "tracks", track),
        headers=world.users[user].headers,
    )


@pytest.mark.parametrize("collection", ["alice_library", "alice_playlist"])
def test_remove_takes_the_track_out_and_keeps_the_others_in_order(client, world, collection):
    tracks = world.tracks["all_org1"][:4]
    for track in tracks:
        add(client, world, "alice", track, collection)
    response = remove(client, world, "alice", tracks[1], collection=collection)
    assert response.status_code == 200
    assert response.get_data() == json.dumps(
        {"success": True, "id": tracks[1], "detail": "Track removed from collection."}, separators=(",", ":")
    ).encode()
    remaining = [tracks[0], tracks[2], tracks[3]]
    assert world.listed(client, "alice", collection) == remaining
    listing = client.get(world.url("org1", collection, "tracks"), headers=world.users["alice"].headers).json
    assert [item["position"] for item in listing["data"]] == [0, 1, 2]


def test_removing_a_catalog_track_not_in_the_collection_is_a_200_that_changes_nothing(client, world):
    add(client, world, "alice", "a", "alice_library")
    assert remove(client, world, "alice", "b").status_code == 200
    before = world.store.snapshot()
    for _ in range(2):
        response = remove(client, world, "alice", "b")
        assert response.status_code == 200
        assert response.json == {"success": True, "id": world.track("b"), "detail": "Track was not in the collection."}
    assert world.store.snapshot() == before


def test_remove_then_add_appends_again_at_the_end(client, world):
    for track in ("a", "b", "c"):
        add(client, world, "alice", track, "alice_library")
    remove(client, world, "alice", "a")
    add(client, world, "alice", "a", "alice_library")
    assert world.listed(client, "alice", "alice_library") == [world.track(t) for t in ("b", "c", "a")]


ALICE_FAILURES = [
    case
    for case in itertools.product(
        ["org1", "org2", "unknown_org", "malformed_org"],
        ["alice_library", "bob_library", "carol_library", "unknown_collection", "malformed_collection"],
        ["a", "other_a", "other_only", "unknown", "undecodable", "mtrack_short", "music.A83EB907"],
    )
    if not (case[0] == "org1" and case[1] == "alice_library" and case[2] == "a")
]


@pytest.mark.parametrize("organization, collection, track", ALICE_FAILURES)
def test_not_the_callers_answers_one_identical_404(client, world, organization, collection, track):
    # Each of these collections holds its owner's copy of the track, so a wrong remove would show.
    add(client, world, "alice", "a", "alice_library")
    add(client, world, "bob", "a", "bob_library")
    add(client, world, "carol", "other_a", "carol_library")
    add(client, world, "carol", "other_only", "carol_library")
    before = world.store.snapshot()
    response = remove(client, world, "alice", track, organization=organization, collection=collection)
    assert_envelope(response, status=404, code="RESOURCE_NOT_FOUND")
    assert envelope_without_volatile(response.json)["error"] == {
        "code": "RESOURCE_NOT_FOUND",
        "message": "The requested resource was not found.",
        "system_message": "Collection not owned by caller or track not found",
        "type": "client_error",
        "status": 404,
        "details": {"collection_id": world.collections[collection], "track_id": world.tracks.get(track, track)},
    }
    assert world.store.snapshot() == before
