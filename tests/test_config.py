"""Settings: every value outside what the server supports is refused when the application is made."""

import sqlite3
import threading

import pytest

from groove_compat import config
from groove_compat import store as store_module
from groove_compat.app import create_app


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
    monkeypatch.setattr("groove_compat.app.largest_batch", lambda: 998)  # a build at SQLite's limit before 3.32
    with pytest.raises(config.SettingError, match="MAX_BATCH_SIZE must be at most 998"):
        create_app({"DATABASE": str(tmp_path / "db.sqlite"), "MAX_BATCH_SIZE": 999})
    assert not (tmp_path / "db.sqlite").exists()  # refused before anything was opened


@pytest.mark.parametrize("statement", ["tracks_by_guid", "tracks_by_isrc", "track_guids", "tracks", "present_entries",
                                       "entries_of_tracks"])
def test_every_batch_statement_binds_the_largest_batch_and_no_more(store, statement):
    """The bound is exact: on a connection allowing 1,001 variables, each statement a batch of ids goes
    through runs with 1,000 ids, and SQLite refuses 1,001."""
    connection = store.connection
    connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 1001)
    assert store_module.largest_batch(connection) == 1000
    calls = {
        "tracks_by_guid": lambda count: store.tracks_by_guid(organization_id=1, guids=[bytes(16)] * count),
        "tracks_by_isrc": lambda count: store.tracks_by_isrc(organization_id=1, isrcs=["GBAAA0000000"] * count),
        "track_guids": lambda count: store.track_guids(organization_id=1, track_ids=list(range(count))),
        "tracks": lambda count: store.tracks(organization_id=1, track_ids=list(range(count))),
        "present_entries": lambda count: store.present_entries(collection_id=1, track_ids=list(range(count))),
        "entries_of_tracks": lambda count: store.entries_of_tracks(collection_id=1, track_ids=list(range(count))),
    }
    calls[statement](1000)
    with pytest.raises(sqlite3.OperationalError, match="too many SQL variables"):
        calls[statement](1001)
