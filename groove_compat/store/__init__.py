"""The store: SQLite through sqlite-utils, the only code that speaks SQL.

One ``Store`` per process and database file. Connections are per thread and per process (a forked worker
opens its own), in autocommit mode so that ``transaction()`` controls every transaction with ``BEGIN
IMMEDIATE``: the writer takes the write lock at the start, waits for it up to the busy timeout, and never
fails half-way with "database is locked".
"""

import contextlib
import functools
import os
import sqlite3
import threading
import time

from . import schema


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


def _placeholders(count):
    return ",".join("?" * count)


_INSERT_ROWS = 100  # rows per INSERT statement: at most 100 distinct statement texts in the statement cache


@functools.lru_cache(maxsize=_INSERT_ROWS)
def _insert_entries_statement(rows):
    return "INSERT INTO entries (collection_id, track_id, position, added_at) VALUES " + ",".join(
        ["(?, ?, ?, ?)"] * rows
    )


class Store:
    def __init__(self, path, *, synchronous="FULL", busy_timeout=30.0):
        self.path = str(path)
        self.synchronous = synchronous.upper()
        self.busy_timeout = float(busy_timeout)
        self._local = threading.local()
        self._id_key = None

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
    def upsert_tracks(self, rows):
        """Insert or update catalog tracks in place (keyed on organization and GUID), in one transaction.

        ``rows`` are tuples ``(organization_id, guid, title, artist, album, duration, track_number, isrc)``.
        """
        with self.transaction() as connection:
            connection.executemany(
                "INSERT INTO tracks (organization_id, guid, title, artist, album, duration, track_number, isrc)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (organization_id, guid) DO UPDATE SET title = excluded.title,"
                " artist = excluded.artist, album = excluded.album, duration = excluded.duration,"
                " track_number = excluded.track_number, isrc = excluded.isrc",
                rows,
            )

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
        if not guids:
            return {}
        guids = list(guids)
        rows = self.connection.execute(
            f"SELECT guid, id FROM tracks WHERE organization_id = ? AND guid IN ({_placeholders(len(guids))})",
            [organization_id, *guids],
        )
        return dict(rows)

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
        existing = {
            row[0]
            for row in connection.execute(
                f"SELECT track_id FROM entries WHERE collection_id = ? AND track_id IN ({_placeholders(len(track_ids))})",
                [collection_id, *track_ids],
            )
        }
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
            connection.execute("UPDATE users SET state_version = state_version + 1 WHERE id = ?", (user_id,))
        return set(stored), set(refused)

    def present_entries(self, *, collection_id, track_ids):
        """The subset of ``track_ids`` that are in the collection (one query)."""
        if not track_ids:
            return set()
        track_ids = list(track_ids)
        return {
            row[0]
            for row in self.connection.execute(
                f"SELECT track_id FROM entries WHERE collection_id = ? AND track_id IN ({_placeholders(len(track_ids))})",
                [collection_id, *track_ids],
            )
        }

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
        self._touch(collection_id=collection_id, user_id=user_id)

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

    def table_counts(self):
        """Row counts of every table (tests and the CLI use this to show that nothing was written)."""
        return {
            table: self.connection.execute(f"SELECT COUNT(*) FROM [{table}]").fetchone()[0]
            for table in ("organizations", "users", "credentials", "tracks", "collections", "entries")
        }

    def snapshot(self):
        """Every row of the mutable tables, for before/after comparisons in tests and checks."""
        return {
            table: self.connection.execute(f"SELECT * FROM [{table}] ORDER BY 1, 2").fetchall()
            for table in ("users", "credentials", "collections", "entries")
        }
