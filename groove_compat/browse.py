"""The core of reading a collection back: keyset pages of tracks, albums, artists and playlists, and
look-ups by id. Knows nothing of HTTP, JSON or XML; results are plain dicts.

Albums and artists are not stored: they are derived from the catalog text of the tracks in a collection
(an album is the tracks sharing album and artist names, compared without case or accents; an artist, the
tracks sharing an artist name). Each is named in ids by its first catalog track, so its id is stable for
one user whatever is added or removed.

Paging is by keyset: a page is the items past the sort key of the previous page's last item, so a page
costs the same wherever it is, and items present from the first page to the last are seen exactly once
even while others are added or removed between pages.
"""

from dataclasses import dataclass

from . import ids, library
from .library import LibraryError, Reason
from .store import BROWSE_ORDERS, GROUP_ORDERS

TRACK_ORDERS = frozenset(BROWSE_ORDERS)
ALBUM_ORDERS = frozenset(GROUP_ORDERS["album"])
ARTIST_ORDERS = frozenset(GROUP_ORDERS["artist"])


@dataclass(frozen=True)
class Page:
    """One page: ``items``; ``after``, the position to continue from when more items remain (else None);
    ``total``, the number of items of the whole list when it is known without counting (else None)."""

    items: list
    after: tuple | None
    total: int | None = None


def _key_shape(kind, order):
    """The types of a keyset position of one order, so a position from outside is checked before use."""
    if kind == "track":
        spec = BROWSE_ORDERS[order]
        if spec is None:
            return (int, int)
        return tuple(int if column in ("release_key", "number_key") else str for column in spec[1]) + (int,)
    if kind == "playlist":
        return (int,)
    spec = GROUP_ORDERS[kind][order]
    group = (str, str) if kind == "album" else (str,)
    if spec[0] == "skip":
        return group
    if spec[0] == "catalog":
        return ((str if spec[2] == "genre_key" else int),) + group
    return (int,) + group


def check_position(kind, order, after):
    """Raise INVALID_POSITION unless ``after`` (None or a tuple) fits the keyset of ``kind`` in ``order``."""
    if after is None:
        return
    shape = _key_shape(kind, order)
    if len(after) != len(shape) or any(type(value) is not expected for value, expected in zip(after, shape)):
        raise LibraryError(Reason.INVALID_POSITION, "The paging position does not fit this order")


def readable_collection(store, caller, collection_id):
    """A collection the caller may read: one of the caller's, or a published playlist of another user of the
    same organization. COLLECTION_NOT_FOUND otherwise (absent and unreadable look the same)."""
    collection = store.collection(collection_id) if collection_id else None
    if collection is not None and collection["user_id"] == caller.user_id:
        return collection
    if collection is not None and collection["kind"] == "playlist" and collection["is_published"]:
        owner = store.user(collection["user_id"])
        if owner is not None and owner["organization_id"] == caller.organization_id:
            return collection
    raise LibraryError(Reason.COLLECTION_NOT_FOUND, "No such collection")


class _Names:
    """Representatives (first catalog tracks) of the albums and artists met on one page, asked once each."""

    def __init__(self, store, organization_id):
        self.store = store
        self.organization_id = organization_id
        self.albums = {}
        self.artists = {}

    def album(self, album_key, artist_key):
        group = (album_key, artist_key)
        if group not in self.albums:
            self.albums[group] = self.store.album_representative(
                organization_id=self.organization_id, album_key=album_key, artist_key=artist_key
            )
        return self.albums[group]

    def artist(self, artist_key):
        if artist_key not in self.artists:
            self.artists[artist_key] = self.store.artist_representative(
                organization_id=self.organization_id, artist_key=artist_key
            )
        return self.artists[artist_key]


def _annotate_tracks(entries, names):
    """Add the representatives of each entry's album and artist (``album_track_id``, ``artist_track_id``)."""
    for entry in entries:
        album = names.album(entry["album_key"], entry["artist_key"]) if entry["album_key"] else None
        artist = names.artist(entry["artist_key"]) if entry["artist_key"] else None
        entry["album_track_id"] = album[0] if album else None
        entry["artist_track_id"] = artist[0] if artist else None
    return entries


def _page(rows, limit):
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1]["key"] if more and rows else None)


def browse_tracks(store, caller, *, collection_id=None, order, after=None, limit, offset=0):
    """A page of the tracks of a collection the caller may read (default: the caller's library)."""
    collection = readable_collection(store, caller, caller.library_id if collection_id is None else collection_id)
    check_position("track", order, after)
    owner = store.user(collection["user_id"])
    rows = store.browse_entries(
        collection_id=collection["id"],
        organization_id=owner["organization_id"],
        order=order,
        after=after,
        limit=limit + 1,
        offset=offset,
    )
    rows, next_after = _page(rows, limit)
    _annotate_tracks(rows, _Names(store, owner["organization_id"]))
    return Page(rows, next_after, collection["track_count"])


def _album_item(store, caller, group, names):
    tracks = store.album_details(
        collection_id=caller.library_id,
        organization_id=caller.organization_id,
        album_key=group["album_key"],
        artist_key=group["artist_key"],
    )
    representative = names.album(group["album_key"], group["artist_key"])
    artist = names.artist(group["artist_key"]) if group["artist_key"] else None
    genres = {}
    for track in sorted(tracks, key=lambda track: (track["genre_key"] or "", track["track_id"])):
        if track["genre"]:
            genres.setdefault(track["genre_key"], track["genre"])
    release_dates = [track["release_date"] for track in tracks if track["release_date"]]
    explicit = [track["is_explicit"] for track in tracks if track["is_explicit"] is not None]
    return {
        "key": group["key"],
        "track_id": representative[0],
        "name": representative[1],
        "artist_track_id": artist[0] if artist else None,
        "artist": artist[1] if artist else None,
        "track_count": len(tracks),
        "duration": sum(track["duration"] or 0 for track in tracks),
        "genres": list(genres.values()),
        "release_date": max(release_dates) if release_dates else None,
        "is_explicit": any(explicit) if explicit else None,
    }


def _group_page(store, caller, kind, *, order, after, limit, offset):
    """One page of albums or artists (``kind``) of the caller's library, and the position after it."""
    check_position(kind, order, after)
    groups = store.browse_groups(
        collection_id=caller.library_id,
        organization_id=caller.organization_id,
        kind=kind,
        order=order,
        after=after,
        limit=limit + 1,
        offset=offset,
    )
    return _page(groups, limit)


def browse_albums(store, caller, *, order, after=None, limit, offset=0):
    """A page of the albums of the caller's library."""
    groups, next_after = _group_page(store, caller, "album", order=order, after=after, limit=limit, offset=offset)
    names = _Names(store, caller.organization_id)
    return Page([_album_item(store, caller, group, names) for group in groups], next_after)


def browse_artists(store, caller, *, order, after=None, limit, offset=0):
    """A page of the artists of the caller's library."""
    groups, next_after = _group_page(store, caller, "artist", order=order, after=after, limit=limit, offset=offset)
    names = _Names(store, caller.organization_id)
    items = []
    for group in groups:
        representative = names.artist(group["artist_key"])
        items.append({"key": group["key"], "track_id": representative[0], "name": representative[1]})
    return Page(items, next_after)


def browse_playlists(store, caller, *, after=None, limit, offset=0):
    """A page of the caller's playlists, newest first."""
    check_position("playlist", "added", after)
    rows = store.playlists_page(
        user_id=caller.user_id, after=None if after is None else after[0], limit=limit + 1, offset=offset
    )
    for row in rows:
        row["key"] = (row["id"],)
    rows, next_after = _page(rows, limit)
    return Page(rows, next_after, store.count_collections(user_id=caller.user_id, kind="playlist"))


# ---------------------------------------------------------------------------------------------------------
# Look-ups by id: each returns None when the caller has no such item, never raises for a missing one.


def entry(store, caller, collection_id, track_id, guid_prefix=None):
    """One entry (as a browse page gives it) of a collection the caller may read, or None. ``guid_prefix``
    (from an entry id) must match the track's catalog GUID when given."""
    try:
        collection = readable_collection(store, caller, collection_id)
    except LibraryError:
        return None
    owner = store.user(collection["user_id"])
    found = store.entries_of_tracks(collection_id=collection_id, track_ids=[track_id]).get(track_id)
    if found is None or (guid_prefix is not None and ids.IdCodec.guid_prefix(found["guid"]) != guid_prefix):
        return None
    return _annotate_tracks([found], _Names(store, owner["organization_id"]))[0]


def library_entry_of_catalog_track(store, caller, guid):
    """The caller's library entry of the catalog track with this GUID, or None."""
    track_id = store.tracks_by_guid(organization_id=caller.organization_id, guids=[guid]).get(guid)
    return None if track_id is None else entry(store, caller, caller.library_id, track_id)


def album(store, caller, collection_id, track_id):
    """The album of the caller's library named by its representative track, or None."""
    if collection_id != caller.library_id:
        return None
    keys = store.track_keys(organization_id=caller.organization_id, track_id=track_id)
    if keys is None or not keys["album_key"]:
        return None
    group = {"album_key": keys["album_key"], "artist_key": keys["artist_key"], "key": None}
    if not store.group_in_collection(
        collection_id=collection_id, organization_id=caller.organization_id, album_key=group["album_key"],
        artist_key=group["artist_key"],
    ):
        return None
    return _album_item(store, caller, group, _Names(store, caller.organization_id))


def artist(store, caller, collection_id, track_id):
    """The artist of the caller's library named by its representative track, or None."""
    if collection_id != caller.library_id:
        return None
    keys = store.track_keys(organization_id=caller.organization_id, track_id=track_id)
    if keys is None or not keys["artist_key"]:
        return None
    if not store.group_in_collection(
        collection_id=collection_id, organization_id=caller.organization_id, artist_key=keys["artist_key"]
    ):
        return None
    representative = store.artist_representative(organization_id=caller.organization_id, artist_key=keys["artist_key"])
    return {"key": None, "track_id": representative[0], "name": representative[1]}


def playlist(store, caller, collection_id):
    """A playlist the caller may read, with its total duration in seconds, or None."""
    try:
        collection = readable_collection(store, caller, collection_id)
    except LibraryError:
        return None
    if collection["kind"] != "playlist":
        return None
    return {**collection, "duration": store.collection_duration(collection_id)}


@dataclass(frozen=True)
class Profile:
    """What Groove's profile tells about a user's collection: the state token, counts and what remains."""

    token: str
    track_count: int
    playlist_count: int
    remaining_track_count: int
    remaining_playlist_count: int


def profile(store, caller, *, track_capacity, playlist_capacity):
    state = library.collection_state(store, caller)
    return Profile(
        token=state.token,
        track_count=state.track_count,
        playlist_count=state.playlist_count,
        remaining_track_count=max(track_capacity - state.track_count, 0),
        remaining_playlist_count=max(playlist_capacity - state.playlist_count, 0),
    )
