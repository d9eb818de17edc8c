"""Collections: list, create, read, rename and delete under /v1/music/{organization_id}/collections."""

import itertools
import re

import pytest

from groove_compat.app import create_app, get_store
from v1_world import assert_envelope, envelope_without_volatile, world  # noqa: F401

ISO_MILLISECONDS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def call(client, world, method, *path, user="alice", organization=None, **kwargs):
    url = world.url(organization or world.users[user].organization, *path)
    return client.open(url, method=method, headers=world.users[user].headers, **kwargs)


def test_the_list_holds_the_library_first_then_playlists_by_creation(client, world):
    created = call(client, world, "POST", json={"name": "Later"}).json["id"]
    response = call(client, world, "GET")
    assert response.status_code == 200
    body = response.json
    assert list(body) == ["success", "data"]
    library, mix, later = body["data"]
    assert list(library) == ["id", "kind", "name", "track_count", "groove_playlist_id", "created_at", "updated_at"]
    assert library["id"] == world.collections["alice_library"]
    assert (library["kind"], library["name"], library["groove_playlist_id"]) == ("library", None, None)
    assert (mix["id"], mix["kind"], mix["name"]) == (world.collections["alice_playlist"], "playlist", "Mix")
    assert mix["groove_playlist_id"] == world.codec.playlist_id(world.row("collection", mix["id"]))
    assert (later["id"], later["name"]) == (created, "Later")
    for item in body["data"]:
        assert ISO_MILLISECONDS.match(item["created_at"]) and ISO_MILLISECONDS.match(item["updated_at"])


def test_another_callers_list_holds_only_its_own(client, world):
    assert [item["id"] for item in call(client, world, "GET", user="bob").json["data"]] == [world.collections["bob_library"]]
    assert [item["id"] for item in call(client, world, "GET", user="carol").json["data"]] == [
        world.collections["carol_library"]
    ]


def test_track_count_follows_adds_and_removes(client, world):
    for track in ("a", "b"):
        call(client, world, "POST", "alice_playlist", "tracks", json={"track_id": world.track(track)})
    call(client, world, "DELETE", "alice_playlist", "tracks", "a")
    assert call(client, world, "GET", "alice_playlist").json["data"]["track_count"] == 1


def test_create_answers_201_with_the_new_id_and_its_location(client, world):
    response = call(client, world, "POST", json={"name": "Road trip"})
    assert response.status_code == 201
    body = response.json
    assert list(body) == ["success", "id", "detail"]
    assert body["success"] is True and body["detail"] == "Collection created."
    assert re.fullmatch(r"mcoll_[0-9a-f]{16}", body["id"])
    assert response.headers["Location"] == world.url("org1", body["id"])
    read = client.get(response.headers["Location"], headers=world.users["alice"].headers).json["data"]
    assert (read["id"], read["kind"], read["name"], read["track_count"]) == (body["id"], "playlist", "Road trip", 0)
    # The new playlist takes tracks.
    added = call(client, world, "POST", body["id"], "tracks", json={"track_id": world.track("a")})
    assert added.status_code == 200


def test_rename_changes_only_the_name(client, world):
    response = call(client, world, "PATCH", "alice_playlist", json={"name": "Renamed"})
    assert response.status_code == 200
    assert response.json == {"success": True, "id": world.collections["alice_playlist"], "detail": "Collection renamed."}
    read = call(client, world, "GET", "alice_playlist").json["data"]
    assert (read["name"], read["kind"]) == ("Renamed", "playlist")


def test_delete_removes_the_playlist_and_its_entries(client, world):
    call(client, world, "POST", "alice_playlist", "tracks", json={"track_id": world.track("a")})
    call(client, world, "POST", "alice_library", "tracks", json={"track_id": world.track("a")})
    response = call(client, world, "DELETE", "alice_playlist")
    assert response.status_code == 200
    assert response.json == {"success": True, "id": world.collections["alice_playlist"], "detail": "Collection deleted."}
    assert world.store.table_counts()["entries"] == 1
    assert call(client, world, "GET", "alice_playlist").status_code == 404
    before = world.store.snapshot()
    assert_envelope(call(client, world, "DELETE", "alice_playlist"), status=404, code="RESOURCE_NOT_FOUND")
    assert world.store.snapshot() == before


@pytest.mark.parametrize("method, body, what", [("PATCH", {"name": "Mine"}, "renamed"), ("DELETE", None, "deleted")])
def test_the_library_cannot_be_renamed_or_deleted(client, world, method, body, what):
    call(client, world, "POST", "alice_library", "tracks", json={"track_id": world.track("a")})
    before = world.store.snapshot()
    response = call(client, world, method, "alice_library", json=body)
    error = assert_envelope(response, status=409, code="LIBRARY_IS_PERMANENT")
    assert error["system_message"] == f"The library collection cannot be {what}"
    assert error["details"] == {"collection_id": world.collections["alice_library"]}
    assert world.store.snapshot() == before


def test_the_playlist_quota_is_a_409(database_path, world):
    app = create_app({"DATABASE": str(database_path), "TESTING": True, "PLAYLIST_CAPACITY": 2})
    client = app.test_client()
    try:
        assert call(client, world, "POST", json={"name": "Second"}).status_code == 201
        before = world.store.snapshot()
        error = assert_envelope(call(client, world, "POST", json={"name": "Third"}), status=409, code="COLLECTION_LIMIT_REACHED")
        assert error["details"] == {"limit": 2}
        assert world.store.snapshot() == before
        assert call(client, world, "POST", user="bob", json={"name": "Bob's"}).status_code == 201
    finally:
        get_store(app).close()


@pytest.mark.parametrize(
    "body, fields",
    [
        ({}, {"name": ["Missing data for required field."]}),
        ({"name": None}, {"name": ["Field may not be null."]}),
        ({"name": 5}, {"name": ["Not a valid string."]}),
        ({"name": ""}, {"name": ["Length must be between 1 and 200.", "Must not be blank."]}),
        ({"name": "   "}, {"name": ["Must not be blank."]}),
        ({"name": "x" * 201}, {"name": ["Length must be between 1 and 200."]}),
        ({"name": "Ok", "is_published": True}, {"is_published": ["Unknown field."]}),
        (["name"], {"_schema": ["Invalid input type."]}),
    ],
)
@pytest.mark.parametrize("method, path", [("POST", ()), ("PATCH", ("alice_playlist",))])
def test_a_bad_name_is_a_validation_error(client, world, method, path, body, fields):
    before = world.store.snapshot()
    response = call(client, world, method, *path, json=body)
    assert assert_envelope(response, status=400, code="VALIDATION_ERROR")["details"] == {"fields": fields}
    assert world.store.snapshot() == before


def test_a_name_of_200_characters_with_any_letters_is_kept(client, world):
    name = "Ünïcödé ♫ " + "x" * 190
    created = call(client, world, "POST", json={"name": name}).json["id"]
    assert call(client, world, "GET", created).json["data"]["name"] == name


COLLECTION_CASES = [
    case
    for case in itertools.product(
        ["org1", "org2", "unknown_org", "malformed_org"],
        ["alice_playlist", "bob_library", "carol_library", "unknown_collection", "malformed_collection"],
    )
    if case != ("org1", "alice_playlist")
]


@pytest.mark.parametrize("organization, collection", COLLECTION_CASES)
@pytest.mark.parametrize("method, body", [("GET", None), ("PATCH", {"name": "Taken"}), ("DELETE", None)])
def test_a_collection_not_the_callers_answers_one_identical_404(client, world, organization, collection, method, body):
    before = world.store.snapshot()
    response = call(client, world, method, collection, organization=organization, json=body)
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


@pytest.mark.parametrize("method, body", [("PATCH", {"name": "Taken"}), ("DELETE", None), ("GET", None)])
def test_a_playlist_of_another_user_of_the_same_organization_is_not_found(client, world, method, body):
    bob_playlist = call(client, world, "POST", user="bob", json={"name": "Bob's"}).json["id"]
    before = world.store.snapshot()
    response = call(client, world, method, bob_playlist, json=body)
    assert_envelope(response, status=404, code="RESOURCE_NOT_FOUND")
    assert world.store.snapshot() == before


@pytest.mark.parametrize("organization", ["org2", "unknown_org", "malformed_org"])
@pytest.mark.parametrize("method, body", [("GET", None), ("POST", {"name": "Elsewhere"})])
def test_an_organization_not_the_callers_answers_404(client, world, organization, method, body):
    before = world.store.snapshot()
    response = call(client, world, method, organization=organization, json=body)
    error = assert_envelope(response, status=404, code="RESOURCE_NOT_FOUND")
    assert error["system_message"] == "Organization not found"
    assert error["details"] == {"organization_id": world.organizations[organization]}
    assert world.store.snapshot() == before
