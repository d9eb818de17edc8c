"""Organizations: created by the CLI, each with its own catalog and users; a track of another organization
does not exist for a caller, in either dialect."""

import re

import pytest

from conftest import SAMPLE_CATALOG, TRACK_A, TRACK_B, main
from groove_compat import ids
from v1_world import OTHER_ONLY_GUID, assert_envelope, world  # noqa: F401


def invoke(runner, *arguments):
    result = runner.invoke(main, list(arguments))
    assert result.exit_code == 0, result.output
    return result.output


def test_orgs_create_prints_an_id_that_catalog_import_and_users_create_take(runner, client, store, codec, tmp_path):
    organization = invoke(runner, "orgs", "create", "Acme Records").strip()
    assert re.fullmatch(r"org_[0-9a-f]{16}", organization)
    catalog = tmp_path / "acme.csv"
    catalog.write_text(
        "id,title,artist\nmusic.11111111-2222-3333-4444-555555555555,Acme Song,Acme Band\n"
        f"{TRACK_A},Acme's Atlas,Acme Band\n"
    )
    assert "2 stored" in invoke(runner, "catalog", "import", "--org", organization, str(catalog))
    user = invoke(runner, "users", "create", "--org", organization, "dora").strip()
    token = invoke(runner, "tokens", "issue", user).strip().splitlines()[-1]

    organization_row = codec.parse_public_id("organization", organization)
    assert store.count_tracks(organization_id=organization_row) == 2
    assert store.user(codec.parse_public_id("user", user))["organization_id"] == organization_row

    # Dora's library is in the v1 dialect under her organization, and takes her organization's tracks.
    headers = {"X-API-Key": token}
    collections = client.get(f"/v1/music/{organization}/collections", headers=headers).json["data"]
    assert [item["kind"] for item in collections] == ["library"]
    (row,) = store.tracks_by_guid(organization_id=organization_row, guids=[ids.parse_catalog_guid(TRACK_A)]).values()
    added = client.post(
        f"/v1/music/{organization}/collections/{collections[0]['id']}/tracks",
        headers=headers,
        json={"track_id": codec.public_id("track", row)},
    )
    assert added.status_code == 200
    listing = client.get(f"/v1/music/{organization}/collections/{collections[0]['id']}/tracks", headers=headers).json
    assert [(item["title"], item["groove_catalog_id"]) for item in listing["data"]] == [("Acme's Atlas", TRACK_A)]


def test_orgs_list_shows_each_organization_with_its_counts(runner, store):
    organization = invoke(runner, "orgs", "create", "Acme").strip()
    invoke(runner, "catalog", "import", "--org", organization, SAMPLE_CATALOG)
    invoke(runner, "users", "create", "--org", organization, "dora")
    lines = invoke(runner, "orgs", "list").splitlines()
    assert len(lines) == 2
    assert re.fullmatch(r"org_[0-9a-f]{16}  2 users  32 tracks  created \S+Z  default", lines[0])
    assert re.fullmatch(rf"{organization}  1 users  32 tracks  created \S+Z  Acme", lines[1])


@pytest.mark.parametrize("arguments", [["orgs", "create", "  "], ["users", "create", "--org", "org_0000000000000000", "x"]])
def test_orgs_mistakes_are_refused(runner, store, arguments):
    before = store.table_counts()
    result = runner.invoke(main, arguments)
    assert result.exit_code == 1
    assert "Error:" in result.output
    assert store.table_counts() == before


def test_catalog_import_into_an_unknown_organization_is_refused(runner, store):
    before = store.table_counts()
    result = runner.invoke(main, ["catalog", "import", "--org", "org_abc", SAMPLE_CATALOG])
    assert result.exit_code == 1 and "no organization 'org_abc'" in result.output
    assert store.table_counts() == before


def test_a_groove_catalog_id_resolves_to_the_callers_own_organization(client, world):
    """The same Groove GUID is a different track row in each organization: each caller gets its own."""
    for user in ("alice", "carol"):
        response = client.post(
            "/1/content/music/collection/add", headers=world.users[user].bearer, json={"TrackIds": [TRACK_A]}
        )
        assert response.status_code == 200 and "Error" not in response.json
    assert world.stored_order("alice_library") == [world.row("track", world.track("a"))]
    assert world.stored_order("carol_library") == [world.row("track", world.track("other_a"))]


def test_a_track_only_another_organization_has_does_not_exist_in_the_groove_add(client, world, store):
    other_only = ids.catalog_id(OTHER_ONLY_GUID)
    before = store.snapshot()
    response = client.post(
        "/1/content/music/collection/add", headers=world.users["alice"].bearer, json={"TrackIds": [other_only]}
    )
    assert response.status_code == 200
    (result,) = response.json["TrackActionResults"]
    assert result["InputId"] == other_only
    assert result["Error"]["ErrorCode"] == "COLLECTION-INVALID-ID"
    assert response.json["Error"]["ErrorCode"] == "COLLECTION-SOME-OPERATIONS-FAILED"
    assert store.snapshot() == before
    # Carol, whose organization has it, adds it.
    response = client.post(
        "/1/content/music/collection/add", headers=world.users["carol"].bearer, json={"TrackIds": [other_only]}
    )
    assert "Error" not in response.json


def test_an_entry_id_of_another_organization_is_invalid_in_the_groove_add(client, world, store):
    carol = client.post("/1/content/music/collection/add", headers=world.users["carol"].bearer, json={"TrackIds": [TRACK_B]})
    carol_entry = carol.json["TrackActionResults"][0]["Id"]
    before = store.snapshot()
    response = client.post("/1/content/music/collection/add", headers=world.users["alice"].bearer, json={"TrackIds": [carol_entry]})
    assert response.json["TrackActionResults"][0]["Error"]["ErrorCode"] == "COLLECTION-INVALID-ID"
    assert store.snapshot() == before


@pytest.mark.parametrize("track", ["other_a", "other_only"])
def test_a_track_of_another_organization_does_not_exist_in_the_v1_add(client, world, track):
    before = world.store.snapshot()
    response = client.post(
        world.url("org1", "alice_library", "tracks"), headers=world.users["alice"].headers, json={"track_id": world.track(track)}
    )
    assert_envelope(response, status=404, code="RESOURCE_NOT_FOUND")
    assert world.store.snapshot() == before
