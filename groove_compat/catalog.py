"""Catalog import: read tracks from CSV or JSON Lines, validate each row, store the good ones in place.

CSV has a header row naming the columns ``id,title,artist,album,duration,track_number,isrc`` and optionally
``genre,release_date,explicit`` (any order; only ``id`` and ``title`` required); JSON Lines carries the same
keys. ``id`` is ``music.{GUID}``; ``duration`` is seconds or ``[h]h:mm:ss``; ``release_date`` is ``YYYY``,
``YYYY-MM`` or ``YYYY-MM-DD``; ``explicit`` is true/false (also yes/no, 1/0). Bad rows are reported with
their line number and reason; good rows are kept.
"""

import csv
import datetime
import io
import json
import os
from dataclasses import dataclass, field

from . import ids

COLUMNS = ("id", "title", "artist", "album", "duration", "track_number", "isrc", "genre", "release_date", "explicit")
REQUIRED = ("id", "title")
MAX_TEXT_LENGTH = 1024
BATCH_ROWS = 20_000


class CatalogFileError(Exception):
    """The file as a whole cannot be imported (unknown extension, no header, missing required column)."""


class RowError(ValueError):
    pass


@dataclass
class ImportSummary:
    rows_read: int = 0
    rows_stored: int = 0
    bad_rows: list = field(default_factory=list)  # (line number, reason)


def parse_duration(value):
    """Seconds from ``245`` or ``4:05`` / ``00:04:05``; None for an empty value."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise RowError("duration must be seconds or hh:mm:ss")
    if isinstance(value, int):
        if value < 0:
            raise RowError("duration must not be negative")
        return value
    text = str(value).strip()
    if not text:
        return None
    parts = text.split(":")
    if len(parts) > 3 or not all(part.isdigit() and part.isascii() for part in parts):
        raise RowError(f"duration {text[:40]!r} is not seconds or hh:mm:ss")
    if len(parts) > 1 and any(int(part) >= 60 for part in parts[1:]):
        raise RowError(f"duration {text[:40]!r} has minutes or seconds of 60 or more")
    seconds = 0
    for part in parts:
        seconds = seconds * 60 + int(part)
    return seconds


def parse_release_date(value):
    """``YYYY-MM-DD`` text from ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` (missing parts are the first); None if empty."""
    if value is None or isinstance(value, bool) or (isinstance(value, str) and not value.strip()):
        return None
    text = str(value).strip()
    parts = text.split("-")
    if not (1 <= len(parts) <= 3) or not all(part.isdigit() and part.isascii() for part in parts):
        raise RowError(f"release_date {text[:40]!r} is not YYYY, YYYY-MM or YYYY-MM-DD")
    if len(parts[0]) != 4 or any(len(part) != 2 for part in parts[1:]):
        raise RowError(f"release_date {text[:40]!r} is not YYYY, YYYY-MM or YYYY-MM-DD")
    year, month, day = (int(part) for part in (parts + ["01", "01"])[:3])
    try:
        return datetime.date(year, month, day).isoformat()
    except ValueError:
        raise RowError(f"release_date {text[:40]!r} is not a real date") from None


_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})


def parse_explicit(value):
    """True, False or None (unknown) from true/false, yes/no, 1/0 (any case) or a JSON boolean."""
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if not text:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise RowError(f"explicit {text[:20]!r} is not true or false")


def _text(row, name, *, required=False):
    value = row.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise RowError(f"{name} is required")
        return None
    if not isinstance(value, str):
        raise RowError(f"{name} must be text")
    value = value.strip()
    if len(value) > MAX_TEXT_LENGTH:
        raise RowError(f"{name} is longer than {MAX_TEXT_LENGTH} characters")
    return value


def parse_row(row, *, organization_id):
    """One catalog row as the store's tuple; raise RowError with the reason it is bad."""
    track_id = _text(row, "id", required=True)
    guid = ids.parse_catalog_guid(track_id)
    if guid is None:
        raise RowError(f"id {track_id[:60]!r} is not music.{{GUID}}")
    title = _text(row, "title", required=True)
    track_number = row.get("track_number")
    if track_number is not None and not (isinstance(track_number, str) and not track_number.strip()):
        text = str(track_number).strip()
        if isinstance(track_number, bool) or not (text.isdigit() and text.isascii()) or int(text) < 1:
            raise RowError(f"track_number {text[:20]!r} is not a positive whole number")
        track_number = int(text)
    else:
        track_number = None
    isrc = _text(row, "isrc")
    if isrc is not None:
        normalised = ids.normalise_isrc(isrc)
        if normalised is None:
            raise RowError(f"isrc {isrc[:40]!r} is not a 12-character ISRC")
        isrc = normalised
    return (
        organization_id,
        guid,
        title,
        _text(row, "artist"),
        _text(row, "album"),
        parse_duration(row.get("duration")),
        track_number,
        isrc,
        _text(row, "genre"),
        parse_release_date(row.get("release_date")),
        parse_explicit(row.get("explicit")),
    )


def _csv_rows(handle):
    reader = csv.DictReader(handle)
    if reader.fieldnames is None:
        raise CatalogFileError("the CSV file is empty: it needs a header row")
    names = [name.strip().lower() for name in reader.fieldnames]
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        raise CatalogFileError(f"the CSV header has no {' or '.join(missing)} column")
    reader.fieldnames = names
    for row in reader:
        yield reader.line_num, row


def _json_lines_rows(handle):
    for line_number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as error:
            yield line_number, RowError(f"not valid JSON: {error}")
            continue
        yield line_number, row if isinstance(row, dict) else RowError("a line must hold a JSON object")


def file_kind(path):
    extension = os.path.splitext(path)[1].lower()
    if extension == ".csv":
        return "csv"
    if extension in (".jsonl", ".ndjson"):
        return "jsonl"
    raise CatalogFileError(f"unknown catalog file type {extension or '(none)'}: use .csv or .jsonl")


def import_file(store, path, *, organization_id, progress=None):
    """Import a catalog file; return an ImportSummary. ``progress(bytes_read)`` is called as it goes."""
    kind = file_kind(path)
    summary = ImportSummary()
    store.use_large_cache()
    batch = []
    with open(path, "rb") as raw:
        handle = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="strict", newline="")
        rows = _csv_rows(handle) if kind == "csv" else _json_lines_rows(handle)
        try:
            for line_number, row in rows:
                summary.rows_read += 1
                try:
                    if isinstance(row, RowError):
                        raise row
                    batch.append(parse_row(row, organization_id=organization_id))
                except RowError as error:
                    summary.bad_rows.append((line_number, str(error)))
                if len(batch) >= BATCH_ROWS:
                    store.upsert_tracks(batch)
                    summary.rows_stored += len(batch)
                    batch = []
                    if progress is not None:
                        progress(raw.tell())
        except UnicodeDecodeError as error:
            raise CatalogFileError(f"the file is not UTF-8 (after row {summary.rows_read}): {error.reason}") from None
        except csv.Error as error:
            raise CatalogFileError(f"the CSV file is malformed after row {summary.rows_read}: {error}") from None
    if batch:
        store.upsert_tracks(batch)
        summary.rows_stored += len(batch)
    if progress is not None:
        progress(os.path.getsize(path))
    return summary
