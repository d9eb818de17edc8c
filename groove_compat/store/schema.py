"""The database schema and its migrations. ``PRAGMA user_version`` holds the version reached."""

import time

from .. import ids
from . import keys


def _now_ms():
    return int(time.time() * 1000)


def _migration_1(db):
    """Organizations, users, credentials, the catalog, collections and their entries."""
    db["settings"].create({"name": str, "value": bytes}, pk="name")
    db["organizations"].create({"id": int, "name": str, "created_at": int}, pk="id", not_null={"name", "created_at"})
    db["users"].create(
        {"id": int, "organization_id": int, "name": str, "library_id": int, "state_version": int, "created_at": int},
        pk="id",
        not_null={"organization_id", "name", "state_version", "created_at"},
        defaults={"state_version": 0},
        foreign_keys=[("organization_id", "organizations", "id")],
    )
    db["credentials"].create(
        {"id": int, "user_id": int, "token_hash": bytes, "created_at": int, "revoked_at": int},
        pk="id",
        not_null={"user_id", "token_hash", "created_at"},
        foreign_keys=[("user_id", "users", "id")],
    )
    db["credentials"].create_index(["token_hash"], unique=True)
    db["credentials"].create_index(["user_id"])
    # The catalog: one organization's tracks. guid is the 16 bytes of the Groove catalog id.
    db["tracks"].create(
        {
            "id": int,
            "organization_id": int,
            "guid": bytes,
            "title": str,
            "artist": str,
            "album": str,
            "duration": int,
            "track_number": int,
            "isrc": str,
        },
        pk="id",
        not_null={"organization_id", "guid", "title"},
        foreign_keys=[("organization_id", "organizations", "id")],
    )
    db["tracks"].create_index(["organization_id", "guid"], unique=True)
    db.execute("CREATE INDEX tracks_isrc ON tracks (organization_id, isrc) WHERE isrc IS NOT NULL")
    # A collection is a user's library (exactly one) or a playlist. track_count and next_position are
    # counters kept by every write, so an append never scans the entries.
    db["collections"].create(
        {
            "id": int,
            "user_id": int,
            "kind": str,
            "name": str,
            "is_published": int,
            "track_count": int,
            "next_position": int,
            "version": int,
            "created_at": int,
            "updated_at": int,
        },
        pk="id",
        not_null={"user_id", "kind", "track_count", "next_position", "version", "created_at", "updated_at"},
        defaults={"track_count": 0, "next_position": 0, "version": 0},
        foreign_keys=[("user_id", "users", "id")],
    )
    db["collections"].create_index(["user_id", "kind"])
    # WITHOUT ROWID keyed on (collection, track): the unique key is the table itself, so a track is in a
    # collection at most once and an insert touches one b-tree plus the position index.
    db.execute(
        """
        CREATE TABLE entries (
            collection_id INTEGER NOT NULL REFERENCES collections(id),
            track_id INTEGER NOT NULL REFERENCES tracks(id),
            position INTEGER NOT NULL,
            added_at INTEGER NOT NULL,
            PRIMARY KEY (collection_id, track_id)
        ) WITHOUT ROWID
        """
    )
    db.execute("CREATE INDEX entries_position ON entries (collection_id, position)")
    db["settings"].insert({"name": "id_key", "value": ids.new_secret_key()})
    db["organizations"].insert({"id": 1, "name": "default", "created_at": _now_ms()})


# Indexes that let browse seek to a page: one per order, each ending with the tie-breaker ``id``, so a page
# is ``(keys..., id) > (last item's keys..., id) ORDER BY keys..., id LIMIT n`` whatever its place.
BROWSE_INDEXES = {
    "tracks_by_title": ("organization_id", "title_key", "id"),
    "tracks_by_album": ("organization_id", "album_key", "artist_key", "number_key", "id"),
    "tracks_by_artist": ("organization_id", "artist_key", "album_key", "number_key", "id"),
    "tracks_by_genre": ("organization_id", "genre_key", "artist_key", "album_key", "number_key", "id"),
    "tracks_by_release": ("organization_id", "release_key", "album_key", "artist_key", "number_key", "id"),
    "tracks_by_number": ("organization_id", "number_key", "title_key", "id"),
    # The first catalog track of an album or artist names it in ids (music.AQE..., music.AQI...).
    "tracks_album_group": ("organization_id", "album_key", "artist_key", "id"),
    "tracks_artist_group": ("organization_id", "artist_key", "id"),
}


def _migration_2(db):
    """Catalog genre, release date and explicit flag; sort keys and the indexes of keyset browse.

    Works on a version-1 database: columns are added (SQLite ALTER TABLE ADD COLUMN), the keys of the
    existing tracks are computed here, then the indexes are built.
    """
    for name, kind, default in (
        ("genre", "TEXT", None),
        ("release_date", "TEXT", None),
        ("is_explicit", "INTEGER", None),
        ("title_key", "TEXT", "''"),
        ("artist_key", "TEXT", "''"),
        ("album_key", "TEXT", "''"),
        ("genre_key", "TEXT", "''"),
        ("release_key", "INTEGER", str(keys.NO_RELEASE_DATE)),
        ("number_key", "INTEGER", str(keys.NO_TRACK_NUMBER)),
    ):
        clause = "" if default is None else f" NOT NULL DEFAULT {default}"
        db.execute(f"ALTER TABLE tracks ADD COLUMN {name} {kind}{clause}")
    rows = db.execute("SELECT id, title, artist, album, track_number FROM tracks").fetchall()
    db.conn.executemany(
        "UPDATE tracks SET title_key = ?, artist_key = ?, album_key = ?, number_key = ? WHERE id = ?",
        [
            (keys.text_key(title), keys.text_key(artist), keys.text_key(album), keys.number_key(number), track_id)
            for track_id, title, artist, album, number in rows
        ],
    )
    for name, columns in BROWSE_INDEXES.items():
        db.execute(f"CREATE INDEX {name} ON tracks ({', '.join(columns)})")


# The latest entry of every album and artist of a collection, so that "albums / artists newest first" is a
# seek on one index instead of a walk over the entries. Kept by the store inside each write's transaction.
# An album row has kind 'album' and both keys; an artist row kind 'artist' and album_key ''. Groups with an
# empty leading key (no album, no artist) are not browsed and get no row.
GROUP_LATEST_ROWS = (
    "SELECT e.collection_id, 'album', t.album_key, t.artist_key, MAX(e.position)"
    " FROM entries e JOIN tracks t ON t.id = e.track_id WHERE {where} AND t.album_key <> ''"
    " GROUP BY e.collection_id, t.album_key, t.artist_key"
    " UNION ALL"
    " SELECT e.collection_id, 'artist', '', t.artist_key, MAX(e.position)"
    " FROM entries e JOIN tracks t ON t.id = e.track_id WHERE {where} AND t.artist_key <> ''"
    " GROUP BY e.collection_id, t.artist_key"
)
GROUP_LATEST_FILL = "INSERT INTO group_latest (collection_id, kind, album_key, artist_key, position) " + GROUP_LATEST_ROWS


def _migration_3(db):
    """The group_latest table (latest entry position of each album and artist of a collection), filled for
    the entries already stored, and the log of catalog tracks whose album or artist changed."""
    db.execute(
        """
        CREATE TABLE group_latest (
            collection_id INTEGER NOT NULL REFERENCES collections(id),
            kind TEXT NOT NULL,
            album_key TEXT NOT NULL,
            artist_key TEXT NOT NULL,
            position INTEGER NOT NULL,
            PRIMARY KEY (collection_id, kind, album_key, artist_key)
        ) WITHOUT ROWID
        """
    )
    db.execute("CREATE INDEX group_latest_position ON group_latest (collection_id, kind, position)")
    # A catalog import that changes a track's album or artist moves its entries to other groups; the trigger
    # notes the track (only then: the usual re-import of unchanged rows pays just the WHEN test), and the
    # store recomputes the groups of the collections holding it before the import's transaction ends.
    db.execute("CREATE TABLE tracks_regrouped (track_id INTEGER PRIMARY KEY)")
    db.execute(
        """
        CREATE TRIGGER tracks_regroup AFTER UPDATE OF album_key, artist_key ON tracks
        WHEN old.album_key IS NOT new.album_key OR old.artist_key IS NOT new.artist_key
        BEGIN
            INSERT OR IGNORE INTO tracks_regrouped (track_id) VALUES (new.id);
        END
        """
    )
    db.execute(GROUP_LATEST_FILL.format(where="1"))


MIGRATIONS = [_migration_1, _migration_2, _migration_3]
SCHEMA_VERSION = len(MIGRATIONS)
