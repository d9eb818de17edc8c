"""The core of playlist editing as whole requests: create with tracks, edit (metadata, adds, deletes, a move),
delete, each in one store transaction guarded by an optional CollectionStateToken.

Built on ``library``: a request is stored whole or not at all, and a stale CollectionStateToken is checked
inside the same transaction as the change, so nothing can slip in between the check and the write.
"""

from dataclasses import dataclass

from . import library
from .library import LibraryError, Reason, Status


@dataclass(frozen=True)
class TrackEdit:
    """One Add or Delete of a playlist edit: ``action`` is "add" or "delete", ``item`` the id as sent."""

    action: str
    item: object


def _owned_playlist(store, caller, collection_id):
    collection = library.owned_collection(store, caller, collection_id)
    if collection["kind"] != "playlist":
        raise LibraryError(Reason.COLLECTION_NOT_FOUND, "No such playlist")
    return collection


def _refuse_overflow(outcomes, track_capacity):
    if any(outcome.status is Status.COLLECTION_FULL for outcome in outcomes):
        raise LibraryError(Reason.PLAYLIST_FULL, f"A playlist holds at most {track_capacity} tracks")


def create(store, codec, caller, *, name, is_published=None, track_ids=(), state_token=None, quota, track_capacity):
    """Create a playlist of the caller holding ``track_ids`` (catalog or library entry ids), in one
    transaction. Returns ``(collection, outcomes)``: one Outcome per track id. PLAYLIST_QUOTA when the
    caller owns ``quota`` playlists, PLAYLIST_FULL when the tracks exceed ``track_capacity`` (nothing is
    created then), STALE_STATE for a stale ``state_token``."""
    with store.transaction():
        library.check_state_token(store, caller, state_token)
        collection = library.create_playlist(store, caller, name=name, is_published=is_published, quota=quota)
        outcomes = []
        if track_ids:
            outcomes = library.add_tracks(
                store, codec, caller, list(track_ids), capacity=track_capacity, collection_id=collection["id"]
            )
            _refuse_overflow(outcomes, track_capacity)
        return store.collection(collection["id"]), outcomes


def edit(
    store, codec, caller, collection_id, *, name=None, is_published=None, edits=(), move_ids=None, before=None,
    state_token=None, track_capacity,
):
    """Change a playlist of the caller in one transaction: metadata, then either ``edits`` (TrackEdits applied
    in request order, one Outcome each, returned in that order) or a move of ``move_ids`` to just before the
    entry ``before`` (None: the end). COLLECTION_NOT_FOUND, STALE_STATE, INVALID_REORDER and PLAYLIST_FULL
    refuse the whole request and change nothing."""
    with store.transaction():
        _owned_playlist(store, caller, collection_id)
        library.check_state_token(store, caller, state_token)
        if name is not None or is_published is not None:
            library.update_collection(store, caller, collection_id, name=name, is_published=is_published)
        if move_ids:
            library.move_tracks(store, codec, caller, list(move_ids), collection_id=collection_id, before=before)
            return []
        outcomes = []
        # Consecutive edits of one kind go to the core together; runs keep the request's order, so a Delete
        # then an Add of the same track removes it and then appends it again.
        start = 0
        edits = list(edits)
        while start < len(edits):
            end = start
            while end < len(edits) and edits[end].action == edits[start].action:
                end += 1
            items = [edit.item for edit in edits[start:end]]
            if edits[start].action == "add":
                run = library.add_tracks(
                    store, codec, caller, items, capacity=track_capacity, collection_id=collection_id
                )
                _refuse_overflow(run, track_capacity)
            else:
                run = library.remove_tracks(store, codec, caller, items, collection_id=collection_id)
            outcomes.extend(run)
            start = end
        return outcomes


def delete(store, caller, collection_id, *, state_token=None):
    """Delete a playlist of the caller with its entries (the tracks stay in the library)."""
    with store.transaction():
        _owned_playlist(store, caller, collection_id)
        library.check_state_token(store, caller, state_token)
        library.delete_collection(store, caller, collection_id)
