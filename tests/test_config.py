"""Settings: every value outside what the server supports is refused when the application is made."""

import sqlite3
import threading
import uuid

import pytest

from groove_compat import config
from groove_compat import store as store_module
from groove_compat.app import create_app

from conftest import group_latest_rows, recounted_group_rows


@pytest.mark.parametrize(
    "name, value",
    [
        ("ERROR_CODE_STYLE", "camel"),
        ("XML_DEFAULT_NAMESPACE", "2020"),
        ("SQLITE_SYNCHRONOUS", "OFF"),
        ("MAX_BATCH_SIZE", 0),
        ("MAX_ID_LENGTH", 0),
        ("COLLECTION_CAPACITY", -1),
        ("RATE_LIMIT_PER_MINUTE", -1),
        ("SQLITE_BUSY_TIMEOUT", -0.5),
        ("SQLITE_CACHE_KIB", -1),
        ("REQUEST_TIMEOUT", 0),
    ],
)
def test_a_setting_out_of_range_is_refused(tmp_path, name, value):
    with pytest.raises(config.SettingError, match=name):
        create_app({"DATABASE": str(tmp_path / "db.sqlite"), name: value})


@pytest.mark.parametrize(
    "name, value",
    [
        ("SQLITE_BUSY_TIMEOUT", 0), ("RATE_LIMIT_PER_MINUTE", 0), ("MAX_BATCH_SIZE", 1), ("SQLITE_SYNCHRONOUS", "normal"),
        ("SQLITE_CACHE_KIB", 0),
    ],
)
def test_the_edges_of_each_range_are_accepted(tmp_path, name, value):
    app = create_app({"DATABASE": str(tmp_path / "db.sqlite"), name: value})
    assert app.config[name] == value


@pytest.mark.parametrize("raw", ["ten", "1e", "4.5"])
def test_an_environment_value_of_the_wrong_type_names_its_variable(raw):
    with pytest.raises(config.SettingError, match="GROOVE_COMPAT_MAX_BATCH_SIZE"):
        config.settings_from_environment({"GROOVE_COMPAT_MAX_BATCH_SIZE": raw})


@pytest.mark.parametrize("settings, expected", [({}, -128), ({"SQLITE_CACHE_KIB": 4096}, -4096)])
def test_each_connection_keeps_the_configured_page_cache(tmp_path, settings, expected):
    """SQLite counts a negative cache_size in KiB; the setting applies to every thread's connection."""
    app = create_app({"DATABASE": str(tmp_path / "db.sqlite"), **settings})
    store = app.extensions["groove_compat.store"]
    sizes = []
    thread = threading.Thread(target=lambda: sizes.append(store.connection.execute("PRAGMA cache_size").fetchone()[0]))
    thread.start()
    thread.join()
    assert sizes == [expected]
    assert store.connection.execute("PRAGMA cache_size").fetchone()[0] == expected


def test_a_batch_size_past_sqlites_variable_limit_is_refused(tmp_path, monkeypatch):
    """Each id of a batch is one SQL variable: a MAX_BATCH_SIZE that SQLite could not bind is refused when the
    application is made, naming the most this SQLite allows, instead of a 500 on the first large batch."""
    largest = store_module.largest_batch()
    assert create_app({"DATABASE": str(tmp_path / "db.sqlite"), "MAX_BATCH_SIZE": largest}).config["MAX_BATCH_SIZE"] == largest
    with pytest.raises(config.SettingError, match=f"MAX_BATCH_SIZE must be at most {largest}"):
        create_app({"DATABASE": str(tmp_path / "db.sqlite"), "MAX_BATCH_SIZE": largest + 1})
    monkeypatch.setattr("groove_compat.app.largest_batch", lambda: 997)  # a build at SQLite's limit before 3.32
    with pytest.raises(config.SettingError, match="MAX_BATCH_SIZE must be at most 997"):
        create_app({"DATABASE": str(tmp_path / "db.sqlite"), "MAX_BATCH_SIZE": 998})


def _unknown_ids(count):
    return [f"music.{uuid.UUID(int=number + 1, version=4)}" for number in range(count)]


BATCH_ROUTES = {
    "add": lambda playlist_id, ids: ("/1/content/music/collection/add", {"TrackIds": ids}),
    "delete": lambda playlist_id, ids: ("/1/content/music/collection/delete", {"TrackIds": ids}),
    "playlist add": lambda playlist_id, ids: (
        "/1/content/music/collection/playlists/update",
        {"Id": playlist_id, "TrackActions": [{"Id": track_id, "Action": "Add"} for track_id in ids]},
    ),
    "playlist delete": lambda playlist_id, ids: (
        "/1/content/music/collection/playlists/update",
        {"Id": playlist_id, "TrackActions": [{"Id": track_id, "Action": "Delete"} for track_id in ids]},
    ),
    "playlist move": lambda playlist_id, ids: (
        "/1/content/music/collection/playlists/update",
        {"Id": playlist_id, "TrackActions": [{"Id": track_id, "Action": "Move"} for track_id in ids],
         "InsertBeforeTrackId": _unknown_ids(len(ids) + 1)[-1]},
    ),
}


@pytest.mark.parametrize("route", BATCH_ROUTES)
def test_every_batch_route_runs_the_largest_batch_sqlite_allows(app, client, alice, store, route):
    """On a connection allowing 1,002 SQL variables the largest batch is 1,000 ids, and each route taking a
    batch answers one of 1,000 ids as documented (unknown ids fail as items, a move of them is refused
    whole), never with SQLite's "too many SQL variables"; nothing is stored."""
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a failure is the 500 a client would get
    response = client.post("/1/content/music/collection/playlists/create", headers=alice.headers, json={"Name": "Mix"})
    playlist_id = response.get_json()["PlaylistActionResult"]["Id"]
    # Requests of the test client run on this thread, with this connection.
    store.connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 1002)
    app.config["MAX_BATCH_SIZE"] = store_module.largest_batch(store.connection)
    assert app.config["MAX_BATCH_SIZE"] == 1000
    before = store.snapshot()
    path, body = BATCH_ROUTES[route](playlist_id, _unknown_ids(1000))
    response = client.post(path, headers=alice.headers, json=body)
    if route == "playlist move":
        assert response.status_code == 400
        assert response.get_json()["Error"]["ErrorCode"] == "COLLECTION-INVALID-PLAYLIST-REORDER"
    else:
        assert response.status_code == 200
        answer = response.get_json()
        results = (answer["PlaylistActionResult"] if route.startswith("playlist") else answer)["TrackActionResults"]
        assert len(results) == 1000
        assert {result["Error"]["ErrorCode"] for result in results} == {"COLLECTION-INVALID-ID"}
    assert store.snapshot() == before


def test_moving_a_whole_collection_stays_within_a_low_variable_limit(store, alice):
    """After a move the groups of every moved track are recomputed, in chunks that SQLite can bind: on a
    build allowing 999 variables (SQLite before 3.32), moving the last of 1,000 entries to the front (every
    entry changes position) succeeds and the group table matches a recount."""
    rows = [(1, uuid.UUID(int=number + 1, version=4).bytes, f"Track {number}", f"Artist {number % 7}",
             f"Album {number % 11}", 100, 1, None) for number in range(1000)]
    store.upsert_tracks(rows)
    track_ids = list(store.tracks_by_guid(organization_id=1, guids=[row[1] for row in rows]).values())
    library_id = store.user(alice.user_id)["library_id"]
    with store.transaction():
        store.append_entries(collection_id=library_id, user_id=alice.user_id, track_ids=track_ids, capacity=10**9)
    store.connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)
    order = store.entry_positions(library_id)
    moved = [order[-1][0]] + [track_id for track_id, _ in order[:-1]]
    with store.transaction():
        store.set_positions(collection_id=library_id, user_id=alice.user_id,
                            positions={track_id: position for track_id, (_, position) in zip(moved, order)})
    assert [track_id for track_id, _ in store.entry_positions(library_id)] == moved
    assert group_latest_rows(store) == recounted_group_rows(store)
