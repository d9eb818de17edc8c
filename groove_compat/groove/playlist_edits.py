"""``POST /1/content/{ns}/collection/playlists/{create,update,delete}`` (contract 1.5 to 1.7).

Each request is one PlaylistAction, stored whole or not at all; per-track failures of Add and Delete are
results inside a 200 (with the top-level COLLECTION_SOME_OPERATIONS_FAILED), whole-request failures are a
PlaylistActionResponse holding only Error. Both playlist id forms are taken and mean the same playlist.
"""

from flask import g

from .. import playlists
from ..library import LibraryError, Reason
from ..openapi import Example, documented
from . import doc_examples, schemas, web
from .errors import MESSAGE_INVALID_CONTENT_ID, GrooveError
from .routes import ADD_FAILURES, blueprint, input_id_text

MAX_NAME_LENGTH = 256


# --- published documentation -------------------------------------------------------------------------------
WRONG_TYPE = "a member has the wrong type (e.g. `IsPublished` not a boolean, `TrackActions` not a list)"
BAD_ACTION = "a TrackAction's `Action` is not Add, Delete (Remove) or Move"
LONG_NAME = f"`Name` is longer than {MAX_NAME_LENGTH} characters"
TOO_MANY_ACTIONS = "more track actions than `GROOVE_COMPAT_MAX_BATCH_SIZE` (100 by default)"
NO_SUCH_PLAYLIST = "`Id` is not a playlist id, or names no playlist the caller owns"
STALE = "`CollectionStateToken` is not the collection's current token (the profile's `Collection.Token`)"
PLAYLIST_FULL = "the Add actions would put more tracks in the playlist than `GROOVE_COMPAT_PLAYLIST_TRACK_CAPACITY`"
TRACK_ITEM_ERRORS = {
    "COLLECTION_INVALID_ID": (
        "Add: the id is malformed, not in the catalog, or an ambiguous ISRC (with Message); Delete: the id names "
        "no entry of the playlist (no Message)"
    ),
}


def _groove_error(error):
    """The Groove answer of a whole-request refusal of the core."""
    config = web.settings()
    if error.reason is Reason.COLLECTION_NOT_FOUND:
        return GrooveError("COLLECTION_NO_RESULT", "No such playlist in this collection")
    if error.reason is Reason.PLAYLIST_QUOTA:
        return GrooveError("COLLECTION_FULL", f"A user owns at most {config['PLAYLIST_CAPACITY']} playlists")
    if error.reason is Reason.PLAYLIST_FULL:
        return GrooveError(
            "COLLECTION_PLAYLIST_FULL", f"A playlist holds at most {config['PLAYLIST_TRACK_CAPACITY']} tracks"
        )
    if error.reason is Reason.STALE_STATE:
        return GrooveError("COLLECTION_CONCURRENT_UPDATE", error.message)
    if error.reason is Reason.INVALID_REORDER:
        return GrooveError("COLLECTION_INVALID_PLAYLIST_REORDER", error.message)
    return GrooveError("COLLECTION_INVALID_OPERATION", error.message)


def _name(action, *, required):
    name = action.get("Name")
    if name is None or not name.strip():
        if required or "Name" in action:
            raise GrooveError("COLLECTION_INVALID_PLAYLIST_INFO", "Name must hold 1 to 256 characters")
        return None
    if len(name) > MAX_NAME_LENGTH:
        raise GrooveError("INVALID_INPUT_PARAMETER", f"Name must be at most {MAX_NAME_LENGTH} characters long")
    return name


def _read_action():
    return schemas.load_playlist_action(web.read_body("PlaylistAction"))


def _track_actions(action):
    track_actions = action.get("TrackActions", [])
    limit = web.settings()["MAX_BATCH_SIZE"]
    if len(track_actions) > limit:
        raise GrooveError("COLLECTION_INVALID_OPERATION", f"Number of tracks for this operation is limited to {limit}")
    return track_actions


def _playlist_id(action):
    text = action.get("Id")
    if not text:
        raise GrooveError("COLLECTION_INVALID_PLAYLIST_INFO", "Id must name the playlist")
    collection_id = web.id_codec().parse_playlist_id(text)
    if collection_id is None:
        raise GrooveError("COLLECTION_NO_RESULT", "No such playlist in this collection")
    return text, collection_id


def _results(track_actions, outcomes):
    """TrackActionResults in request order: Add success InputId + Id, Delete success InputId only; failures
    COLLECTION_INVALID_ID (with the wire's Message for an Add)."""
    results = []
    failed = 0
    for action, outcome in zip(track_actions, outcomes):
        result = {"InputId": input_id_text(action["Id"])}
        if outcome.ok:
            if action["Action"] == "add":
                result["Id"] = outcome.entry_id
        else:
            failed += 1
            if action["Action"] == "add":
                code, message = ADD_FAILURES.get(outcome.status, ("COLLECTION_INVALID_ID", MESSAGE_INVALID_CONTENT_ID))
                result["Error"] = web.item_error(code, message)
            else:
                result["Error"] = web.item_error("COLLECTION_INVALID_ID")
        results.append(result)
    g.groove_items = (len(track_actions), failed)
    return results, failed


def _answer(result, failed):
    return web.render_batch("PlaylistActionResponse", "PlaylistActionResult", result, failed=failed)


@blueprint.route("/1/content/<namespace>/collection/playlists/create", methods=["POST"], endpoint="playlist_create")
@documented(
    "Create a playlist",
    request="PlaylistAction",
    responses={
        200: "PlaylistActionResponse",
        400: {
            "INVALID_INPUT_PARAMETER": f"{WRONG_TYPE}; {BAD_ACTION}; {LONG_NAME}",
            "COLLECTION_INVALID_PLAYLIST_INFO": "`Name` is absent or blank",
            "COLLECTION_INVALID_OPERATION": f"{TOO_MANY_ACTIONS}, or an action is not Add",
            "COLLECTION_FULL": "the caller owns `GROOVE_COMPAT_PLAYLIST_CAPACITY` playlists already",
            "COLLECTION_PLAYLIST_FULL": PLAYLIST_FULL,
        },
        409: {"COLLECTION_CONCURRENT_UPDATE": STALE},
    },
    item_errors=TRACK_ITEM_ERRORS,
    examples={
        "request": Example("with tracks", doc_examples.CREATE_REQUEST, "A private playlist of two tracks"),
        200: Example("with tracks", doc_examples.CREATE_RESPONSE, "Created, with its entries"),
    },
)
@web.groove_endpoint("PlaylistActionResponse")
def create(namespace):
    """Create a playlist (Name 1 to 256 characters, optional IsPublished and Add TrackActions)."""
    web.require_music_namespace(namespace)
    caller = web.authenticate()
    action = _read_action()
    name = _name(action, required=True)
    track_actions = _track_actions(action)
    if any(track_action["Action"] != "add" for track_action in track_actions):
        raise GrooveError("COLLECTION_INVALID_OPERATION", "A new playlist takes Add track actions only")
    config = web.settings()
    try:
        collection, outcomes = playlists.create(
            web.store(), web.id_codec(), caller,
            name=name,
            is_published=action.get("IsPublished"),
            track_ids=[track_action["Id"] for track_action in track_actions],
            state_token=action.get("CollectionStateToken"),
            quota=config["PLAYLIST_CAPACITY"],
            track_capacity=config["PLAYLIST_TRACK_CAPACITY"],
        )
    except LibraryError as error:
        raise _groove_error(error) from None
    result = {
        "Id": web.id_codec().playlist_id(collection["id"]),
        "Name": name,
        "IsPublished": action.get("IsPublished"),
    }
    failed = 0
    if "TrackActions" in action:
        result["TrackActionResults"], failed = _results(track_actions, outcomes)
    return _answer(result, failed)


@blueprint.route("/1/content/<namespace>/collection/playlists/update", methods=["POST"], endpoint="playlist_update")
@documented(
    "Change a playlist",
    request="PlaylistAction",
    responses={
        200: "PlaylistActionResponse",
        400: {
            "INVALID_INPUT_PARAMETER": f"{WRONG_TYPE}; {BAD_ACTION}; {LONG_NAME}",
            "COLLECTION_INVALID_PLAYLIST_INFO": "`Id` is absent or empty, or `Name` is sent blank",
            "COLLECTION_INVALID_OPERATION": TOO_MANY_ACTIONS,
            "COLLECTION_INVALID_PLAYLIST_REORDER": (
                "Move actions come with other actions, `Name` or `IsPublished`; a moved id is not an entry of the "
                "playlist; or `InsertBeforeTrackId` is not an entry that stays in place"
            ),
            "COLLECTION_PLAYLIST_FULL": PLAYLIST_FULL,
        },
        404: {"COLLECTION_NO_RESULT": NO_SUCH_PLAYLIST},
        409: {"COLLECTION_CONCURRENT_UPDATE": STALE},
    },
    item_errors=TRACK_ITEM_ERRORS,
    examples={
        "request": [
            Example("rename and delete", doc_examples.UPDATE_REQUEST, "A new name, one entry removed"),
            Example("move", doc_examples.MOVE_REQUEST, "The second entry moved before the first"),
        ],
        200: [
            Example("rename and delete", doc_examples.UPDATE_RESPONSE, "Renamed, the entry removed"),
            Example("move", doc_examples.MOVE_RESPONSE, "Moved: the answer holds only the Id"),
        ],
    },
)
@web.groove_endpoint("PlaylistActionResponse")
def update(namespace):
    """Change a playlist: Name, IsPublished, and either Add / Delete track actions (applied in request order)
    or Move actions alone, which move the listed entries, in request order, to just before
    InsertBeforeTrackId (absent: to the end)."""
    web.require_music_namespace(namespace)
    caller = web.authenticate()
    action = _read_action()
    text, collection_id = _playlist_id(action)
    name = _name(action, required=False)
    track_actions = _track_actions(action)
    moves = [track_action for track_action in track_actions if track_action["Action"] == "move"]
    if moves and (len(moves) != len(track_actions) or name is not None or "IsPublished" in action):
        raise GrooveError(
            "COLLECTION_INVALID_PLAYLIST_REORDER", "A request that moves tracks may hold nothing but Move actions"
        )
    config = web.settings()
    try:
        outcomes = playlists.edit(
            web.store(), web.id_codec(), caller, collection_id,
            name=name,
            is_published=action.get("IsPublished"),
            edits=[playlists.TrackEdit(track_action["Action"], track_action["Id"]) for track_action in track_actions
                   if not moves],
            move_ids=[track_action["Id"] for track_action in moves],
            before=action.get("InsertBeforeTrackId"),
            state_token=action.get("CollectionStateToken"),
            track_capacity=config["PLAYLIST_TRACK_CAPACITY"],
        )
    except LibraryError as error:
        raise _groove_error(error) from None
    result = {"Id": text, "Name": name, "IsPublished": action.get("IsPublished")}
    failed = 0
    if track_actions and not moves:
        result["TrackActionResults"], failed = _results(track_actions, outcomes)
    return _answer(result, failed)


@blueprint.route("/1/content/<namespace>/collection/playlists/delete", methods=["POST"], endpoint="playlist_delete")
@documented(
    "Delete a playlist",
    request="PlaylistAction",
    responses={
        200: "PlaylistActionResponse",
        400: {
            "INVALID_INPUT_PARAMETER": "`Id` or `CollectionStateToken` is not a string",
            "COLLECTION_INVALID_PLAYLIST_INFO": "`Id` is absent or empty",
        },
        404: {"COLLECTION_NO_RESULT": NO_SUCH_PLAYLIST},
        409: {"COLLECTION_CONCURRENT_UPDATE": STALE},
    },
    examples={
        "request": Example("delete", doc_examples.DELETE_PLAYLIST_REQUEST),
        200: Example("deleted", doc_examples.DELETE_PLAYLIST_RESPONSE),
    },
)
@web.groove_endpoint("PlaylistActionResponse")
def delete(namespace):
    """Delete a playlist; its tracks stay in the library. Only Id (and a CollectionStateToken) are read."""
    web.require_music_namespace(namespace)
    caller = web.authenticate()
    document = web.read_body("PlaylistAction")
    action = schemas.load_playlist_action(
        {member: document[member] for member in ("Id", "CollectionStateToken") if member in document}
    )
    text, collection_id = _playlist_id(action)
    try:
        playlists.delete(web.store(), caller, collection_id, state_token=action.get("CollectionStateToken"))
    except LibraryError as error:
        raise _groove_error(error) from None
    return _answer({"Id": text}, 0)

