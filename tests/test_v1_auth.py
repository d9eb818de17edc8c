"""API keys: one credential is an ``X-API-Key`` in the v1 dialect and a Bearer token in the Groove dialect."""

import pytest

from conftest import TRACK_A, main
from v1_world import assert_envelope, envelope_without_volatile, world  # noqa: F401

EXPECTED_401 = {
    "success": False,
    "error": {
        "code": "AUTHENTICATION_REQUIRED",
        "message": "Authentication required. Please provide a valid API key.",
        "system_message": "Missing or invalid authorization header",
        "type": "authentication_error",
        "status": 401,
        "details": {},
    },
}


def issue(runner, user):
    result = runner.invoke(main, ["tokens", "issue", user])
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


def v1_add(client, world, headers, track="a"):
    return client.post(world.url("org1", "alice_library", "tracks"), headers=headers, json={"track_id": world.track(track)})


def groove_add(client, headers, track=TRACK_A):
    return client.post("/1/content/music/collection/add", headers=headers, json={"TrackIds": [track]})


def test_one_issued_credential_works_in_both_dialects(client, runner, world):
    token = issue(runner, "alice")
    assert v1_add(client, world, {"X-API-Key": token}).status_code == 200
    groove = groove_add(client, {"Authorization": f"Bearer {token}"}, track="music.873FB507-0100-11DB-89CA-0019B92A3933")
    assert groove.status_code == 200 and "Error" not in groove.json
    assert world.listed(client, "alice", "alice_library") == [world.track("a"), world.track("b")]


def test_the_v1_dialect_also_takes_a_bearer_token(client, world):
    assert v1_add(client, world, world.users["alice"].bearer).status_code == 200


def test_x_api_key_wins_over_authorization(client, world):
    before = world.store.snapshot()
    headers = {"X-API-Key": "gct_not-a-key", **world.users["alice"].bearer}
    assert_envelope(v1_add(client, world, headers), status=401, code="AUTHENTICATION_REQUIRED", error_type="authentication_error")
    assert world.store.snapshot() == before
    # An empty X-API-Key counts as absent.
    assert v1_add(client, world, {"X-API-Key": "", **world.users["alice"].bearer}).status_code == 200


def test_a_revoked_credential_fails_in_both_dialects(client, runner, world):
    token = issue(runner, "alice")
    assert v1_add(client, world, {"X-API-Key": token}).status_code == 200
    revoked = runner.invoke(main, ["tokens", "revoke", token])
    assert revoked.exit_code == 0, revoked.output
    before = world.store.snapshot()
    response = v1_add(client, world, {"X-API-Key": token}, track="b")
    assert_envelope(response, status=401, code="AUTHENTICATION_REQUIRED", error_type="authentication_error")
    assert envelope_without_volatile(response.json) == EXPECTED_401
    groove = groove_add(client, {"Authorization": f"Bearer {token}"})
    assert groove.status_code == 401
    assert groove.json["Error"]["ErrorCode"] == "INVALID-AUTHORIZATION-HEADER"
    assert world.store.snapshot() == before
    # The user's other credential still works.
    assert v1_add(client, world, world.users["alice"].headers, track="b").status_code == 200


CREDENTIALS = {
    "none": lambda world: {},
    "empty key": lambda world: {"X-API-Key": ""},
    "unknown key": lambda world: {"X-API-Key": "gct_" + "A" * 43},
    "too long key": lambda world: {"X-API-Key": "k" * 600},
    "basic scheme": lambda world: {"Authorization": "Basic " + world.users["alice"].token},
    "empty bearer": lambda world: {"Authorization": "Bearer "},
    "unknown bearer": lambda world: {"Authorization": "Bearer gct_nope"},
    "key of a deleted-looking credential id": lambda world: {"X-API-Key": "tok_0000000000000001"},
}

ENDPOINTS = [
    ("GET", ("org1",), None),
    ("POST", ("org1",), {"name": "New"}),
    ("GET", ("org1", "alice_playlist"), None),
    ("PATCH", ("org1", "alice_playlist"), {"name": "New"}),
    ("DELETE", ("org1", "alice_playlist"), None),
    ("GET", ("org1", "alice_library", "tracks"), None),
    ("POST", ("org1", "alice_library", "tracks"), {"track_id": "a"}),
    ("DELETE", ("org1", "alice_library", "tracks", "a"), None),
    ("PUT", ("org1", "alice_library", "tracks", "order"), {"track_ids": ["a"]}),
    ("POST", ("org1", "alice_library", "tracks", "move"), {"track_id": "a"}),
    # Authentication comes first: an unknown organization or a bad body does not change the answer.
    ("GET", ("org2",), None),
    ("POST", ("unknown_org", "alice_library", "tracks"), {"track_id": "not-an-id"}),
]


@pytest.mark.parametrize("credential", CREDENTIALS)
@pytest.mark.parametrize("method, path, body", ENDPOINTS, ids=[f"{m} {'/'.join(p)}" for m, p, _ in ENDPOINTS])
def test_without_a_valid_key_every_endpoint_answers_the_seeds_401(client, world, credential, method, path, body):
    client.post(world.url("org1", "alice_library", "tracks"), headers=world.users["alice"].headers, json={"track_id": world.track("a")})
    if body is not None:
        body = {key: world.tracks.get(value, value) if isinstance(value, str) else [world.track(v) for v in value] for key, value in body.items()}
    before = world.store.snapshot()
    response = client.open(world.url(*path), method=method, headers=CREDENTIALS[credential](world), json=body)
    assert_envelope(response, status=401, code="AUTHENTICATION_REQUIRED", error_type="authentication_error")
    assert envelope_without_volatile(response.json) == EXPECTED_401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="groove-compat"'
    assert world.store.snapshot() == before
