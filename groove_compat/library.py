"""The core: what a caller can do to a library, as plain per-item outcomes.

Knows nothing of HTTP, JSON or XML. Every write runs in one store transaction, so a batch is stored whole
or not at all. Item failures are values (``Outcome``), never exceptions: the dialects turn them into Groove
results or v1 errors.
"""

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


SUCCESSES = frozenset({Status.ADDED, Status.ALREADY_PRESENT})


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


MAX_ID_LENGTH = 256


def add_tracks(store, codec, caller, input_ids, *, capacity, max_id_length=MAX_ID_LENGTH):
    """Append catalog tracks to the caller's library; one Outcome per input item, in input order.

    Items may be catalog ids (``music.{GUID}``), ISRC ids (``music.isrc.{ISRC}``) or entry ids of the
    caller's library; anything else (including non-strings, and strings longer than ``max_id_length``,
    which are not even parsed) is INVALID_ID. Repeated items and tracks
    already in the library succeed with the same entry id and store nothing twice.
    """
    library_id = caller.library_id
    # Pass 1: parse every item without touching the store.
    parsed = []  # per item: ("guid", bytes) | ("isrc", str) | ("track", track_id, guid_prefix) | None
    guids = set()
    isrcs = set()
    entry_track_ids = set()
    for item in input_ids:
        if type(item) is not str or len(item) > max_id_length:
            parsed.append(None)
            continue
        guid = ids.parse_catalog_guid(item)
        if guid is not None:
            parsed.append(("guid", guid))
            guids.add(guid)
            continue
        isrc = ids.parse_isrc_id(item)
        if isrc is not None:
            parsed.append(("isrc", isrc))
            isrcs.add(isrc)
            continue
        entry = codec.parse_entry_id(item)
        if entry is not None and entry[0] == library_id:
            parsed.append(("track", entry[1], entry[2]))
            entry_track_ids.add(entry[1])
            continue
        parsed.append(None)

    with store.transaction():
        # Pass 2: resolve every id with one query per id form, then append in one statement.
        track_of_guid = store.tracks_by_guid(organization_id=caller.organization_id, guids=guids)
        tracks_of_isrc = store.tracks_by_isrc(organization_id=caller.organization_id, isrcs=isrcs)
        guid_of_track = {track_id: guid for guid, track_id in track_of_guid.items()}
        for matches in tracks_of_isrc.values():
            if len(matches) == 1:
                guid_of_track[matches[0][0]] = matches[0][1]
        if entry_track_ids:
            guid_of_track.update(
                store.track_guids(organization_id=caller.organization_id, track_ids=entry_track_ids - guid_of_track.keys())
            )

        resolved = []  # per item: track_id, or an Outcome for a failure
        wanted = {}  # track_id -> None, ordered: the tracks to append, first occurrence first
        for item in parsed:
            if item is None:
                resolved.append(_INVALID)
                continue
            form = item[0]
            if form == "guid":
                track_id = track_of_guid.get(item[1])
            elif form == "isrc":
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
            if track_id is None:
                resolved.append(_NOT_FOUND)
                continue
            resolved.append(track_id)
            wanted[track_id] = None

        added, full = (
            store.append_entries(
                collection_id=library_id, user_id=caller.user_id, track_ids=list(wanted), capacity=capacity
            )
            if wanted
            else (set(), set())
        )

    outcomes = []
    seen = set()
    entry_id = codec.entry_id
    for item in resolved:
        if type(item) is Outcome:
            outcomes.append(item)
        elif item in full:
            outcomes.append(Outcome(Status.COLLECTION_FULL))
        else:
            status = Status.ADDED if item in added and item not in seen else Status.ALREADY_PRESENT
            seen.add(item)
            outcomes.append(Outcome(status, entry_id(library_id, item, guid_of_track[item])))
    return outcomes
