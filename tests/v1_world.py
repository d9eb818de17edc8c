"""A two-organization world for the v1 tests, built through the store and the core.

Organization 1 (the default) holds the sample catalog and users alice and bob (conftest). Organization 2
("Other") holds the same sample catalog as rows of its own (same Groove GUIDs, other rows: the case most
likely to leak) plus one track only it has, and user carol. Alice owns her library and a playlist "Mix".

Import the fixture into a test module with ``from v1_world import world  # noqa: F401``.
"""

import json
import uuid
from dataclasses import dataclass, field

import pytest

from conftest import SAMPLE_CATALOG, TRACK_A, TRACK_B, TRACK_C, make_user
from groove_compat import ids, library
from groove_compat.catalog import import_file

OTHER_ONLY_GUID = uuid.UUID("5f1c0b1e-7a0e-4f53-9b7e-0c4a8f2f7a11").bytes


@dataclass
class V1User:
    name: str
    seeded: object  # conftest.SeededUser
    caller: object  # auth.Caller
    organization: str  # org_ id

    @property
    def token(self):
        return self.seeded.token

    @property
    def headers(self):
        return {"X-API-Key": self.seeded.token}

    @property
    def bearer(self):
        return {"Authorization": f"Bearer {self.seeded.token}"}


@dataclass
class World:
    store: object
    codec: object
    users: dict = field(default_factory=dict)
    organizations: dict = field(default_factory=dict)  # name -> org_ id
    collections: dict = field(default_factory=dict)  # name -> mcoll_ id
    tracks: dict = field(default_factory=dict)  # name -> mtrack_ id

    def url(self, organization, collection=None, *rest):
        path = f"/v1/music/{self.organizations.get(organization, organization)}/collections"
        if collection is not None:
            path += "/" + self.collections.get(collection, collection)
        for part in rest:
            path += "/" + self.tracks.get(part, part)
        return path

    def track(self, name):
        return self.tracks[name]

    def row(self, kind, public_id):
        return self.codec.parse_public_id(kind, public_id)

    def listed(self, client, user, collection):
        """The mtrack_ ids of a collection in order, read through the v1 list (all pages)."""
        found, cursor = [], None
        while True:
            query = {"limit": 200} if cursor is None else {"limit": 200, "cursor": cursor}
            response = client.get(
                self.url(self.users[user].organization, collection, "tracks"),
                headers=self.users[user].headers,
                query_string=query,
            )
            assert response.status_code == 200, response.json
            found += [item["id"] for item in response.json["data"]]
            cursor = response.json["next_cursor"]
            if cursor is None:
                return found

    def stored_order(self, collection):
        """Track rows of a collection in position order, read from the store."""
        return self.store.collection_track_ids(self.row("collection", self.collections[collection]))


def _track_row(store, organization_id, guid):
    return store.tracks_by_guid(organization_id=organization_id, guids=[guid])[guid]


def _auth_caller(store, token):
    from groove_compat import auth

    return auth.authenticate(store, token)


def well_formed_undecodable_track_id(codec):
    """An ``mtrack_`` id of the right shape that decodes to no row of this install's key."""
    for number in range(10_000):
        candidate = f"mtrack_{number:016x}"
        if codec.parse_public_id("track", candidate) is None:
            return candidate
    raise AssertionError("no undecodable id found")


@pytest.fixture
def world(store, codec, users):
    other = store.create_organization(name="Other")
    import_file(store, SAMPLE_CATALOG, organization_id=other)
    store.upsert_tracks([(other, OTHER_ONLY_GUID, "Only Elsewhere", "Other Artist", "Other Album", 200, 1, None)])
    seeded = {"alice": users["alice"], "bob": users["bob"], "carol": make_user(store, "carol", organization_id=other)}

    world = World(store=store, codec=codec)
    world.organizations = {
        "org1": codec.public_id("organization", 1),
        "org2": codec.public_id("organization", other),
        "unknown_org": codec.public_id("organization", 999),
        "malformed_org": "org_abc123",
    }
    organization_of = {"alice": "org1", "bob": "org1", "carol": "org2"}
    for name, user in seeded.items():
        world.users[name] = V1User(name, user, _auth_caller(store, user.token), world.organizations[organization_of[name]])
    for name in ("alice", "bob", "carol"):
        world.collections[f"{name}_library"] = codec.public_id("collection", world.users[name].caller.library_id)
    playlist = library.create_playlist(store, world.users["alice"].caller, name="Mix", quota=100)
    world.collections["alice_playlist"] = codec.public_id("collection", playlist["id"])
    world.collections["unknown_collection"] = codec.public_id("collection", 999_999)
    world.collections["malformed_collection"] = "mcoll_xyz"

    for name, catalog_id in (("a", TRACK_A), ("b", TRACK_B), ("c", TRACK_C)):
        guid = ids.parse_catalog_guid(catalog_id)
        world.tracks[name] = codec.public_id("track", _track_row(store, 1, guid))
        world.tracks[f"other_{name}"] = codec.public_id("track", _track_row(store, other, guid))
    world.tracks["other_only"] = codec.public_id("track", _track_row(store, other, OTHER_ONLY_GUID))
    world.tracks["unknown"] = codec.public_id("track", 10_000_000)
    world.tracks["undecodable"] = well_formed_undecodable_track_id(codec)
    # More org-1 tracks, for ordering and paging tests.
    rows = store.connection.execute("SELECT id FROM tracks WHERE organization_id = 1 ORDER BY id").fetchall()
    world.tracks["all_org1"] = [codec.public_id("track", row[0]) for row in rows]
    return world


def envelope_without_volatile(body):
    """An error body without the members that differ per request (trace_id, timestamp)."""
    body = json.loads(json.dumps(body))
    body["error"].pop("trace_id")
    body["error"].pop("timestamp")
    return body


def assert_envelope(response, *, status, code, error_type="client_error"):
    """The response is a v1 error envelope of ``status``/``code`` carrying this request's trace id."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.json
    assert list(body) == ["success", "error"]
    assert body["success"] is False
    error = body["error"]
    assert list(error) == [
        "code", "message", "system_message", "type", "status", "details", "trace_id", "timestamp"
    ]
    assert error["code"] == code
    assert error["status"] == status
    assert error["type"] == error_type
    assert error["trace_id"] == response.headers["X-Request-Id"]
    assert error["trace_id"].startswith("req_")
    assert len(error["timestamp"]) == 20 and error["timestamp"].endswith("Z")
    return error
