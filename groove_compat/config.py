"""Settings: one home for every knob, with its default and its environment variable.

Every setting ``NAME`` can be set with the environment variable ``GROOVE_COMPAT_NAME``; no other module
reads the environment. ``settings_from_environment()`` returns the typed values.
"""

import os
from dataclasses import dataclass

ENVIRONMENT_PREFIX = "GROOVE_COMPAT_"


@dataclass(frozen=True)
class Setting:
    name: str
    default: object
    kind: type
    help: str

    @property
    def environment_variable(self):
        return ENVIRONMENT_PREFIX + self.name


SETTINGS = [
    Setting("DATABASE", None, str, "Path of the SQLite database file (default: groove-compat.sqlite in the instance folder)."),
    Setting(
        "MAX_BATCH_SIZE", 100, int,
        "Most ids accepted in one TrackActionRequest; more gets 400 COLLECTION-INVALID-OPERATION."
        " At most SQLite's limit on bound variables less two (32,764 by default).",
    ),
    Setting("COLLECTION_CAPACITY", 50_000, int, "Most tracks in one user's collection; adds beyond it fail as items with COLLECTION-FULL."),
    Setting("PLAYLIST_CAPACITY", 100, int, "Most playlists one user may own."),
    Setting("PLAYLIST_TRACK_CAPACITY", 1_000, int, "Most tracks in one playlist."),
    Setting("MAX_CONTENT_LENGTH", 1_048_576, int, "Largest request body in bytes; larger gets 413 (a 100-id batch is about 10 KB)."),
    Setting("MAX_ID_LENGTH", 256, int, "Longest id accepted in a batch; a longer item fails alone as COLLECTION-INVALID-ID, unread."),
    Setting("REQUEST_TIMEOUT", 10.0, float, "Seconds a request (line, headers and body) may take to arrive; later gets 408."),
    Setting("RATE_LIMIT_PER_MINUTE", 3000, int, "Requests per minute one credential may make, across all workers (0: no limit); more gets 429."),
    Setting("RATE_LIMIT_BURST", 500, int, "Requests one credential may make at once before RATE_LIMIT_PER_MINUTE applies."),
    Setting("RATE_LIMIT_DATABASE", None, str, "File of the shared rate-limit buckets, read and written in place by every worker (default: the database path + '.buckets')."),
    Setting("ERROR_CODE_STYLE", "hyphen", str, "Spelling of emitted Groove error codes: 'hyphen' (COLLECTION-INVALID-ID) or 'underscore'."),
    Setting("XML_DEFAULT_NAMESPACE", "2013", str, "Namespace of XML answers to non-XML requests: '2013' or '2016'."),
    Setting("SQLITE_SYNCHRONOUS", "FULL", str, "SQLite synchronous pragma: FULL (an acknowledged write survives power loss) or NORMAL."),
    Setting("SQLITE_BUSY_TIMEOUT", 30.0, float, "Seconds a writer waits for another process's transaction before failing."),
    Setting(
        "SQLITE_CACHE_KIB", 128, int,
        "KiB of database pages each connection keeps (one per worker thread); the operating system's file cache holds the rest.",
    ),
    Setting(
        "CORS_ALLOWED_ORIGINS", "*", str,
        "Origins allowed to call the Groove API from a browser: '*' (any; tokens are bearer headers, never cookies),"
        " a space- or comma-separated list, or empty for none.",
    ),
    Setting("LOG_LEVEL", "INFO", str, "Level of the server log (one JSON access line per request at INFO)."),
]

SETTINGS_BY_NAME = {setting.name: setting for setting in SETTINGS}


class SettingError(ValueError):
    """A setting has a value that cannot be used."""


def _convert(setting, raw):
    if setting.kind is int:
        try:
            return int(raw)
        except ValueError:
            raise SettingError(f"{setting.environment_variable} must be a whole number, not {raw!r}") from None
    if setting.kind is float:
        try:
            return float(raw)
        except ValueError:
            raise SettingError(f"{setting.environment_variable} must be a number, not {raw!r}") from None
    return raw


def validate(values):
    """Raise SettingError for values outside what the server supports."""
    if values["ERROR_CODE_STYLE"] not in ("hyphen", "underscore"):
        raise SettingError("ERROR_CODE_STYLE must be 'hyphen' or 'underscore'")
    if values["XML_DEFAULT_NAMESPACE"] not in ("2013", "2016"):
        raise SettingError("XML_DEFAULT_NAMESPACE must be '2013' or '2016'")
    if str(values["SQLITE_SYNCHRONOUS"]).upper() not in ("FULL", "NORMAL", "EXTRA"):
        raise SettingError("SQLITE_SYNCHRONOUS must be FULL, NORMAL or EXTRA")
    for name in (
        "MAX_BATCH_SIZE", "COLLECTION_CAPACITY", "PLAYLIST_CAPACITY", "PLAYLIST_TRACK_CAPACITY", "MAX_CONTENT_LENGTH",
        "MAX_ID_LENGTH", "RATE_LIMIT_BURST",
    ):
        if values[name] < 1:
            raise SettingError(f"{name} must be at least 1")
    if values["RATE_LIMIT_PER_MINUTE"] < 0:
        raise SettingError("RATE_LIMIT_PER_MINUTE must be 0 (no limit) or more")
    if values["SQLITE_CACHE_KIB"] < 0:
        raise SettingError("SQLITE_CACHE_KIB must be 0 or more")
    if not values["SQLITE_BUSY_TIMEOUT"] >= 0:
        raise SettingError("SQLITE_BUSY_TIMEOUT must be 0 seconds or more")
    if not values["REQUEST_TIMEOUT"] > 0:
        raise SettingError("REQUEST_TIMEOUT must be more than 0 seconds")
    return values


def settings_from_environment(environ=None):
    """Return a dict of every setting: its default, overridden by its environment variable."""
    environ = os.environ if environ is None else environ
    values = {}
    for setting in SETTINGS:
        raw = environ.get(setting.environment_variable)
        values[setting.name] = setting.default if raw in (None, "") else _convert(setting, raw)
    return values
