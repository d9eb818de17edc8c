"""Authentication and tenant isolation over every route.

The matrix: no credential, a revoked one, another user's, another organization's. Each gets 401, or
item-level COLLECTION-INVALID-ID exactly as for an id that exists nowhere (no hint that another tenant's
data exists), and never touches another tenant's collection. Tokens are stored only as hashes and never
written to logs, answers or the database file.

The first tests hold the add route's item-level rules (entry ids, another organization's catalog and
ISRCs); the matrix at the end runs over every route of ``reliability.ROUTES`` in both dialects (plus the
isolation-only variants in ``ISOLATION_ROUTES``): a route joins by its row there.
"""

import json
import re

import pytest
import requests

from conftest import TRACK_A, TRACK_B, UNKNOWN_TRACK, make_user, seeded_database
from groove_compat import ids
from groove_compat.app import create_app, get_store
from reliability import ROUTES, Route, ServerProcess, fill, parse_answer, parse_groove_answer, targets_of

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


@pytest.mark.parametrize("route", ROUTES[:1], ids=str)
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


@pytest.mark.parametrize("route", ROUTES[:1], ids=str)
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


@pytest.mark.parametrize("route", ROUTES[:1], ids=str)
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


@pytest.mark.parametrize("route", ROUTES[:1], ids=str)
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
        for route in ROUTES[:1]:
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


# ---------------------------------------------------------------------------------------------------------
# The matrix over every route (``reliability.ROUTES``), both dialects.
#
# alice owns a library holding TRACK_A and a playlist "alice's secret mix" holding it too. bob (same
# organization) and carol (another organization) call every route naming alice's things (her playlist
# by both Groove id forms, her collections' mcoll_ ids, her entry id, her organization): each answer must
# be exactly the answer to the same request naming things that exist nowhere (ids replaced by their
# names before comparing), hold nothing of alice's, and leave alice's collections as they were.

# Routes only the matrix needs: lookups of an entry id, and the Groove playlist edits naming a playlist.
ISOLATION_ROUTES = [route for route in ROUTES if route.name not in ("groove.playlists.update", "groove.playlists.delete")] + [
    Route("groove.lookup.entry", "GET", "/1/content/{entry}/lookup?source=collection", None, "ContentResponse"),
    Route("groove.playlists.update", "POST", "/1/content/music/collection/playlists/update", "PlaylistAction",
          "PlaylistActionResponse", valid_body={"Id": "{short_playlist}", "Name": "Hijacked"}),
    Route("groove.playlists.update.tracks", "POST", "/1/content/music/collection/playlists/update", "PlaylistAction",
          "PlaylistActionResponse", valid_body={"Id": "{short_playlist}", "TrackActions": [{"Id": "{entry}", "Action": "Delete"}]}),
    Route("groove.playlists.delete", "POST", "/1/content/music/collection/playlists/delete", "PlaylistAction",
          "PlaylistActionResponse", valid_body={"Id": "{short_playlist}"}),
    Route("groove.delete.entry", "POST", "/1/content/music/collection/delete", "TrackActionRequest",
          "TrackActionResponse", valid_body={"TrackIds": ["{entry}"]}),
    Route("v1.tracks.remove.entry", "DELETE", "/v1/music/{organization}/collections/{playlist}/tracks/{unknown_track}",
          None, "v1", dialect="v1"),
]
VICTIM_KEYS = ("library", "playlist", "groove_playlist", "short_playlist", "entry")
SECRET_NAME = "alice's secret mix"


@pytest.fixture
def matrix(app, store, codec, database_path, tenants):
    carol = tenants["carol"]
    own = {
        name: targets_of(database_path, tenants[name], playlist_name=SECRET_NAME if name == "alice" else None,
                         track=TRACK_A if name != "carol" else OTHER_ORG_TRACK)
        for name in ("alice", "bob", "carol")
    }
    own["alice"]["unknown_track"] = track_id(store, codec, 1, TRACK_A)
    own["bob"]["unknown_track"] = track_id(store, codec, 1, TRACK_B)
    own["carol"]["unknown_track"] = track_id(store, codec, own_organization(store, carol), OTHER_ORG_TRACK)
    nowhere = {
        "organization": codec.public_id("organization", 999),
        "library": codec.public_id("collection", 999_999),
        "playlist": codec.public_id("collection", 999_998),
        "groove_playlist": codec.playlist_id(999_998),
        "short_playlist": codec.playlist_short_id(999_998),
        "entry": codec.entry_id(999_999, 999_999, ids.parse_catalog_guid(TRACK_A)),
    }
    return own, nowhere


def track_id(store, codec, organization_id, catalog_id):
    guid = ids.parse_catalog_guid(catalog_id)
    return codec.public_id("track", store.tracks_by_guid(organization_id=organization_id, guids=[guid])[guid])


def own_organization(store, user):
    return store.user(user.user_id)["organization_id"]


def uses(route, keys):
    text = route.path + json.dumps(route.valid_body)
    return any("{" + key + "}" in text for key in keys)


def ask(client, route, user, targets):
    headers = dict(user.headers)
    body = fill(route.valid_body, targets) if route.valid_body is not None else None
    return client.open(route.target(targets), method=route.method, json=body, headers=headers)


def normalised(answer, targets, keys):
    """Status and body with the named ids replaced by their names and the per-request members removed."""
    text = answer.get_data(as_text=True)
    for key in keys:
        if targets.get(key):
            text = text.replace(targets[key], "{" + key + "}")
    text = re.sub(r'"(trace_id|timestamp)":"[^"]*"', "", text)
    return answer.status_code, text


def alice_state(store, tenants, own):
    alice = own["alice"]
    rows = store.connection.execute(
        "SELECT id, name, track_count, version FROM collections WHERE user_id = ? ORDER BY id", (tenants["alice"].user_id,)
    ).fetchall()
    entries = store.connection.execute(
        "SELECT collection_id, track_id, position FROM entries WHERE collection_id IN"
        " (SELECT id FROM collections WHERE user_id = ?) ORDER BY 1, 2", (tenants["alice"].user_id,)
    ).fetchall()
    return [tuple(row) for row in rows], [tuple(row) for row in entries], alice["playlist"]


def attacks(route):
    """(attacker, whose organization the path names, playlist id form) for every way the route can be aimed."""
    forms = ["short_playlist", "groove_playlist"] if uses(route, ("short_playlist", "groove_playlist")) else ["short_playlist"]
    for attacker, organization in [("bob", "own"), ("carol", "own"), ("carol", "alice's")]:
        if organization == "alice's" and not uses(route, ("organization",)):
            continue
        for form in forms:
            yield attacker, organization, form


@pytest.mark.parametrize("route", ISOLATION_ROUTES, ids=str)
def test_nobody_reaches_another_tenants_things(client, store, tenants, matrix, route):
    for attacker, organization, form in attacks(route):
        check_attack(client, store, tenants, matrix, route, attacker, organization, form)


def check_attack(client, store, tenants, matrix, route, attacker, organization, playlist_key):
    own, nowhere = matrix
    swapped = VICTIM_KEYS + (("organization",) if organization == "alice's" else ())
    user = tenants[attacker]
    foreign = dict(own[attacker], **{key: own["alice"][key] for key in swapped})
    unknown = dict(own[attacker], **{key: nowhere[key] for key in swapped})
    for targets in (foreign, unknown):  # one playlist id form in both the path and the body
        targets["short_playlist"] = targets["groove_playlist"] = targets[playlist_key]
    before = alice_state(store, tenants, own)
    foreign_answer = ask(client, route, user, foreign)
    unknown_answer = ask(client, route, user, unknown)
    assert foreign_answer.status_code < 500
    if uses(route, swapped):
        assert normalised(foreign_answer, foreign, swapped) == normalised(unknown_answer, unknown, swapped)
        assert foreign_answer.status_code in (200, 400, 404), foreign_answer.get_data(as_text=True)
    text = foreign_answer.get_data(as_text=True)
    sent = route.target(foreign) + json.dumps(fill(route.valid_body, foreign))  # an echo of what was sent is no leak
    alice = own["alice"]
    for secret in (SECRET_NAME, alice["entry"], alice["groove_playlist"], alice["short_playlist"], alice["library"], alice["playlist"]):
        if secret not in sent:
            assert secret not in text, f"{route}: {attacker} sees {secret}"
    assert alice_state(store, tenants, own) == before


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_every_route_refuses_a_missing_or_dead_credential(client, store, tenants, matrix, route):
    """401 with the dialect's body and nothing written; the profile alone answers a request without a
    user token (none, or one it does not know) with its partial answer (contract 1.8)."""
    own, _ = matrix
    for case, headers in (
        ("no-credential", {}),
        ("revoked-credential", tenants["revoked"].headers),
        ("unknown-credential", {"Authorization": "Bearer " + ids.new_token()}),
        ("unknown-api-key", {"X-API-Key": ids.new_token()}),
        ("another-users-key-in-the-query", {}),
    ):
        before = store.snapshot()
        path = route.target(own["alice"])
        if case == "another-users-key-in-the-query":
            path = route.with_query(own["alice"], "accessToken=Bearer%20" + tenants["bob"].token + "&api_key=" + tenants["bob"].token)
        body = fill(route.valid_body, own["alice"]) if route.valid_body is not None else None
        answer = client.open(path, method=route.method, json=body, headers=headers)
        if route.name == "groove.profile" and case != "revoked-credential":
            assert answer.status_code == 200, case
            assert set(answer.get_json()) == {"IsSubscriptionAvailableForPurchase", "Culture"}
        else:
            assert answer.status_code == 401, (case, answer.get_data(as_text=True))
            code = parse_answer(route, answer.headers["Content-Type"], answer.data)[1]
            assert code == ("AUTHENTICATION_REQUIRED" if route.dialect == "v1" else "INVALID_AUTHORIZATION_HEADER")
        assert SECRET_NAME not in answer.get_data(as_text=True)
        assert store.snapshot() == before, case
