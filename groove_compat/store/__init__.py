"""The store: SQLite through sqlite-utils, the only code that speaks SQL.

One ``Store`` per process and database file. Connections are per thread and per process (a forked worker
opens its own), in autocommit mode so that ``transaction()`` controls every transaction with ``BEGIN
IMMEDIATE``: the writer takes the write lock at the start, waits for it up to the busy timeout, and never
fails half-way with "database is locked".
Writers queue for the lock before ``BEGIN IMMEDIATE`` (``queue.WriterQueue``), so that a waiting writer gets
it within milliseconds of its release instead of sleeping on in SQLite's busy handler.
"""

import contextlib
import functools
import os
import sqlite3
import threading
import time

import orjson

from . import keys, schema
from .queue import WriterQueue
from .schema import BROWSE_INDEXES as INDEX_COLUMNS


class StoreError(Exception):
    """The database cannot be used as asked (not initialised, newer than this code, ...)."""


def now_ms():
    return int(time.time() * 1000)


_COLLECTION_COLUMNS = (
    "id", "user_id", "kind", "name", "is_published", "track_count", "next_position", "version", "created_at",
    "updated_at",
)
_TRACK_COLUMNS = ("id", "guid", "title", "artist", "album", "duration", "track_number", "isrc")
_ENTRY_COLUMNS = ("position", "added_at", "track_id", "guid", "title", "artist", "album", "duration", "track_number", "isrc")


def largest_batch(connection=None):
    """The most ids one batch may hold. The statements a batch goes through bind each id as one SQL variable,
    plus the organization or the collection; a move also looks up, with its ids, the entry it moves them
    before. SQLite refuses a statement with more variables than its limit
    (32,766 by default since SQLite 3.32, 999 before, 250,000 in some builds), so a batch holds at most
    that limit less two. Read from ``connection``, or from this SQLite's default."""
    return _variable_limit(connection) - 2


def _variable_limit(connection=None):
    if connection is None:
        with contextlib.closing(sqlite3.connect(":memory:")) as connection:
            return _variable_limit(connection)
    return connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)


def _placeholders(count):
    return ",".join("?" * count)


# The batch look-ups answer in one row, their ids as JSON arrays, not in a row per track: every row a cursor
# steps releases and retakes the GIL, and under load each release can hand the interpreter to another of the
# worker's threads. Measured over HTTP (c8, 2 workers of 4 threads, alternated): new adds 729 vs 679/s and
# 2.26 vs 2.37 ms of server CPU each, re-adds 1,356 vs 1,226/s; in-process (one thread) only 35 us less.
@functools.lru_cache(maxsize=128)  # batch sizes in use; a statement text per size
def _tracks_by_guid_statement(count):
    """The catalog look-up of ``count`` GUIDs (bound first, then the organization): the position and the
    track id of each GUID found, as two JSON arrays in step.

    CROSS JOIN fixes the order, GUIDs outside, one index probe each: without statistics SQLite 3.40 chose,
    for some counts (78-87 and 92-95 among those up to 100), to scan the organization's whole catalog and
    probe an automatic index of the GUIDs instead (11.8 vs 0.3 ms for 80 GUIDs on 100,000 tracks)."""
    wanted = ", ".join(f"({position}, ?)" for position in range(count))
    return (
        f"SELECT json_group_array(wanted.column1), json_group_array(tracks.id) FROM (VALUES {wanted}) AS wanted"
        " CROSS JOIN tracks ON tracks.organization_id = ? AND tracks.guid = wanted.column2"
    )


_INSERT_ROWS = 100  # rows per INSERT statement: at most 100 distinct statement texts in the statement cache


@functools.lru_cache(maxsize=_INSERT_ROWS)
def _insert_entries_statement(rows):
    return "INSERT INTO entries (collection_id, track_id, position, added_at) VALUES " + ",".join(
        ["(?, ?, ?, ?)"] * rows
    )


# The groups of the entries just appended (positions from the first new one: every older entry is below it)
# raise their latest position; one statement per append. The new entries are joined to their tracks once,
# then grouped by album and by artist. Measured in process (100-id appends to the benchmark's store, 300 of
# each alternated): against GROUP_LATEST_FILL's two grouped joins, 445 vs 539 us for random tracks and 96
# vs 102 us for a block of an album's tracks. Upserting every entry ungrouped took 364 and 246 us.
_RAISE_GROUP_LATEST = (
    "WITH new AS MATERIALIZED (SELECT e.position, t.album_key, t.artist_key FROM entries e"
    " INDEXED BY entries_position CROSS JOIN tracks t ON t.id = e.track_id"
    " WHERE e.collection_id = ?1 AND e.position >= ?2)"
    " INSERT INTO group_latest (collection_id, kind, album_key, artist_key, position)"
    " SELECT ?1, 'album', album_key, artist_key, MAX(position) FROM new WHERE album_key <> ''"
    " GROUP BY album_key, artist_key"
    " UNION ALL SELECT ?1, 'artist', '', artist_key, MAX(position) FROM new WHERE artist_key <> '' GROUP BY artist_key"
    " ON CONFLICT (collection_id, kind, album_key, artist_key) DO UPDATE SET position = MAX(position, excluded.position)"
)
# One group's latest position recomputed from its catalog tracks (a seek per track of the group).
_RECOMPUTE_ALBUM = (
    "INSERT INTO group_latest (collection_id, kind, album_key, artist_key, position)"
    " SELECT ?1, 'album', ?3, ?4, MAX(e.position) FROM tracks t INDEXED BY tracks_album_group"
    " CROSS JOIN entries e ON e.collection_id = ?1 AND e.track_id = t.id"
    " WHERE t.organization_id = ?2 AND t.album_key = ?3 AND t.artist_key = ?4 HAVING MAX(e.position) IS NOT NULL"
)
_RECOMPUTE_ARTIST = (
    "INSERT INTO group_latest (collection_id, kind, album_key, artist_key, position)"
    " SELECT ?1, 'artist', '', ?3, MAX(e.position) FROM tracks t INDEXED BY tracks_artist_group"
    " CROSS JOIN entries e ON e.collection_id = ?1 AND e.track_id = t.id"
    " WHERE t.organization_id = ?2 AND t.artist_key = ?3 HAVING MAX(e.position) IS NOT NULL"
)
# Past this many groups to recompute, rebuilding the collection's rows in one pass costs less.
_RECOMPUTE_GROUPS = 500
# The track fields a browse answer is built from (after the entry's position and added_at).
_BROWSE_TRACK_FIELDS = (
    "id", "guid", "title", "artist", "album", "duration", "track_number", "isrc", "genre", "release_date",
    "is_explicit", "album_key", "artist_key",
)

# Track browse orders: (catalog index, sort key columns; ``id`` breaks ties). None: the collection's own
# order by position ("position" ascending, "added" newest first).
BROWSE_ORDERS = {
    "title": ("tracks_by_title", ("title_key",)),
    "album": ("tracks_by_album", ("album_key", "artist_key", "number_key")),
    "artist": ("tracks_by_artist", ("artist_key", "album_key", "number_key")),
    "genre": ("tracks_by_genre", ("genre_key", "artist_key", "album_key", "number_key")),
    "release": ("tracks_by_release", ("release_key", "album_key", "artist_key", "number_key")),
    "number": ("tracks_by_number", ("number_key", "title_key")),
    "position": None,
    "added": None,
}

# Album and artist browse orders, each with the walk that finds a page without reading what comes before it:
# - ("skip", index, key columns): by name, seeking in a catalog index from group to group;
# - ("catalog", index, value column, tie columns, lead): albums by the least value of their tracks in the
#   collection (genre; release date, whose key is minus the day, so the newest first), walking the catalog
#   index of that value from its first ``lead`` key members; key (value, *tie columns);
# - ("entries",): newest first by the latest entry of the group, seeking in the group_latest table the store
#   keeps; key (minus that position, *group columns).
GROUP_COLUMNS = {"album": ("album_key", "artist_key"), "artist": ("artist_key",)}
GROUP_ORDERS = {
    "album": {
        "album": ("skip", "tracks_album_group", ("album_key", "artist_key")),
        "artist": ("skip", "tracks_by_artist", ("artist_key", "album_key")),
        "genre": ("catalog", "tracks_by_genre", "genre_key", ("artist_key", "album_key"), 3),
        "release": ("catalog", "tracks_by_release", "release_key", ("album_key", "artist_key"), 3),
        "added": ("entries",),
    },
    "artist": {
        "artist": ("skip", "tracks_artist_group", ("artist_key",)),
        "added": ("entries",),
    },
}


def _browse_entry(row, *, key):
    entry = dict(zip(("position", "added_at", *_BROWSE_TRACK_FIELDS), row))
    entry["track_id"] = entry.pop("id")
    entry["guid"] = bytes(entry["guid"])
    entry["key"] = key
    return entry


class Store:
    def __init__(self, path, *, synchronous="FULL", busy_timeout=30.0, cache_kib=128):
        self.path = str(path)
        self.synchronous = synchronous.upper()
        self.busy_timeout = float(busy_timeout)
        self.cache_kib = int(cache_kib)
        self._local = threading.local()
        self._id_key = None
        self._writers = WriterQueue(self.path, timeout=self.busy_timeout)

    # Connections and transactions.
    @property
    def connection(self):
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            local.connection = self._connect()
            local.pid = os.getpid()
        return local.connection

    @property
    def db(self):
        """A sqlite-utils Database over this thread's connection (schema work, the CLI)."""
        # Imported here, not at the top: sqlite-utils pulls in numpy when it is installed, about 15 MiB of
        # every server worker's memory that serving requests never uses.
        import sqlite_utils

        return sqlite_utils.Database(self.connection)

    def _connect(self):
        connection = sqlite3.connect(
            self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False, cached_statements=256
        )
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute(f"PRAGMA synchronous = {self.synchronous}")
        connection.execute("PRAGMA foreign_keys = ON")
        # Every worker thread has its own connection and so its own page cache: SQLite's default of 2 MiB
        # each was most of a worker's growth under load (measured: 49 MiB resident after the benchmark's
        # load with 2 MiB, 40.6 with 128 KiB, at the same rate). Pages not kept here come from the
        # operating system's file cache, a system call away.
        connection.execute(f"PRAGMA cache_size = -{self.cache_kib}")
        connection.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
        return connection

    def close(self):
        """Close this thread's connection (the master process does this before forking workers)."""
        connection = getattr(self._local, "connection", None)
        if connection is not None and self._local.pid == os.getpid():
            connection.close()
        self._local = threading.local()

    @contextlib.contextmanager
    def transaction(self):
        """One write transaction: committed whole, or rolled back whole on any exception."""
        connection = self.connection
        if connection.in_transaction:
            # Nested use joins the outer transaction.
            yield connection
            return
        with self._writers.turn():
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    @contextlib.contextmanager
    def read_transaction(self):
        """A consistent read: every query inside sees one snapshot of the database (a deferred
        transaction, which takes no write lock). Nested use joins the outer transaction."""
        connection = self.connection
        if connection.in_transaction:
            yield connection
            return
        connection.execute("BEGIN")
        try:
            yield connection
        finally:
            # Nothing was written: ending the transaction only releases the snapshot.
            if connection.in_transaction:
                connection.execute("COMMIT")

    # Schema.
    def schema_version(self):
        return self.connection.execute("PRAGMA user_version").fetchone()[0]

    def migrate(self):
        """Create or upgrade the schema; harmless when already current. Returns (before, after) versions."""
        with self.transaction():
            before = self.schema_version()
            if before > schema.SCHEMA_VERSION:
                raise StoreError(
                    f"the database is at schema version {before}, newer than this code ({schema.SCHEMA_VERSION})"
                )
            db = self.db
            for version in range(before, schema.SCHEMA_VERSION):
                schema.MIGRATIONS[version](db)
                self.connection.execute(f"PRAGMA user_version = {version + 1}")
        return before, schema.SCHEMA_VERSION

    def require_current_schema(self):
        version = self.schema_version()
        if version != schema.SCHEMA_VERSION:
            raise StoreError(
                f"database {self.path} is at schema version {version}, expected {schema.SCHEMA_VERSION}: "
                "run 'groove-compat db init'"
            )

    def id_key(self):
        if self._id_key is None:
            row = self.connection.execute("SELECT value FROM settings WHERE name = 'id_key'").fetchone()
            if row is None:
                raise StoreError(f"database {self.path} is not initialised: run 'groove-compat db init'")
            self._id_key = bytes(row[0])
        return self._id_key

    def integrity_check(self):
        return [row[0] for row in self.connection.execute("PRAGMA integrity_check")]

    def backup(self, path):
        """Copy the database to a new file ``path`` while others keep reading and writing it.

        SQLite's online backup API, in one step: the copy is one consistent snapshot (WAL lets writers
        go on meanwhile). It is written to a temporary file first and renamed, so ``path`` never holds a
        partial copy. Returns the integrity check of the copy.
        """
        path = str(path)
        if os.path.exists(path):
            raise StoreError(f"{path} exists already")
        partial = path + ".partial"
        target = sqlite3.connect(partial)
        try:
            self.connection.backup(target)
            result = [row[0] for row in target.execute("PRAGMA integrity_check")]
            # A self-contained file: no -wal beside it to be forgotten when it is copied elsewhere.
            target.execute("PRAGMA journal_mode = DELETE")
        finally:
            target.close()
        os.replace(partial, path)
        return result

    def restore(self, path):
        """Replace this database's content with the backup at ``path`` (checked first), in one step.

        Other connections (a running server) see the restored content from their next transaction.
        """
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            result = [row[0] for row in source.execute("PRAGMA integrity_check")]
            if result != ["ok"]:
                raise StoreError(f"{path} fails its integrity check: {result[:3]}")
            version = source.execute("PRAGMA user_version").fetchone()[0]
            if version > schema.SCHEMA_VERSION or version < 1:
                raise StoreError(f"{path} is at schema version {version}; this code reads 1 to {schema.SCHEMA_VERSION}")
            source.backup(self.connection)
        finally:
            source.close()
        self._id_key = None

    # Organizations, users, credentials.
    def create_organization(self, *, name):
        with self.transaction() as connection:
            return connection.execute(
                "INSERT INTO organizations (name, created_at) VALUES (?, ?)", (name, now_ms())
            ).lastrowid

    def organization(self, organization_id):
        row = self.connection.execute(
            "SELECT id, name, created_at FROM organizations WHERE id = ?", (organization_id,)
        ).fetchone()
        return None if row is None else {"id": row[0], "name": row[1], "created_at": row[2]}

    def organizations(self):
        """Every organization (dicts as ``organization()``) by id, with its count of users and tracks."""
        rows = self.connection.execute(
            "SELECT o.id, o.name, o.created_at,"
            " (SELECT COUNT(*) FROM users u WHERE u.organization_id = o.id),"
            " (SELECT COUNT(*) FROM tracks t WHERE t.organization_id = o.id)"
            " FROM organizations o ORDER BY o.id"
        )
        keys = ("id", "name", "created_at", "user_count", "track_count")
        return [dict(zip(keys, row)) for row in rows]

    def create_user(self, *, name, organization_id):
        """Create a user and the user's library collection; returns the user's row id."""
        with self.transaction() as connection:
            created = now_ms()
            user_id = connection.execute(
                "INSERT INTO users (organization_id, name, created_at) VALUES (?, ?, ?)",
                (organization_id, name, created),
            ).lastrowid
            library_id = connection.execute(
                "INSERT INTO collections (user_id, kind, created_at, updated_at) VALUES (?, 'library', ?, ?)",
                (user_id, created, created),
            ).lastrowid
            connection.execute("UPDATE users SET library_id = ? WHERE id = ?", (library_id, user_id))
            return user_id

    def user(self, user_id):
        row = self.connection.execute(
            "SELECT id, organization_id, name, library_id, state_version, created_at FROM users WHERE id = ?",
            (user_id,),
        ).fetchone()
        if row is None:
            return None
        keys = ("id", "organization_id", "name", "library_id", "state_version", "created_at")
        return dict(zip(keys, row))

    def users_named(self, name):
        return [row[0] for row in self.connection.execute("SELECT id FROM users WHERE name = ? ORDER BY id", (name,))]

    def add_credential(self, *, user_id, token_hash):
        with self.transaction() as connection:
            return connection.execute(
                "INSERT INTO credentials (user_id, token_hash, created_at) VALUES (?, ?, ?)",
                (user_id, token_hash, now_ms()),
            ).lastrowid

    def credential_for_hash(self, token_hash):
        """``(credential_id, user_id, organization_id, library_id, revoked_at)`` or None."""
        return self.connection.execute(
            "SELECT c.id, u.id, u.organization_id, u.library_id, c.revoked_at"
            " FROM credentials c JOIN users u ON u.id = c.user_id WHERE c.token_hash = ?",
            (token_hash,),
        ).fetchone()

    def revoke_credential(self, credential_id):
        """Mark a credential revoked; returns False if there is no such credential or it was revoked already."""
        with self.transaction() as connection:
            return (
                connection.execute(
                    "UPDATE credentials SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                    (now_ms(), credential_id),
                ).rowcount
                == 1
            )

    def credentials_of_user(self, user_id):
        rows = self.connection.execute(
            "SELECT id, created_at, revoked_at FROM credentials WHERE user_id = ? ORDER BY id", (user_id,)
        )
        return [{"id": row[0], "created_at": row[1], "revoked_at": row[2]} for row in rows]

    # The catalog.
    def use_large_cache(self, *, mebibytes=256):
        """Let this thread's connection cache up to ``mebibytes`` of pages: a bulk load touches every
        index of the catalog at random places, and a cache that holds them saves re-reading pages."""
        self.connection.execute(f"PRAGMA cache_size = -{int(mebibytes) * 1024}")

    def upsert_tracks(self, rows):
        """Insert or update catalog tracks in place (keyed on organization and GUID), in one transaction.

        ``rows`` are tuples ``(organization_id, guid, title, artist, album, duration, track_number, isrc)``,
        optionally followed by ``genre, release_date, is_explicit`` (all three or none). Eight-member rows
        leave the stored genre, release date and explicit flag of an existing track as they are. The sort
        keys of browse (``store.keys``) are computed here, so every writer keeps them right.
        """
        short, full = [], []
        for row in rows:
            if len(row) == 8:
                title_key, artist_key, album_key, _, _, number = keys.track_keys(
                    title=row[2], artist=row[3], album=row[4], track_number=row[6]
                )
                short.append((*row, title_key, artist_key, album_key, number))
            else:
                full.append((*row, *keys.track_keys(
                    title=row[2], artist=row[3], album=row[4], track_number=row[6], genre=row[8], release_date=row[9]
                )))
        with self.transaction() as connection:
            if short:
                connection.executemany(
                    "INSERT INTO tracks (organization_id, guid, title, artist, album, duration, track_number, isrc,"
                    " title_key, artist_key, album_key, number_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (organization_id, guid) DO UPDATE SET title = excluded.title,"
                    " artist = excluded.artist, album = excluded.album, duration = excluded.duration,"
                    " track_number = excluded.track_number, isrc = excluded.isrc, title_key = excluded.title_key,"
                    " artist_key = excluded.artist_key, album_key = excluded.album_key,"
                    " number_key = excluded.number_key",
                    short,
                )
            if full:
                connection.executemany(
                    "INSERT INTO tracks (organization_id, guid, title, artist, album, duration, track_number, isrc,"
                    " genre, release_date, is_explicit, title_key, artist_key, album_key, genre_key, release_key,"
                    " number_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (organization_id, guid) DO UPDATE SET title = excluded.title,"
                    " artist = excluded.artist, album = excluded.album, duration = excluded.duration,"
                    " track_number = excluded.track_number, isrc = excluded.isrc, genre = excluded.genre,"
                    " release_date = excluded.release_date, is_explicit = excluded.is_explicit,"
                    " title_key = excluded.title_key, artist_key = excluded.artist_key,"
                    " album_key = excluded.album_key, genre_key = excluded.genre_key,"
                    " release_key = excluded.release_key, number_key = excluded.number_key",
                    full,
                )
            # Tracks whose album or artist changed (noted by the tracks_regroup trigger) move their entries
            # to other groups: rebuild the groups of the collections that hold them.
            if connection.execute("SELECT 1 FROM tracks_regrouped LIMIT 1").fetchone():
                for (collection_id,) in connection.execute(
                    "SELECT DISTINCT collection_id FROM entries WHERE track_id IN (SELECT track_id FROM tracks_regrouped)"
                ).fetchall():
                    self._rebuild_groups(collection_id)
                connection.execute("DELETE FROM tracks_regrouped")

    def count_tracks(self, *, organization_id=None):
        if organization_id is None:
            return self.connection.execute("SELECT COUNT(*) FROM tracks").fetchone()[0]
        return self.connection.execute(
            "SELECT COUNT(*) FROM tracks WHERE organization_id = ?", (organization_id,)
        ).fetchone()[0]

    def first_track_guid(self, *, organization_id):
        row = self.connection.execute(
            "SELECT guid FROM tracks WHERE organization_id = ? ORDER BY id LIMIT 1", (organization_id,)
        ).fetchone()
        return None if row is None else bytes(row[0])

    def tracks_by_guid(self, *, organization_id, guids):
        """``{guid: track_id}`` for the given GUIDs that exist in the organization's catalog (one query)."""
        guids = list(guids)
        if not guids:
            return {}
        positions, track_ids = self.connection.execute(
            _tracks_by_guid_statement(len(guids)), [*guids, organization_id]
        ).fetchone()
        # The positions say which GUID each id belongs to, whatever order SQLite joined the rows in.
        return {guids[position]: track_id for position, track_id in zip(orjson.loads(positions), orjson.loads(track_ids))}

    def tracks_by_isrc(self, *, organization_id, isrcs):
        """``{isrc: [(track_id, guid), ...]}`` for the given ISRCs in the organization's catalog (one query)."""
        if not isrcs:
            return {}
        isrcs = list(isrcs)
        found = {}
        for isrc, track_id, guid in self.connection.execute(
            f"SELECT isrc, id, guid FROM tracks WHERE organization_id = ? AND isrc IN ({_placeholders(len(isrcs))})"
            " ORDER BY id",
            [organization_id, *isrcs],
        ):
            found.setdefault(isrc, []).append((track_id, bytes(guid)))
        return found

    def track_guids(self, *, organization_id, track_ids):
        """``{track_id: guid}`` for the given track rows of the organization."""
        if not track_ids:
            return {}
        track_ids = list(track_ids)
        rows = self.connection.execute(
            f"SELECT id, guid FROM tracks WHERE organization_id = ? AND id IN ({_placeholders(len(track_ids))})",
            [organization_id, *track_ids],
        )
        return {track_id: bytes(guid) for track_id, guid in rows}

    # Collections.
    def append_entries(self, *, collection_id, user_id, track_ids, capacity):
        """Append tracks (unique, in order) to a collection inside the caller's transaction.

        Tracks already in the collection are left where they are. New tracks past ``capacity`` are not
        stored. Returns ``(added, full)``: the sets of track ids stored now and refused for capacity.
        The collection's version and the user's collection state change only when something was stored.
        """
        connection = self.connection
        existing = self.present_entries(collection_id=collection_id, track_ids=track_ids)
        new = [track_id for track_id in track_ids if track_id not in existing]
        if not new:
            return set(), set()
        added_at = now_ms()
        # The usual case, everything fits: reserve the positions and bump the counters in one statement.
        reserved = connection.execute(
            "UPDATE collections SET track_count = track_count + ?, next_position = next_position + ?,"
            " version = version + 1, updated_at = ? WHERE id = ? AND track_count + ? <= ? RETURNING next_position",
            (len(new), len(new), added_at, collection_id, len(new), capacity),
        ).fetchone()
        if reserved is not None:
            stored, refused = new, []
            next_position = reserved[0] - len(new)
        else:
            track_count, next_position = connection.execute(
                "SELECT track_count, next_position FROM collections WHERE id = ?", (collection_id,)
            ).fetchone()
            room = max(capacity - track_count, 0)
            stored, refused = new[:room], new[room:]
            if stored:
                connection.execute(
                    "UPDATE collections SET track_count = track_count + ?, next_position = ?, version = version + 1,"
                    " updated_at = ? WHERE id = ?",
                    (len(stored), next_position + len(stored), added_at, collection_id),
                )
        if stored:
            # Multi-row INSERTs: binding one statement once costs less than stepping executemany's row by row.
            for first in range(0, len(stored), _INSERT_ROWS):
                chunk = stored[first:first + _INSERT_ROWS]
                values = []
                for position, track_id in enumerate(chunk, start=next_position + first):
                    values += (collection_id, track_id, position, added_at)
                connection.execute(_insert_entries_statement(len(chunk)), values)
            connection.execute(_RAISE_GROUP_LATEST, (collection_id, next_position))
            connection.execute("UPDATE users SET state_version = state_version + 1 WHERE id = ?", (user_id,))
        return set(stored), set(refused)

    def present_entries(self, *, collection_id, track_ids):
        """The subset of ``track_ids`` that are in the collection (one query)."""
        track_ids = list(track_ids)
        if not track_ids:
            return set()
        (present,) = self.connection.execute(
            f"SELECT json_group_array(track_id) FROM entries WHERE collection_id = ?"
            f" AND track_id IN ({_placeholders(len(track_ids))})",
            [collection_id, *track_ids],
        ).fetchone()
        return set(orjson.loads(present))

    def remove_entries(self, *, collection_id, user_id, track_ids):
        """Remove tracks from a collection inside the caller's transaction; returns the set removed.

        Positions of the other entries are left as they are: positions order entries, they are not ranks.
        """
        present = self.present_entries(collection_id=collection_id, track_ids=track_ids)
        if not present:
            return set()
        connection = self.connection
        connection.executemany(
            "DELETE FROM entries WHERE collection_id = ? AND track_id = ?",
            [(collection_id, track_id) for track_id in present],
        )
        self._recompute_groups(collection_id=collection_id, track_ids=present)
        self._touch(collection_id=collection_id, user_id=user_id, track_delta=-len(present))
        return present

    def _touch(self, *, collection_id, user_id, track_delta=0, next_position=None):
        """Bump a collection's version (and its owner's collection state) after a change."""
        connection = self.connection
        if next_position is None:
            connection.execute(
                "UPDATE collections SET track_count = track_count + ?, version = version + 1, updated_at = ?"
                " WHERE id = ?",
                (track_delta, now_ms(), collection_id),
            )
        else:
            connection.execute(
                "UPDATE collections SET track_count = track_count + ?, next_position = ?, version = version + 1,"
                " updated_at = ? WHERE id = ?",
                (track_delta, next_position, now_ms(), collection_id),
            )
        connection.execute("UPDATE users SET state_version = state_version + 1 WHERE id = ?", (user_id,))

    def set_positions(self, *, collection_id, user_id, positions):
        """Move entries to new positions (``{track_id: position}``) in the caller's transaction. The caller
        reuses positions the collection already has, so the position counter stays valid."""
        self.connection.executemany(
            "UPDATE entries SET position = ? WHERE collection_id = ? AND track_id = ?",
            [(position, collection_id, track_id) for track_id, position in positions.items()],
        )
        self._recompute_groups(collection_id=collection_id, track_ids=positions)
        self._touch(collection_id=collection_id, user_id=user_id)

    def _recompute_groups(self, *, collection_id, track_ids):
        """Recompute the group_latest rows of the albums and artists of ``track_ids`` in a collection, after
        entries of them were removed or moved (the caller's transaction)."""
        connection = self.connection
        track_ids = list(track_ids)
        albums, artists = set(), set()
        # The tracks of a whole collection can be moved: chunks within SQLite's limit on variables.
        chunk_size = min(10000, _variable_limit(connection))
        for first in range(0, len(track_ids), chunk_size):
            chunk = track_ids[first:first + chunk_size]
            for organization_id, album_key, artist_key in connection.execute(
                "SELECT DISTINCT organization_id, album_key, artist_key FROM tracks"
                f" WHERE id IN ({_placeholders(len(chunk))})",
                chunk,
            ):
                if album_key:
                    albums.add((organization_id, album_key, artist_key))
                if artist_key:
                    artists.add((organization_id, artist_key))
        if len(albums) + len(artists) > _RECOMPUTE_GROUPS:
            self._rebuild_groups(collection_id)
            return
        connection.executemany(
            "DELETE FROM group_latest WHERE collection_id = ? AND kind = 'album' AND album_key = ? AND artist_key = ?",
            [(collection_id, album_key, artist_key) for _, album_key, artist_key in albums],
        )
        connection.executemany(
            "DELETE FROM group_latest WHERE collection_id = ? AND kind = 'artist' AND album_key = '' AND artist_key = ?",
            [(collection_id, artist_key) for _, artist_key in artists],
        )
        connection.executemany(_RECOMPUTE_ALBUM, [(collection_id, *album) for album in albums])
        connection.executemany(
            _RECOMPUTE_ARTIST, [(collection_id, organization_id, artist_key) for organization_id, artist_key in artists]
        )

    def _rebuild_groups(self, collection_id):
        """Rebuild a collection's group_latest rows from its entries (one pass over them)."""
        self.connection.execute("DELETE FROM group_latest WHERE collection_id = ?", (collection_id,))
        self.connection.execute(
            schema.GROUP_LATEST_FILL.format(where="e.collection_id = ?"), (collection_id, collection_id)
        )

    def entry_positions(self, collection_id):
        """``[(track_id, position), ...]`` of a collection in position order."""
        return self.connection.execute(
            "SELECT track_id, position FROM entries WHERE collection_id = ? ORDER BY position", (collection_id,)
        ).fetchall()

    def entries_page(self, *, collection_id, after_position=None, limit):
        """Up to ``limit`` entries in position order after ``after_position``: dicts with the entry's
        position and added_at and the track's catalog fields. Keyset paging: the cost does not grow with
        the page's place in the collection."""
        rows = self.connection.execute(
            "SELECT e.position, e.added_at, t.id, t.guid, t.title, t.artist, t.album, t.duration, t.track_number,"
            " t.isrc FROM entries e JOIN tracks t ON t.id = e.track_id"
            " WHERE e.collection_id = ? AND e.position > ? ORDER BY e.position LIMIT ?",
            (collection_id, -1 if after_position is None else after_position, limit),
        )
        return [dict(zip(_ENTRY_COLUMNS, row)) for row in rows]

    def entry_rank(self, *, collection_id, position):
        """How many entries come before ``position``: the dense 0-based place of an entry."""
        return self.connection.execute(
            "SELECT COUNT(*) FROM entries WHERE collection_id = ? AND position < ?", (collection_id, position)
        ).fetchone()[0]

    def tracks(self, *, organization_id, track_ids):
        """``{track_id: track dict}`` of the organization's catalog rows among ``track_ids``."""
        if not track_ids:
            return {}
        track_ids = list(track_ids)
        rows = self.connection.execute(
            "SELECT id, guid, title, artist, album, duration, track_number, isrc FROM tracks"
            f" WHERE organization_id = ? AND id IN ({_placeholders(len(track_ids))})",
            [organization_id, *track_ids],
        )
        return {row[0]: dict(zip(_TRACK_COLUMNS, row)) for row in rows}

    def create_collection(self, *, user_id, kind, name=None, is_published=None):
        """Insert a collection row inside the caller's transaction; returns its id."""
        created = now_ms()
        collection_id = self.connection.execute(
            "INSERT INTO collections (user_id, kind, name, is_published, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (user_id, kind, name, None if is_published is None else int(is_published), created, created),
        ).lastrowid
        self.connection.execute("UPDATE users SET state_version = state_version + 1 WHERE id = ?", (user_id,))
        return collection_id

    def update_collection(self, *, collection_id, user_id, name=None, is_published=None):
        """Change a collection's name and/or published flag inside the caller's transaction."""
        if name is not None:
            self.connection.execute("UPDATE collections SET name = ? WHERE id = ?", (name, collection_id))
        if is_published is not None:
            self.connection.execute(
                "UPDATE collections SET is_published = ? WHERE id = ?", (int(is_published), collection_id)
            )
        self._touch(collection_id=collection_id, user_id=user_id)

    def delete_collection(self, *, collection_id, user_id):
        """Delete a collection and its entries inside the caller's transaction."""
        self.connection.execute("DELETE FROM entries WHERE collection_id = ?", (collection_id,))
        self.connection.execute("DELETE FROM group_latest WHERE collection_id = ?", (collection_id,))
        self.connection.execute("DELETE FROM collections WHERE id = ?", (collection_id,))
        self.connection.execute("UPDATE users SET state_version = state_version + 1 WHERE id = ?", (user_id,))

    def collections_of_user(self, user_id, *, kind=None):
        """The user's collections (dicts as ``collection()``), library first, then by creation."""
        query = (
            "SELECT id, user_id, kind, name, is_published, track_count, next_position, version, created_at,"
            " updated_at FROM collections WHERE user_id = ?"
        )
        parameters = [user_id]
        if kind is not None:
            query += " AND kind = ?"
            parameters.append(kind)
        query += " ORDER BY kind = 'playlist', id"
        return [dict(zip(_COLLECTION_COLUMNS, row)) for row in self.connection.execute(query, parameters)]

    def count_collections(self, *, user_id, kind):
        return self.connection.execute(
            "SELECT COUNT(*) FROM collections WHERE user_id = ? AND kind = ?", (user_id, kind)
        ).fetchone()[0]

    def collection_track_ids(self, collection_id):
        """Track ids of a collection in position order."""
        return [track_id for track_id, _ in self.entry_positions(collection_id)]

    def collection(self, collection_id):
        row = self.connection.execute(
            "SELECT id, user_id, kind, name, is_published, track_count, next_position, version, created_at,"
            " updated_at FROM collections WHERE id = ?",
            (collection_id,),
        ).fetchone()
        if row is None:
            return None
        return dict(zip(_COLLECTION_COLUMNS, row))

    # Browse: keyset pages of a collection in the orders of Groove's browse.
    #
    # A page is "the first ``limit`` items whose sort key is past the last item of the previous page", so its
    # cost does not depend on how far into the collection it is. Two ways to find them, chosen per request by
    # expected cost: walk the catalog index of the order from the key and keep the tracks that are in the
    # collection (a page costs about limit * catalog / collection rows: best for a large collection), or take
    # the collection's entries, keep those past the key and let SQLite keep the first ``limit`` (a page costs
    # about the collection's size: best for a small collection in a large catalog, and for playlists).

    def _catalog_estimate(self):
        # MAX(id) is one b-tree step and never below the catalog's size, so it errs towards the entries path.
        return self.connection.execute("SELECT MAX(id) FROM tracks").fetchone()[0] or 0

    def _walk_catalog(self, *, collection_id, wanted):
        """True when walking the catalog index finds ``wanted`` entries of the collection faster than
        reading all of its entries would."""
        row = self.connection.execute("SELECT track_count FROM collections WHERE id = ?", (collection_id,)).fetchone()
        track_count = row[0] if row else 0
        return track_count > 0 and track_count * track_count > wanted * self._catalog_estimate()

    def browse_entries(self, *, collection_id, organization_id, order, after=None, limit, offset=0):
        """Up to ``limit`` entries of a collection in ``order`` (a key of ``BROWSE_ORDERS``), after the
        keyset position ``after`` (the ``key`` of the last entry of the previous page), skipping ``offset``.

        Each entry is a dict of the entry's position and added_at and the track's catalog fields, with
        ``key``: the tuple that ``after`` takes to continue after it.
        """
        spec = BROWSE_ORDERS[order]
        columns = ", ".join(f"t.{column}" for column in _BROWSE_TRACK_FIELDS)
        if spec is None:  # the collection's own order: position, ties (none in practice) by track
            descending = order == "added"
            comparison, direction = ("<", "DESC") if descending else (">", "ASC")
            query = (
                f"SELECT e.position, e.added_at, {columns} FROM entries e JOIN tracks t ON t.id = e.track_id"
                " WHERE e.collection_id = ?"
                + ("" if after is None else f" AND (e.position, e.track_id) {comparison} (?, ?)")
                + f" ORDER BY e.position {direction}, e.track_id {direction} LIMIT ? OFFSET ?"
            )
            parameters = [collection_id, *(after or ()), limit, offset]
            rows = self.connection.execute(query, parameters).fetchall()
            return [_browse_entry(row, key=(row[0], row[2])) for row in rows]
        index, sort_columns = spec
        key_columns = ", ".join(f"t.{column}" for column in (*sort_columns, "id"))
        keyset = "" if after is None else f" AND ({key_columns}) > ({_placeholders(len(sort_columns) + 1)})"
        if self._walk_catalog(collection_id=collection_id, wanted=limit + offset + 1):
            query = (
                f"SELECT e.position, e.added_at, {columns}, {key_columns} FROM tracks t INDEXED BY {index}"
                " CROSS JOIN entries e ON e.collection_id = ? AND e.track_id = t.id"
                f" WHERE t.organization_id = ?{keyset} ORDER BY {key_columns} LIMIT ? OFFSET ?"
            )
            parameters = [collection_id, organization_id, *(after or ()), limit, offset]
        else:
            query = (
                f"SELECT e.position, e.added_at, {columns}, {key_columns} FROM entries e"
                f" CROSS JOIN tracks t ON t.id = e.track_id WHERE e.collection_id = ?{keyset}"
                f" ORDER BY {key_columns} LIMIT ? OFFSET ?"
            )
            parameters = [collection_id, *(after or ()), limit, offset]
        width = 2 + len(_BROWSE_TRACK_FIELDS)
        return [_browse_entry(row, key=tuple(row[width:])) for row in self.connection.execute(query, parameters)]

    def entries_of_tracks(self, *, collection_id, track_ids):
        """``{track_id: entry dict as browse_entries gives}`` for those of ``track_ids`` in the collection."""
        if not track_ids:
            return {}
        track_ids = list(track_ids)
        columns = ", ".join(f"t.{column}" for column in _BROWSE_TRACK_FIELDS)
        rows = self.connection.execute(
            f"SELECT e.position, e.added_at, {columns} FROM entries e JOIN tracks t ON t.id = e.track_id"
            f" WHERE e.collection_id = ? AND e.track_id IN ({_placeholders(len(track_ids))})",
            [collection_id, *track_ids],
        )
        return {row[2]: _browse_entry(row, key=(row[0], row[2])) for row in rows}

    def collection_duration(self, collection_id):
        """Total seconds of a collection's tracks (tracks without a duration count 0)."""
        return self.connection.execute(
            "SELECT COALESCE(SUM(t.duration), 0) FROM entries e JOIN tracks t ON t.id = e.track_id"
            " WHERE e.collection_id = ?",
            (collection_id,),
        ).fetchone()[0]

    def browse_groups(self, *, collection_id, organization_id, kind, order, after=None, limit, offset=0):
        """Up to ``limit`` albums or artists (``kind``) that have tracks in a collection, in ``order`` (a key of
        ``GROUP_ORDERS[kind]``), after the keyset position ``after``, skipping ``offset``.

        An album is the tracks sharing album and artist keys (a non-empty album); an artist, the tracks
        sharing an artist key (a non-empty artist). Returns dicts with ``album_key`` / ``artist_key`` and
        ``key`` (what ``after`` takes). Each order has a walk whose cost per page does not depend on the
        page's place (see GROUP_ORDERS); a small collection in a large catalog is aggregated instead.
        """
        group_columns = GROUP_COLUMNS[kind]
        spec = GROUP_ORDERS[kind][order]
        wanted = limit + offset
        strategy = spec[0]
        if strategy != "entries" and not self._walk_catalog(collection_id=collection_id, wanted=wanted + 1):
            found = self._aggregate_groups(
                collection_id=collection_id, group_columns=group_columns, spec=spec, after=after, limit=limit,
                offset=offset,
            )
            return found
        walk = {
            "skip": self._skip_scan_groups, "catalog": self._catalog_walk_groups, "entries": self._entries_walk_groups,
        }
        found = walk[strategy](
            collection_id=collection_id, organization_id=organization_id, group_columns=group_columns, spec=spec,
            after=after, wanted=wanted,
        )
        return found[offset:]

    def _aggregate_groups(self, *, collection_id, group_columns, spec, after, limit, offset, organization_id=None):
        """Groups of the collection's entries in the order's key (a cost of the collection's size per page).
        With ``organization_id``, the entries are read in the catalog's group order (no sort to group them)."""
        strategy = spec[0]
        if strategy == "skip":
            aggregate = ""
            key_columns = tuple(f"t.{column}" for column in spec[2])
        else:
            value = f"MIN(t.{spec[2]})" if strategy == "catalog" else "-MAX(e.position)"
            aggregate = f"{value} AS sort_value, "
            order_columns = spec[3] if strategy == "catalog" else group_columns
            key_columns = ("sort_value", *(f"t.{column}" for column in order_columns))
        grouping = ", ".join(f"t.{column}" for column in group_columns)
        keyset = "" if after is None else f" HAVING ({', '.join(key_columns)}) > ({_placeholders(len(key_columns))})"
        if organization_id is None:
            source = "entries e CROSS JOIN tracks t ON t.id = e.track_id WHERE e.collection_id = ?"
            parameters = [collection_id]
        else:
            grouped_by = "tracks_album_group" if len(group_columns) == 2 else "tracks_artist_group"
            source = (
                f"tracks t INDEXED BY {grouped_by} CROSS JOIN entries e ON e.collection_id = ? AND e.track_id = t.id"
                " WHERE t.organization_id = ?"
            )
            parameters = [collection_id, organization_id]
        query = (
            f"SELECT {aggregate}{', '.join(key_columns[1:] if aggregate else key_columns)}"
            f" FROM {source} AND t.{group_columns[0]} <> ''"
            f" GROUP BY {grouping}{keyset} ORDER BY {', '.join(key_columns)} LIMIT ? OFFSET ?"
        )
        names = [column.split(".")[-1] for column in key_columns]
        result = []
        for row in self.connection.execute(query, [*parameters, *(after or ()), limit, offset]):
            values = dict(zip(names, row))
            result.append({**{column: values[column] for column in group_columns}, "key": tuple(row)})
        return result

    def _skip_scan_groups(self, *, collection_id, organization_id, group_columns, spec, after, wanted):
        """Groups in name order: walk a catalog index group by group, each step seeking past the group just
        found, so a group's other tracks are never read."""
        _, index, key_columns = spec
        columns = ", ".join(f"t.{column}" for column in key_columns)
        query = (
            f"SELECT {columns} FROM tracks t INDEXED BY {index}"
            " CROSS JOIN entries e ON e.collection_id = ? AND e.track_id = t.id"
            f" WHERE t.organization_id = ? AND t.{group_columns[0]} <> ''"
            f" AND ({columns}) > ({_placeholders(len(key_columns))}) ORDER BY {columns} LIMIT 1"
        )
        position = tuple(after) if after is not None else ("",) * len(key_columns)
        found = []
        while len(found) < wanted + 1:
            row = self.connection.execute(query, [collection_id, organization_id, *position]).fetchone()
            if row is None:
                break
            position = tuple(row)
            values = dict(zip(key_columns, row))
            found.append({**{column: values[column] for column in group_columns}, "key": position})
        return found

    def _group_minimum(self, *, collection_id, organization_id, column, album_key, artist_key):
        """The least ``column`` over the tracks of one album that are in the collection."""
        return self.connection.execute(
            f"SELECT MIN(t.{column}) FROM tracks t INDEXED BY tracks_album_group"
            " CROSS JOIN entries e ON e.collection_id = ? AND e.track_id = t.id"
            " WHERE t.organization_id = ? AND t.album_key = ? AND t.artist_key = ?",
            (collection_id, organization_id, album_key, artist_key),
        ).fetchone()[0]

    def _catalog_walk_groups(self, *, collection_id, organization_id, group_columns, spec, after, wanted):
        """Albums by a value of their tracks (genre, release date): walk the catalog index of that value from
        the position, and keep an album where the walk meets its least value in the collection."""
        _, index, column, order_columns, lead_length = spec
        # The leading key members that are also the leading columns of the index: the walk seeks to them.
        lead = (column, *order_columns)[:lead_length]
        start = ""
        if after is not None:
            start = f" AND ({', '.join(f't.{name}' for name in lead)}) >= ({_placeholders(lead_length)})"
        query = (
            f"SELECT t.{column}, t.album_key, t.artist_key FROM tracks t INDEXED BY {index}"
            " CROSS JOIN entries e ON e.collection_id = ? AND e.track_id = t.id"
            f" WHERE t.organization_id = ? AND t.album_key <> ''{start}"
            f" ORDER BY {', '.join(f't.{name}' for name in INDEX_COLUMNS[index][1:])}"
        )
        parameters = [collection_id, organization_id, *(() if after is None else after[:lead_length])]
        found, emitted, minimum = [], set(), {}
        for value, album_key, artist_key in self.connection.execute(query, parameters):
            group = (album_key, artist_key)
            if group in emitted:
                continue
            values = {"album_key": album_key, "artist_key": artist_key}
            key = (value, *(values[name] for name in order_columns))
            if after is not None and key <= tuple(after):
                continue
            if group not in minimum:
                minimum[group] = self._group_minimum(
                    collection_id=collection_id, organization_id=organization_id, column=column, album_key=album_key,
                    artist_key=artist_key,
                )
            if minimum[group] != value:
                continue
            emitted.add(group)
            found.append({**values, "key": key})
            if len(found) > wanted:
                break
        return found

    def _entries_walk_groups(self, *, collection_id, organization_id, group_columns, spec, after, wanted):
        """Groups newest first (by their latest entry): a seek in the group_latest index past the page's start.
        Positions are unique in a collection, so the position alone orders the groups (the key's group
        columns never break a tie)."""
        kind = "album" if len(group_columns) == 2 else "artist"
        query = (
            "SELECT position, album_key, artist_key FROM group_latest INDEXED BY group_latest_position"
            " WHERE collection_id = ? AND kind = ? AND position < ? ORDER BY position DESC LIMIT ?"
        )
        below = 2**63 - 1 if after is None else -after[0]
        found = []
        for position, album_key, artist_key in self.connection.execute(
            query, (collection_id, kind, below, wanted + 1)
        ):
            values = {"album_key": album_key, "artist_key": artist_key}
            group = tuple(values[column] for column in group_columns)
            found.append({**dict(zip(group_columns, group)), "key": (-position, *group)})
        return found

    def album_details(self, *, collection_id, organization_id, album_key, artist_key):
        """The tracks of one album that are in a collection, as dicts of catalog fields and position, plus
        the album's representative: the first catalog track of the album (it names the album in ids)."""
        rows = self.connection.execute(
            "SELECT t.id, t.album, t.artist, t.genre, t.genre_key, t.release_date, t.is_explicit, t.duration,"
            " e.position FROM tracks t INDEXED BY tracks_album_group"
            " CROSS JOIN entries e ON e.collection_id = ? AND e.track_id = t.id"
            " WHERE t.organization_id = ? AND t.album_key = ? AND t.artist_key = ?",
            (collection_id, organization_id, album_key, artist_key),
        ).fetchall()
        fields = (
            "track_id", "album", "artist", "genre", "genre_key", "release_date", "is_explicit", "duration", "position",
        )
        return [dict(zip(fields, row)) for row in rows]

    def album_representative(self, *, organization_id, album_key, artist_key):
        """``(track_id, album text, artist text)`` of the first catalog track of an album, or None."""
        return self.connection.execute(
            "SELECT id, album, artist FROM tracks WHERE organization_id = ? AND album_key = ? AND artist_key = ?"
            " ORDER BY id LIMIT 1",
            (organization_id, album_key, artist_key),
        ).fetchone()

    def artist_representative(self, *, organization_id, artist_key):
        """``(track_id, artist text)`` of the first catalog track of an artist, or None."""
        return self.connection.execute(
            "SELECT id, artist FROM tracks WHERE organization_id = ? AND artist_key = ? ORDER BY id LIMIT 1",
            (organization_id, artist_key),
        ).fetchone()

    def group_in_collection(self, *, collection_id, organization_id, album_key=None, artist_key):
        """True when the collection holds a track of the album (``album_key`` given) or of the artist."""
        if album_key is None:
            query = (
                "SELECT 1 FROM tracks t INDEXED BY tracks_artist_group CROSS JOIN entries e"
                " ON e.collection_id = ? AND e.track_id = t.id WHERE t.organization_id = ? AND t.artist_key = ? LIMIT 1"
            )
            parameters = (collection_id, organization_id, artist_key)
        else:
            query = (
                "SELECT 1 FROM tracks t INDEXED BY tracks_album_group CROSS JOIN entries e"
                " ON e.collection_id = ? AND e.track_id = t.id"
                " WHERE t.organization_id = ? AND t.album_key = ? AND t.artist_key = ? LIMIT 1"
            )
            parameters = (collection_id, organization_id, album_key, artist_key)
        return self.connection.execute(query, parameters).fetchone() is not None

    def track_keys(self, *, organization_id, track_id):
        """``{"album_key", "artist_key"}`` of one catalog track of the organization, or None."""
        row = self.connection.execute(
            "SELECT album_key, artist_key FROM tracks WHERE organization_id = ? AND id = ?", (organization_id, track_id)
        ).fetchone()
        return None if row is None else {"album_key": row[0], "artist_key": row[1]}

    def playlists_page(self, *, user_id, after=None, limit, offset=0):
        """Up to ``limit`` playlists of a user, newest first, after the playlist ``after`` (a collection id)."""
        query = (
            "SELECT id, user_id, kind, name, is_published, track_count, next_position, version, created_at,"
            " updated_at FROM collections WHERE user_id = ? AND kind = 'playlist'"
            + ("" if after is None else " AND id < ?")
            + " ORDER BY id DESC LIMIT ? OFFSET ?"
        )
        parameters = [user_id, *(() if after is None else (after,)), limit, offset]
        return [dict(zip(_COLLECTION_COLUMNS, row)) for row in self.connection.execute(query, parameters)]

    def table_counts(self):
        """Row counts of every table (tests and the CLI use this to show that nothing was written)."""
        return {
            table: self.connection.execute(f"SELECT COUNT(*) FROM [{table}]").fetchone()[0]
            for table in ("organizations", "users", "credentials", "tracks", "collections", "entries", "group_latest")
        }

    def snapshot(self):
        """Every row of the mutable tables, for before/after comparisons in tests and checks."""
        return {
            table: self.connection.execute(f"SELECT * FROM [{table}] ORDER BY 1, 2").fetchall()
            for table in ("users", "credentials", "collections", "entries", "group_latest")
        }
