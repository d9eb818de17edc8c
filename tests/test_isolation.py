"""Authentication and tenant isolation over every route.

The matrix: no credential, a revoked one, another user's, another organization's. Each gets 401, or
item-level COLLECTION-INVALID-ID exactly as for an id that exists nowhere (no hint that another tenant's
data exists), and never touches another tenant's collection. Tokens are stored only as hashes and never
written to logs, answers or the database file.

A route joins by its row in ``reliability.ROUTES`` and a body builder in ``BODIES``.
"""

import json

import pytest
import requests

from conftest import TRACK_A, TRACK_B, UNKNOWN_TRACK, make_user, seeded_database
from groove_compat import ids
from groove_compat.app import create_app, get_store
from reliability import ROUTES, ServerProcess, parse_groove_answer, snapshot

OTHER_ORG_TRACK = "music.0D0E0F10-0100-11DB-89CA-0019B92A3933"

# Per route: a request body over the given ids (the ids the caller asks the route to act on).
BODIES = {
    "groove.add": lambda track_ids: {"TrackIds": track_ids},
}


@pytest.fixture
def tenants(app, store, users):
    """alice and bob in the default organization; carol in a second one with a catalog of its own."""
    organization_id = store.create_organization(name="second")
    store.upsert_tracks([(organization_id, ids.parse_catalog_guid(OTHER_ORG_TRACK), "Elsewhere", "Other", "Other", 100, 1, None)])
    carol = make_user(store, "carol", organization_id=organization_id)
    revoked = make_user(store, "dave")
    store.revoke_credential(store.credential_for_hash(ids.token_hash(revoked.token))[0])
    return {"alice": users["alice"], "bob": users["bob"], "carol": carol, "revoked": revoked}


def library(store, user):
    return store.collection_track_ids(store.user(user.user_id)["library_id"])


def call(client, route, headers, body):
    return client.open(route.path, method=route.method, json=body, headers=headers)


@pytest.mark.parametrize("route", ROUTES, ids=str)
@pytest.mark.parametrize(
    "case, headers",
    [
        ("no-credential", lambda tenants: {}),
        ("revoked-credential", lambda tenants: tenants["revoked"].headers),
        ("unknown-credential", lambda tenants: {"Authorization": "Bearer " + ids.new_token()}),
        ("credential-hash-as-token", lambda tenants: {"Authorization": "Bearer " + ids.token_hash(tenants["alice"].token).hex()}),
        ("credential-in-query-only", lambda tenants: {}),
    ],
)
def test_without_a_valid_credential_nothing_happens(client, store, tenants, route, case, headers):
    before = store.snapshot()
    path = route.path + ("?accessToken=Bearer%20" + tenants["alice"].token if case == "credential-in-query-only" else "")
    answer = client.open(path, method=route.method, json=BODIES[route.name]([TRACK_A]), headers=headers(tenants))
    assert answer.status_code == 401
    assert parse_groove_answer(answer.headers["Content-Type"], answer.data, route.response_type)[1] == "INVALID_AUTHORIZATION_HEADER"
    expected_challenge = "Bearer error='token_expired'" if case == "revoked-credential" else "Bearer"
    assert answer.headers["WWW-Authenticate"] == expected_challenge
    assert store.snapshot() == before


def unknown_id_error(client, route, user):
    """The per-item error for an id that exists nowhere: what every foreign id must look like."""
    answer = call(client, route, user.headers, BODIES[route.name]([UNKNOWN_TRACK])).get_json()
    return answer["TrackActionResults"][0]["Error"]


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_another_users_entry_ids_are_unknown_ids(client, store, tenants, route):
    """bob's collection entry ids mean nothing to alice: they fail like an unknown id and bob's
    collection is untouched; alice's own adds never reach bob's collection."""
    bob, alice = tenants["bob"], tenants["alice"]
    bob_entry = call(client, route, bob.headers, BODIES[route.name]([TRACK_B])).get_json()["TrackActionResults"][0]["Id"]
    bob_before = library(store, bob)
    answer = call(client, route, alice.headers, BODIES[route.name]([bob_entry, TRACK_A])).get_json()
    assert answer["TrackActionResults"][0]["Error"] == unknown_id_error(client, route, alice)
    assert answer["TrackActionResults"][1]["Id"] != bob_entry
    assert library(store, bob) == bob_before
    assert len(library(store, alice)) == 1
    # The same track in two users' collections has two different entry ids.
    alice_b = call(client, route, alice.headers, BODIES[route.name]([TRACK_B])).get_json()["TrackActionResults"][0]["Id"]
    assert alice_b != bob_entry


@pytest.mark.parametrize("route", ROUTES, ids=str)
@pytest.mark.parametrize(
    "caller, foreign_track, own_track",
    [("alice", OTHER_ORG_TRACK, TRACK_A), ("carol", TRACK_A, OTHER_ORG_TRACK)],
)
def test_another_organizations_catalog_does_not_exist_for_the_caller(client, store, tenants, route, caller, foreign_track, own_track):
    user = tenants[caller]
    others_before = {name: library(store, tenants[name]) for name in ("alice", "bob", "carol") if name != caller}
    answer = call(client, route, user.headers, BODIES[route.name]([foreign_track, own_track])).get_json()
    assert answer["TrackActionResults"][0]["Error"] == unknown_id_error(client, route, user)
    assert "Id" in answer["TrackActionResults"][1]
    assert len(library(store, user)) == 1
    assert {name: library(store, tenants[name]) for name in others_before} == others_before


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_another_organizations_isrc_does_not_exist_for_the_caller(client, store, tenants, route):
    """An ISRC of the default organization's catalog means nothing to carol: it fails exactly as an ISRC that
    no catalog has."""
    carol = tenants["carol"]
    answer = call(client, route, carol.headers, BODIES[route.name](["music.isrc.USQX92274821"])).get_json()
    nowhere = call(client, route, carol.headers, BODIES[route.name](["music.isrc.ZZ0000000000"])).get_json()
    assert answer["TrackActionResults"][0]["Error"] == nowhere["TrackActionResults"][0]["Error"]
    assert library(store, tenants["carol"]) == []


def test_tokens_never_reach_the_database_file_logs_or_answers(tmp_path):
    """Every token used (valid, revoked, unknown, in a header or in the query) is absent from the
    database files, the server log and every answer; the database holds only their SHA-256."""
    database = tmp_path / "groove-compat.sqlite"
    users = seeded_database(database)
    app = create_app({"DATABASE": str(database)})
    store = get_store(app)
    revoked = make_user(store, "eve")
    store.revoke_credential(store.credential_for_hash(ids.token_hash(revoked.token))[0])
    store.close()
    unknown = ids.new_token()
    tokens = [users["alice"].token, users["bob"].token, revoked.token, unknown]
    answers = []
    with ServerProcess(database) as server:
        for route in ROUTES:
            for token in tokens:
                for target, headers in (
                    (route.path, {"Authorization": "Bearer " + token}),
                    (route.path + "?accessToken=Bearer%20" + token, {}),
                    (route.path + "?accessToken=" + token + "&contentType=xml", {"Authorization": "Bearer " + token}),
                ):
                    answer = requests.request(
                        route.method, server.url + target, json=BODIES[route.name]([TRACK_A]), headers=headers, timeout=10
                    )
                    answers.append(answer.content)
        log = server.log_text()
    files = b"".join(
        open(path, "rb").read() for path in tmp_path.iterdir() if path.name.startswith("groove-compat.sqlite") and path.is_file()
        and not path.name.endswith(".log")
    )
    for token in tokens:
        assert token not in log
        assert token.encode() not in files
        assert not any(token.encode() in answer for answer in answers)
    for token in (users["alice"].token, users["bob"].token, revoked.token):
        assert ids.token_hash(token) in files
    access = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert access and all("accessToken" not in json.dumps(line) for line in access)


def test_tokens_are_looked_up_by_hash_only(store, alice):
    """The credentials table has no column that could hold a token: only its 32-byte SHA-256."""
    columns = [row[1] for row in store.connection.execute("PRAGMA table_info(credentials)")]
    assert "token" not in columns
    hashes = [row[0] for row in store.connection.execute("SELECT token_hash FROM credentials")]
    assert all(isinstance(value, bytes) and len(value) == 32 for value in hashes)
    assert ids.token_hash(alice.token) in hashes
