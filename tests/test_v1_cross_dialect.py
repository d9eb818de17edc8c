"""Two views of one library: a change through either dialect is seen through the other at once."""

import requests

from conftest import TRACK_A, TRACK_B, TRACK_C
from groove_compat import ids
from groove_compat.app import create_app, get_store
from v1_world import world  # noqa: F401

GROOVE_ADD = "/1/content/music/collection/add"


def groove_add(client, world, track_ids, user="alice"):
    response = client.post(GROOVE_ADD, headers=world.users[user].bearer, json={"TrackIds": track_ids})
    assert response.status_code == 200
    return response.json


def v1_add(client, world, track, collection="alice_library"):
    return client.post(
        world.url("org1", collection, "tracks"), headers=world.users["alice"].headers, json={"track_id": world.track(track)}
    )


def v1_items(client, world, collection="alice_library"):
    response = client.get(world.url("org1", collection, "tracks"), headers=world.users["alice"].headers)
    assert response.status_code == 200
    return response.json["data"]


def test_groove_adds_are_listed_by_v1_in_order_with_the_entry_ids_groove_answered(client, world):
    answer = groove_add(client, world, [TRACK_C, TRACK_A])
    groove_ids = [result["Id"] for result in answer["TrackActionResults"]]
    items = v1_items(client, world)
    assert [(item["id"], item["groove_catalog_id"], item["groove_collection_id"], item["position"]) for item in items] == [
        (world.track("c"), TRACK_C, groove_ids[0], 0),
        (world.track("a"), TRACK_A, groove_ids[1], 1),
    ]


def test_a_v1_add_is_already_present_for_groove_with_the_same_entry_id(client, world):
    assert v1_add(client, world, "b").status_code == 200
    listed_entry = v1_items(client, world)[0]["groove_collection_id"]
    before = world.store.snapshot()
    for input_id in (TRACK_B, TRACK_B.lower(), listed_entry):
        answer = groove_add(client, world, [input_id])
        assert "Error" not in answer
        assert answer["TrackActionResults"][0]["Id"] == listed_entry
    assert world.store.snapshot() == before


def test_a_groove_add_of_a_track_v1_already_added_is_idempotent_in_v1_too(client, world):
    groove_add(client, world, [TRACK_A])
    before = world.store.snapshot()
    assert v1_add(client, world, "a").status_code == 200
    assert world.store.snapshot() == before


def test_v1_remove_and_reorder_are_seen_by_groove_adds(client, world):
    groove_add(client, world, [TRACK_A, TRACK_B, TRACK_C])
    removed = client.delete(world.url("org1", "alice_library", "tracks", "a"), headers=world.users["alice"].headers)
    assert removed.status_code == 200
    # Groove sees the track gone: adding it again appends it at the end, as a new entry.
    answer = groove_add(client, world, [TRACK_A])
    assert "Error" not in answer
    assert [item["id"] for item in v1_items(client, world)] == [world.track(t) for t in ("b", "c", "a")]
    reordered = client.put(
        world.url("org1", "alice_library", "tracks", "order"),
        headers=world.users["alice"].headers,
        json={"track_ids": [world.track(t) for t in ("a", "c", "b")]},
    )
    assert reordered.status_code == 200
    assert world.stored_order("alice_library") == [world.row("track", world.track(t)) for t in ("a", "c", "b")]


def test_the_groove_library_is_the_v1_library_collection_and_playlists_are_apart(client, world):
    v1_add(client, world, "a", collection="alice_playlist")
    groove_add(client, world, [TRACK_B])
    assert [item["groove_catalog_id"] for item in v1_items(client, world)] == [TRACK_B]
    playlist_items = v1_items(client, world, "alice_playlist")
    assert [item["groove_catalog_id"] for item in playlist_items] == [TRACK_A]
    # A playlist entry has its own Groove id, distinct from the library entry of the same track.
    library_entry = groove_add(client, world, [TRACK_A])["TrackActionResults"][0]["Id"]
    assert playlist_items[0]["groove_collection_id"] != library_entry


def test_both_dialects_on_a_live_server_share_one_library(tmp_path):
    from conftest import seeded_database, server_log, start_server, stop_server

    database = tmp_path / "live.sqlite"
    users = seeded_database(database)
    app = create_app({"DATABASE": str(database)})
    store = get_store(app)
    codec = ids.IdCodec(store.id_key())
    alice = users["alice"]
    organization = codec.public_id("organization", 1)
    library = codec.public_id("collection", store.user(alice.user_id)["library_id"])
    (track_row,) = store.tracks_by_guid(organization_id=1, guids=[ids.parse_catalog_guid(TRACK_B)]).values()
    store.close()
    url, process = start_server(database, workers=1)
    try:
        added = requests.post(
            f"{url}/v1/music/{organization}/collections/{library}/tracks",
            headers={"X-API-Key": alice.token},
            json={"track_id": codec.public_id("track", track_row)},
            timeout=10,
        )
        assert added.status_code == 200 and added.json()["detail"] == "Track added to collection."
        groove = requests.post(url + GROOVE_ADD, headers=alice.headers, json={"TrackIds": [TRACK_B]}, timeout=10).json()
        listing = requests.get(
            f"{url}/v1/music/{organization}/collections/{library}/tracks", headers={"X-API-Key": alice.token}, timeout=10
        ).json()
        assert [item["groove_collection_id"] for item in listing["data"]] == [groove["TrackActionResults"][0]["Id"]]
        missing = requests.get(f"{url}/v1/music/{organization}/collections", timeout=10)
        assert missing.status_code == 401
        assert missing.json()["error"]["trace_id"] == missing.headers["X-Request-Id"]
    finally:
        stop_server(process)
    log = server_log(process)
    assert f'"request_id":"{missing.headers["X-Request-Id"]}"' in log
