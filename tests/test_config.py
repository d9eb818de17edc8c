"""Settings: every value outside what the server supports is refused when the application is made."""

import threading

import pytest

from groove_compat import config
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
