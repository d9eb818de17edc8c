"""The core: what a caller can do to a library, as plain per-item outcomes.

Knows nothing of HTTP, JSON or XML. Every write runs in one store transaction, so a batch is stored whole
or not at all. Item failures are values (``Outcome``), never exceptions: the dialects turn them into Groove
results or v1 errors.
"""

import collections
import contextlib
import enum
from dataclasses import dataclass

from . import ids


class Status(enum.Enum):
    ADDED = "added"
    ALREADY_PRESENT = "already_present"
    INVALID_ID = "invalid_id"  # not an id form this operation takes (wrong type, empty, malformed)
    NOT_FOUND = "not_found"  # well-formed, but no such track for this caller
    AMBIGUOUS = "ambiguous"  # an ISRC that matches several catalog tracks
    COLLECTION_FULL = "collection_full"
    REMOVED = "removed"
    ALREADY_ABSENT = "already_absent"  # a remove of a catalog track that was not in the collection


SUCCESSES = frozenset({Status.ADDED, Status.ALREADY_PRESENT, Status.REMOVED, Status.ALREADY_ABSENT})


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of one input item: its status and, on success, the entry's collection id."""

    status: Status
    entry_id: str | None = None

    @property
    def ok(self):
        return self.status in SUCCESSES


_INVALID = Outcome(Status.INVALID_ID)
_NOT_FOUND = Outcome(Status.NOT_FOUND)
_AMBIGUOUS = Outcome(Status.AMBIGUOUS)
_REMOVED = Outcome(Status.REMOVED)
_FULL = Outcome(Status.COLLECTION_FULL)

# Longer items are refused without parsing: no real id form comes close.
MAX_ID_LENGTH = 256


class Reason(enum.Enum):
    """Why a whole operation was refused."""

    COLLECTION_NOT_FOUND = "collection_not_found"  # absent, or not the caller's: the same answer
    PLAYLIST_QUOTA = "playlist_quota"  # the caller owns as many playlists as allowed
    INVALID_REORDER = "invalid_reorder"  # a move or reorder that names entries not in the collection
    STALE_STATE = "stale_state"  # a CollectionStateToken older than the current state
    LIBRARY_IS_PERMANENT = "library_is_permanent"  # the library cannot be deleted or renamed
    PLAYLIST_FULL = "playlist_full"  # the change would put more tracks in a playlist than allowed
    INVALID_POSITION = "invalid_position"  # a paging position that does not fit the order it claims


class LibraryError(Exception):
    """A whole operation refused; ``details`` carries what a client needs to correct it."""

    def __init__(self, reason, message, **details):
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.details = details


def _parse_items(codec, input_ids, collection_ids, max_id_length=MAX_ID_LENGTH):
    """Pass 1, without the store: each item as its catalog GUID's 16 bytes (the usual item, kept bare: no
    per-item tuple), ("isrc", str), ("track", track_id, guid_prefix), or None when it is no id at all.

    Entry ids count only when they name an entry of one of ``collection_ids``.
    """
    guids = ids.parse_catalog_guids(input_ids) if max_id_length >= ids.GUID_ID_LENGTH else None
    if guids is not None:
        return guids  # the usual batch: catalog GUID ids only, parsed in one pass
    parsed = []
    append = parsed.append
    parse_catalog_guid = ids.parse_catalog_guid
    for item in input_ids:
        if type(item) is not str or len(item) > max_id_length:
            append(None)
            continue
        guid = parse_catalog_guid(item)
        if guid is not None:
            append(guid)
            continue
        isrc = ids.parse_isrc_id(item)
        if isrc is not None:
            append(("isrc", isrc))
            continue
        entry = codec.parse_entry_id(item)
        if entry is not None and entry[0] in collection_ids:
            append(("track", entry[1], entry[2]))
            continue
        append(None)
    return parsed


def _resolve_items(store, codec, caller, parsed):
    """Pass 2, with the store: one query per id form.

    Returns ``(resolved, guid_of_track)``: per item a track id, or the failure Outcome.
    """
    organization_id = caller.organization_id
    guids = {item for item in parsed if type(item) is bytes}
    tagged = [item for item in parsed if type(item) is tuple]
    isrcs = {item[1] for item in tagged if item[0] == "isrc"}
    entry_track_ids = {item[1] for item in tagged if item[0] == "track"}
    track_of_guid = store.tracks_by_guid(organization_id=organization_id, guids=guids)
    tracks_of_isrc = store.tracks_by_isrc(organization_id=organization_id, isrcs=isrcs)
    guid_of_track = {track_id: guid for guid, track_id in track_of_guid.items()}
    for matches in tracks_of_isrc.values():
        if len(matches) == 1:
            guid_of_track[matches[0][0]] = matches[0][1]
    if entry_track_ids - guid_of_track.keys():
        guid_of_track.update(
            store.track_guids(organization_id=organization_id, track_ids=entry_track_ids - guid_of_track.keys())
        )
    resolved = []
    for item in parsed:
        if item is None:
            resolved.append(_INVALID)
            continue
        if type(item) is bytes:
            track_id = track_of_guid.get(item)
            resolved.append(_NOT_FOUND if track_id is None else track_id)
            continue
        if item[0] == "isrc":
            matches = tracks_of_isrc.get(item[1], ())
            if len(matches) > 1:
                resolved.append(_AMBIGUOUS)
                continue
            track_id = matches[0][0] if matches else None
        else:
            track_id = item[1]
            guid = guid_of_track.get(track_id)
            if guid is None or codec.guid_prefix(guid) != item[2]:
                track_id = None
        resolved.append(_NOT_FOUND if track_id is None else track_id)
    return resolved, guid_of_track


def owned_collection(store, caller, collection_id):
    """The caller's collection ``collection_id``; COLLECTION_NOT_FOUND if it is absent or someone else's."""
    collection = store.collection(collection_id) if collection_id else None
    if collection is None or collection["user_id"] != caller.user_id:
        raise LibraryError(Reason.COLLECTION_NOT_FOUND, "No such collection")
    return collection


def add_tracks(store, codec, caller, input_ids, *, capacity, collection_id=None, max_id_length=MAX_ID_LENGTH):
    """Append catalog tracks to a collection of the caller (default: the library); one Outcome per input
    item, in input order.

    Items may be catalog ids (``music.{GUID}``), ISRC ids (``music.isrc.{ISRC}``) or entry ids of the
    caller's library or of the target collection; anything else (non-strings, and strings longer than
    ``max_id_length``, which are not even parsed) is INVALID_ID.
    Repeated items and tracks already in the collection succeed with the same entry id and store nothing
    twice. Items past ``capacity`` fail with COLLECTION_FULL; the others are stored.
    """
    target_id = caller.library_id if collection_id is None else collection_id
    parsed = _parse_items(codec, input_ids, (caller.library_id, target_id), max_id_length)
    # First reads, which take no write lock: a batch with nothing new to store (a re-add, a batch of bad
    # ids) is answered from them and never waits for other writers. The write that follows uses the tracks
    # resolved here: a catalog track keeps its row for good (imports update rows in place), and an ISRC that
    # an import moves to another track in between resolves as it did when the add began. For the caller's
    # library the reads need no common snapshot: the library is the caller's for good, and the write
    # checks presence again under the write lock. Without BEGIN and COMMIT around them a batch makes two
    # statements fewer, each a release of the GIL that under load can hand the interpreter to another
    # thread. A playlist is read in one snapshot with its ownership: deleted meanwhile, its id may be
    # another user's new playlist by the presence check, and a batch present there would be answered
    # from it without a write to check again.
    to_playlist = target_id != caller.library_id
    with store.read_transaction() if to_playlist else contextlib.nullcontext():
        if to_playlist:
            owned_collection(store, caller, target_id)
        resolved, guid_of_track = _resolve_items(store, codec, caller, parsed)
        wanted = list(dict.fromkeys(item for item in resolved if type(item) is not Outcome))
        present = store.present_entries(collection_id=target_id, track_ids=wanted)
    added = full = frozenset()
    if len(present) < len(wanted):
        with store.transaction():
            if to_playlist:
                owned_collection(store, caller, target_id)
            # Checked again under the write lock: another writer may have added or removed some meanwhile.
            added, full = store.append_entries(
                collection_id=target_id, user_id=caller.user_id, track_ids=wanted, capacity=capacity
            )

    entry_ids = iter(
        codec.entry_ids(
            target_id, [(item, guid_of_track[item]) for item in resolved if type(item) is not Outcome and item not in full]
        )
    )
    outcomes = []
    seen = set()
    for item in resolved:
        if type(item) is Outcome:
            outcomes.append(item)
        elif item in full:
            outcomes.append(_FULL)
        else:
            status = Status.ADDED if item in added and item not in seen else Status.ALREADY_PRESENT
            seen.add(item)
            outcomes.append(Outcome(status, next(entry_ids)))
    return outcomes


def remove_tracks(store, codec, caller, input_ids, *, collection_id=None):
    """Remove tracks from a collection of the caller (default: the library); one Outcome per item.

    Items may be entry ids of that collection or catalog / ISRC ids of tracks in it. An item whose track
    was in the collection when the request began is REMOVED (a repeated item too); anything else is
    NOT_FOUND or INVALID_ID.
    """
    target_id = caller.library_id if collection_id is None else collection_id
    parsed = _parse_items(codec, input_ids, (target_id,))
    with store.transaction():
        if target_id != caller.library_id:
            owned_collection(store, caller, target_id)
        resolved, guid_of_track = _resolve_items(store, codec, caller, parsed)
        wanted = {item for item in resolved if type(item) is not Outcome}
        removed = (
            store.remove_entries(collection_id=target_id, user_id=caller.user_id, track_ids=wanted) if wanted else set()
        )
    return [
        item if type(item) is Outcome else (_REMOVED if item in removed else _NOT_FOUND) for item in resolved
    ]


def move_tracks(store, codec, caller, input_ids, *, collection_id, before=None):
    """Move the listed entries, in request order, as one block to just before ``before`` (an entry or
    catalog id; None: to the end). Every other entry keeps its relative order. INVALID_REORDER when an
    item or ``before`` is not in the collection, or ``before`` is itself moved."""
    parsed = _parse_items(codec, [*input_ids, before] if before is not None else input_ids, (collection_id,))
    with store.transaction():
        owned_collection(store, caller, collection_id)
        resolved, _ = _resolve_items(store, codec, caller, parsed)
        before_track = resolved.pop() if before is not None else None
        order = store.entry_positions(collection_id)
        present = {track_id for track_id, _ in order}
        invalid = [
            input_id
            for input_id, track_id in zip(input_ids, resolved)
            if type(track_id) is Outcome or track_id not in present
        ]
        moved = list(dict.fromkeys(track_id for track_id in resolved if type(track_id) is not Outcome))
        if invalid or not moved:
            raise LibraryError(Reason.INVALID_REORDER, "Moved entries must be in the playlist", invalid_ids=invalid)
        if before is not None and (type(before_track) is Outcome or before_track not in present or before_track in moved):
            raise LibraryError(
                Reason.INVALID_REORDER, "InsertBeforeTrackId must be an entry of the playlist that is not moved"
            )
        _apply_order(store, caller, collection_id, order, _moved_order(order, moved, before_track))


def _moved_order(order, moved, before_track):
    """``order``'s track ids with ``moved`` (present, unique) as one block just before ``before_track``
    (None: at the end); the other tracks keep their relative order."""
    moved_set = set(moved)
    rest = [track_id for track_id, _ in order if track_id not in moved_set]
    at = len(rest) if before_track is None else rest.index(before_track)
    return rest[:at] + moved + rest[at:]


def reorder(store, caller, collection_id, track_ids):
    """Give a collection a whole new order: ``track_ids`` must be exactly its tracks, each once."""
    with store.transaction():
        owned_collection(store, caller, collection_id)
        order = store.entry_positions(collection_id)
        current = {track_id for track_id, _ in order}
        wanted = set(track_ids)
        duplicates = len(track_ids) != len(wanted)
        if duplicates or wanted != current:
            raise LibraryError(
                Reason.INVALID_REORDER,
                "The new order must name every track of the collection exactly once",
                missing=sorted(current - wanted),
                unexpected=sorted(wanted - current),
                # Counted once: a long list full of repeats must not cost quadratic time.
                duplicated=sorted(t for t, n in collections.Counter(track_ids).items() if n > 1) if duplicates else [],
            )
        _apply_order(store, caller, collection_id, order, list(track_ids))


def _apply_order(store, caller, collection_id, order, new_order):
    """Store ``new_order`` reusing the collection's existing positions, writing only entries that move."""
    changed = {new: position for (old, position), new in zip(order, new_order) if old != new}
    if changed:
        store.set_positions(collection_id=collection_id, user_id=caller.user_id, positions=changed)


def create_playlist(store, caller, *, name, is_published=None, quota):
    """Create a playlist owned by the caller; PLAYLIST_QUOTA when the caller already owns ``quota``."""
    with store.transaction():
        if store.count_collections(user_id=caller.user_id, kind="playlist") >= quota:
            raise LibraryError(Reason.PLAYLIST_QUOTA, f"A user owns at most {quota} playlists")
        collection_id = store.create_collection(
            user_id=caller.user_id, kind="playlist", name=name, is_published=is_published
        )
        return store.collection(collection_id)


def update_collection(store, caller, collection_id, *, name=None, is_published=None):
    """Rename a playlist and/or change its published flag; the library keeps its (absent) name."""
    with store.transaction():
        collection = owned_collection(store, caller, collection_id)
        if collection["kind"] == "library" and name is not None:
            raise LibraryError(Reason.LIBRARY_IS_PERMANENT, "The library cannot be renamed")
        store.update_collection(collection_id=collection_id, user_id=caller.user_id, name=name, is_published=is_published)
        return store.collection(collection_id)


def delete_collection(store, caller, collection_id):
    """Delete a playlist of the caller with its entries; the library cannot be deleted."""
    with store.transaction():
        collection = owned_collection(store, caller, collection_id)
        if collection["kind"] == "library":
            raise LibraryError(Reason.LIBRARY_IS_PERMANENT, "The library cannot be deleted")
        store.delete_collection(collection_id=collection_id, user_id=caller.user_id)


def list_collections(store, caller):
    """The caller's collections: the library first, then playlists by creation."""
    return store.collections_of_user(caller.user_id)


def entries_page(store, caller, collection_id, *, after_position=None, limit):
    """A page of a collection's entries in position order (keyset paging on the position)."""
    owned_collection(store, caller, collection_id)
    return store.entries_page(collection_id=collection_id, after_position=after_position, limit=limit)


@dataclass(frozen=True)
class CollectionState:
    """What Groove's profile calls CollectionState; ``token`` changes on every change of any collection."""

    token: str
    track_count: int
    playlist_count: int


def collection_state(store, caller):
    user = store.user(caller.user_id)
    library = store.collection(caller.library_id)
    playlists = store.count_collections(user_id=caller.user_id, kind="playlist")
    return CollectionState(
        token=f"1.0.0.0.{user['state_version']}", track_count=library["track_count"], playlist_count=playlists
    )


def check_state_token(store, caller, token):
    """Refuse (STALE_STATE) a CollectionStateToken that is not the current one: the client's view of the
    collection is older than what is stored, so its change could undo someone else's. Call it inside the
    transaction of the change it guards (``store.transaction()`` nests), so nothing slips in between."""
    if token is not None and token != collection_state(store, caller).token:
        raise LibraryError(Reason.STALE_STATE, "The collection changed since CollectionStateToken was read")


# ---------------------------------------------------------------------------------------------------------
# Operations on tracks given by their catalog row ids (the v1 dialect names tracks by ``mtrack_`` ids).
# They resolve the row to its catalog id and go through the same code as the Groove operations.


def _catalog_id_of_track(store, caller, track_id):
    """The ``music.{GUID}`` id of a catalog row of the caller's organization, or None."""
    guid = store.track_guids(organization_id=caller.organization_id, track_ids=[track_id]).get(track_id)
    return None if guid is None else ids.catalog_id(guid)


def add_track(store, codec, caller, track_id, *, collection_id, library_capacity, playlist_capacity):
    """Append one catalog track (a row id of the caller's organization) to a collection of the caller.

    Returns the Outcome: ADDED or ALREADY_PRESENT (with the entry's Groove id), NOT_FOUND when the track is
    not in the caller's organization's catalog, COLLECTION_FULL past the collection kind's capacity.
    Raises COLLECTION_NOT_FOUND when the collection is absent or someone else's.
    """
    with store.transaction():
        collection = owned_collection(store, caller, collection_id)
        catalog_id = _catalog_id_of_track(store, caller, track_id)
        if catalog_id is None:
            return _NOT_FOUND
        capacity = library_capacity if collection["kind"] == "library" else playlist_capacity
        (outcome,) = add_tracks(store, codec, caller, [catalog_id], capacity=capacity, collection_id=collection_id)
        return outcome


def remove_track(store, codec, caller, track_id, *, collection_id):
    """Remove one catalog track (a row id) from a collection of the caller.

    REMOVED, or ALREADY_ABSENT when the track is in the catalog but not in the collection (a remove is
    idempotent), or NOT_FOUND when the track is not in the caller's organization's catalog. Raises
    COLLECTION_NOT_FOUND when the collection is absent or someone else's.
    """
    with store.transaction():
        owned_collection(store, caller, collection_id)
        catalog_id = _catalog_id_of_track(store, caller, track_id)
        if catalog_id is None:
            return _NOT_FOUND
        (outcome,) = remove_tracks(store, codec, caller, [catalog_id], collection_id=collection_id)
        return outcome if outcome.status is Status.REMOVED else Outcome(Status.ALREADY_ABSENT)


def move_entries(store, caller, collection_id, track_ids, *, before_track_id=None):
    """Move tracks (row ids, in the given order) as one block to just before ``before_track_id`` (None: to
    the end); every other entry keeps its relative order.

    INVALID_REORDER with ``not_in_collection`` (the given ids that are not entries of the collection, in
    request order) or with ``before_is_moved`` when ``before_track_id`` is itself moved.
    """
    with store.transaction():
        owned_collection(store, caller, collection_id)
        order = store.entry_positions(collection_id)
        present = {track_id for track_id, _ in order}
        moved = list(dict.fromkeys(track_ids))
        named = moved if before_track_id is None else [*moved, before_track_id]
        absent = list(dict.fromkeys(track_id for track_id in named if track_id not in present))
        if absent or not moved:
            raise LibraryError(
                Reason.INVALID_REORDER, "Moved tracks must be entries of the collection", not_in_collection=absent
            )
        if before_track_id in moved:
            raise LibraryError(
                Reason.INVALID_REORDER, "The track to move before must not itself be moved", before_is_moved=True
            )
        _apply_order(store, caller, collection_id, order, _moved_order(order, moved, before_track_id))


@dataclass(frozen=True)
class EntriesPage:
    """One page of a collection in position order.

    ``entries`` are ``store.entries_page`` dicts plus ``rank``, the entry's dense 0-based place in the
    collection; ``next_after`` is the position to continue after, or None on the last page.
    """

    entries: list
    next_after: int | None


def ranked_entries_page(store, caller, collection_id, *, after_position=None, limit):
    """Up to ``limit`` entries after ``after_position``, with their dense ranks, read from one snapshot."""
    with store.read_transaction():
        owned_collection(store, caller, collection_id)
        # One row more than asked tells whether another page follows, without a count.
        rows = store.entries_page(collection_id=collection_id, after_position=after_position, limit=limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        if rows:
            first_rank = store.entry_rank(collection_id=collection_id, position=rows[0]["position"])
            for offset, row in enumerate(rows):
                row["rank"] = first_rank + offset
    return EntriesPage(entries=rows, next_after=rows[-1]["position"] if more else None)
