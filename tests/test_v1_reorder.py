"""PUT .../collections/{collection_id}/tracks/order (a whole new order) and POST .../tracks/move (one track)."""

import itertools

import pytest

from v1_world import assert_envelope, envelope_without_volatile, world  # noqa: F401


def fill(client, world, count, collection="alice_library"):
    tracks = world.tracks["all_org1"][:count]
    for track in tracks:
        response = client.post(
            world.url("org1", collection, "tracks"), headers=world.users["alice"].headers, json={"track_id": track}
        )
        assert response.status_code == 200
    return tracks


def reorder(client, world, track_ids, collection="alice_library", organization="org1"):
    return client.put(
        world.url(organization, collection, "tracks", "order"),
        headers=world.users["alice"].headers,
        json={"track_ids": [world.tracks.get(t, t) for t in track_ids]},
    )


def move(client, world, body, collection="alice_library", organization="org1"):
    return client.post(world.url(organization, collection, "tracks", "move"), headers=world.users["alice"].headers, json=body)


def positions(client, world, collection="alice_library"):
    body = client.get(
        world.url("org1", collection, "tracks"), headers=world.users["alice"].headers, query_string={"limit": 200}
    ).json
    assert [item["position"] for item in body["data"]] == list(range(len(body["data"])))
    return [item["id"] for item in body["data"]]


@pytest.mark.parametrize("collection", ["alice_library", "alice_playlist"])
def test_a_full_new_order_is_stored_and_listed(client, world, collection):
    tracks = fill(client, world, 5, collection)
    new_order = [tracks[i] for i in (4, 2, 0, 1, 3)]
    response = reorder(client, world, new_order, collection)
    assert response.status_code == 200
    assert response.json == {"success": True, "id": world.collections[collection], "detail": "Collection reordered."}
    assert positions(client, world, collection) == new_order
    assert world.stored_order(collection) == [world.row("track", t) for t in new_order]


def test_appends_after_a_reorder_go_to_the_end(client, world):
    tracks = fill(client, world, 4)
    reorder(client, world, [tracks[3], tracks[2], tracks[1], tracks[0]])
    extra = world.tracks["all_org1"][4]
    client.post(world.url("org1", "alice_library", "tracks"), headers=world.users["alice"].headers, json={"track_id": extra})
    assert positions(client, world) == [tracks[3], tracks[2], tracks[1], tracks[0], extra]


def test_the_current_order_changes_nothing(client, world):
    tracks = fill(client, world, 3)
    before = world.store.snapshot()
    assert reorder(client, world, tracks).status_code == 200
    assert world.store.snapshot() == before


def test_an_empty_collection_takes_an_empty_order(client, world):
    assert reorder(client, world, [], "alice_playlist").status_code == 200


@pytest.mark.parametrize(
    "make_order, missing, unexpected, duplicated",
    [
        (lambda t: t[:2], [2], [], []),
        (lambda t: [*t, "d"], [], ["d"], []),
        (lambda t: [*t, "other_a"], [], ["other_a"], []),
        (lambda t: [*t, "unknown"], [], ["unknown"], []),
        (lambda t: [*t, "undecodable", "undecodable"], [], ["undecodable"], ["undecodable"]),
        (lambda t: [t[0], t[0], t[1], t[2]], [], [], [0]),
        (lambda t: [t[0], t[0], t[1], "other_only"], [2], ["other_only"], [0]),
    ],
)
def test_a_wrong_set_of_ids_is_a_400_naming_them(client, world, make_order, missing, unexpected, duplicated):
    tracks = fill(client, world, 3)
    world.tracks["d"] = world.tracks["all_org1"][10]

    def name(item):
        return tracks[item] if isinstance(item, int) else world.tracks[item]

    before = world.store.snapshot()
    response = reorder(client, world, make_order(tracks))
    error = assert_envelope(response, status=400, code="INVALID_REORDER")
    assert error["details"] == {
        "collection_id": world.collections["alice_library"],
        "missing": sorted(name(i) for i in missing),
        "unexpected": sorted(name(i) for i in unexpected),
        "duplicated": sorted(name(i) for i in duplicated),
    }
    assert world.store.snapshot() == before


@pytest.mark.parametrize(
    "body, fields",
    [
        ({}, {"track_ids": ["Missing data for required field."]}),
        ({"track_ids": None}, {"track_ids": ["Field may not be null."]}),
        ({"track_ids": "mtrack_0000000000000001"}, {"track_ids": ["Not a valid list."]}),
        ({"track_ids": ["x", 5]}, {"track_ids": {"0": ["Not a track id (mtrack_ and 16 hex digits)."], "1": ["Not a valid string."]}}),
        ({"track_ids": [], "version": 3}, {"version": ["Unknown field."]}),
    ],
)
def test_a_malformed_order_is_a_validation_error(client, world, body, fields):
    fill(client, world, 2)
    before = world.store.snapshot()
    response = client.put(world.url("org1", "alice_library", "tracks", "order"), headers=world.users["alice"].headers, json=body)
    assert assert_envelope(response, status=400, code="VALIDATION_ERROR")["details"] == {"fields": fields}
    assert world.store.snapshot() == before


@pytest.mark.parametrize(
    "moved, before, expected",
    [
        (3, 0, [3, 0, 1, 2, 4]),
        (0, 3, [1, 2, 0, 3, 4]),
        (1, None, [0, 2, 3, 4, 1]),
        (4, 2, [0, 1, 4, 2, 3]),
        (1, 2, [0, 1, 2, 3, 4]),
    ],
)
@pytest.mark.parametrize("collection", ["alice_library", "alice_playlist"])
def test_move_places_one_track_before_another_or_at_the_end(client, world, moved, before, expected, collection):
    tracks = fill(client, world, 5, collection)
    body = {"track_id": tracks[moved]}
    if before is not None:
        body["before_track_id"] = tracks[before]
    response = move(client, world, body, collection)
    assert response.status_code == 200
    assert response.json == {"success": True, "id": tracks[moved], "detail": "Track moved."}
    assert positions(client, world, collection) == [tracks[i] for i in expected]


def test_move_with_a_null_before_moves_to_the_end(client, world):
    tracks = fill(client, world, 3)
    assert move(client, world, {"track_id": tracks[0], "before_track_id": None}).status_code == 200
    assert positions(client, world) == [tracks[1], tracks[2], tracks[0]]


@pytest.mark.parametrize(
    "moved, before, unexpected",
    [
        ("d", None, ["d"]),
        ("other_a", 0, ["other_a"]),
        (0, "unknown", ["unknown"]),
        ("undecodable", "d", ["undecodable", "d"]),
    ],
)
def test_move_of_or_before_a_track_not_in_the_collection_is_a_400(client, world, moved, before, unexpected):
    tracks = fill(client, world, 3)
    world.tracks["d"] = world.tracks["all_org1"][10]

    def name(item):
        return tracks[item] if isinstance(item, int) else world.tracks[item]

    before_snapshot = world.store.snapshot()
    body = {"track_id": name(moved), "before_track_id": None if before is None else name(before)}
    error = assert_envelope(move(client, world, body), status=400, code="INVALID_REORDER")
    assert error["details"] == {"collection_id": world.collections["alice_library"], "unexpected": [name(i) for i in unexpected]}
    assert world.store.snapshot() == before_snapshot


@pytest.mark.parametrize(
    "body, fields",
    [
        ({}, {"track_id": ["Missing data for required field."]}),
        ({"track_id": 7}, {"track_id": ["Not a valid string."]}),
        ({"track_id": "SELF", "before_track_id": "SELF"}, {"before_track_id": ["Must differ from track_id."]}),
        ({"track_id": "SELF", "after_track_id": "SELF"}, {"after_track_id": ["Unknown field."]}),
        ({"track_id": "SELF", "before_track_id": "mcoll_0000000000000001"}, {"before_track_id": ["Not a track id (mtrack_ and 16 hex digits)."]}),
    ],
)
def test_a_malformed_move_is_a_validation_error(client, world, body, fields):
    tracks = fill(client, world, 2)
    body = {key: tracks[0] if value == "SELF" else value for key, value in body.items()}
    before = world.store.snapshot()
    assert assert_envelope(move(client, world, body), status=400, code="VALIDATION_ERROR")["details"] == {"fields": fields}
    assert world.store.snapshot() == before


NOT_THE_CALLERS = [
    case
    for case in itertools.product(
        ["org1", "org2", "unknown_org", "malformed_org"],
        ["alice_library", "bob_library", "carol_library", "unknown_collection", "malformed_collection"],
    )
    if case != ("org1", "alice_library")
]


@pytest.mark.parametrize("organization, collection", NOT_THE_CALLERS)
@pytest.mark.parametrize("operation", ["reorder", "move"])
def test_not_the_callers_answers_one_identical_404(client, world, organization, collection, operation):
    tracks = fill(client, world, 2)
    # Bob's library holds the same tracks, so a wrongly allowed reorder of it would succeed.
    for track in tracks:
        client.post(world.url("org1", "bob_library", "tracks"), headers=world.users["bob"].headers, json={"track_id": track})
    before = world.store.snapshot()
    if operation == "reorder":
        response = reorder(client, world, [tracks[1], tracks[0]], collection, organization)
    else:
        response = move(client, world, {"track_id": tracks[1], "before_track_id": tracks[0]}, collection, organization)
    assert_envelope(response, status=404, code="RESOURCE_NOT_FOUND")
    assert envelope_without_volatile(response.json)["error"]["details"] == {"collection_id": world.collections[collection]}
    assert response.json["error"]["system_message"] == "Collection not owned by caller"
    assert world.store.snapshot() == before
