"""Routes of the v1 dialect. Each view: authenticate, validate, resolve the path's ids, call the core, answer.

Order of checks, the same in every view: the credential (401), then the body or query (415, 413, 400), then
the path's ids (404). Whatever of the organization, the collection or the track is not the caller's, the
404 is the same answer, so it tells nothing about other callers or organizations.
"""

from flask import Blueprint, url_for

from .. import ids, library
from ..openapi import Example, Response, documented
from . import apidoc, schemas, web
from .errors import V1Error

blueprint = Blueprint("v1", __name__, url_prefix="/v1/music/<organization_id>")

NOT_OWNED = "Collection not owned by caller"
NOT_OWNED_OR_NO_TRACK = "Collection not owned by caller or track not found"

# The ``detail`` of each acknowledgement.
CREATED = "Collection created."
RENAMED = "Collection renamed."
DELETED = "Collection deleted."
ADDED = "Track added to collection."
REMOVED = "Track removed from collection."
NOT_THERE = "Track was not in the collection."
REORDERED = "Collection reordered."
MOVED = "Track moved."

_add_track_request = schemas.AddTrackRequest()
_move_track_request = schemas.MoveTrackRequest()
_reorder_request = schemas.ReorderRequest()
_collection_name_request = schemas.CollectionNameRequest()
_list_tracks_query = schemas.ListTracksQuery()
_track_page = schemas.TrackPage()
_collection_answer = schemas.CollectionAnswer()
_collection_list = schemas.CollectionList()


def _collection_not_found(collection_id, **more):
    return V1Error(
        "RESOURCE_NOT_FOUND",
        system_message=NOT_OWNED_OR_NO_TRACK if "track_id" in more else NOT_OWNED,
        details={"collection_id": web.echo(collection_id), **{key: web.echo(value) for key, value in more.items()}},
    )


def _owned_collection_row(caller, organization_id, collection_id, not_found):
    """The row id of the path's collection, or raise ``not_found`` when the organization is not the caller's
    or the id is malformed. (Ownership itself is checked by the core, inside its transaction.)"""
    web.require_organization(caller, organization_id, not_found)
    row = web.row_id("collection", collection_id)
    if row is None:
        raise not_found
    return row


def _collection_data(collection, codec):
    is_playlist = collection["kind"] == "playlist"
    return {
        "id": codec.public_id("collection", collection["id"]),
        "kind": collection["kind"],
        "name": collection["name"],
        "track_count": collection["track_count"],
        "groove_playlist_id": codec.playlist_id(collection["id"]) if is_playlist else None,
        "created_at": web.iso_time(collection["created_at"]),
        "updated_at": web.iso_time(collection["updated_at"]),
    }


def _entry_data(entry, collection_row, codec):
    guid = bytes(entry["guid"])
    return {
        "id": codec.public_id("track", entry["track_id"]),
        "groove_catalog_id": ids.catalog_id(guid),
        "groove_collection_id": codec.entry_id(collection_row, entry["track_id"], guid),
        "title": entry["title"],
        "artist": entry["artist"],
        "album": entry["album"],
        "duration": entry["duration"],
        "track_number": entry["track_number"],
        "isrc": entry["isrc"],
        "position": entry["rank"],
        "added_at": web.iso_time(entry["added_at"]),
    }


def _library_is_permanent(collection_id, what):
    return V1Error(
        "LIBRARY_IS_PERMANENT",
        system_message=f"The library collection cannot be {what}",
        details={"collection_id": collection_id},
    )


def _collection_limit_reached(quota):
    return V1Error(
        "COLLECTION_LIMIT_REACHED", system_message=f"A user owns at most {quota} playlists", details={"limit": quota}
    )


def _collection_full(collection_id, track_id):
    return V1Error("COLLECTION_FULL", details={"collection_id": collection_id, "track_id": track_id})


def _invalid_reorder(collection_id, *, missing, unexpected, duplicated):
    return V1Error(
        "INVALID_REORDER",
        details={
            "collection_id": collection_id,
            "missing": missing,
            "unexpected": unexpected,
            "duplicated": duplicated,
        },
    )


def _invalid_move(collection_id, unexpected):
    return V1Error(
        "INVALID_REORDER",
        system_message="track_id and before_track_id must be tracks of the collection",
        details={"collection_id": collection_id, "unexpected": unexpected},
    )


# ---------------------------------------------------------------------------------------------------------
# Documentation: examples built by the functions above from the example world of ``apidoc``.


EXAMPLE_TRACK, EXAMPLE_OTHER_TRACK = apidoc.EXAMPLE_TRACK_IDS
EXAMPLE_LIBRARY = apidoc.EXAMPLE_LIBRARY_ID
EXAMPLE_PLAYLIST = apidoc.EXAMPLE_PLAYLIST_ID
EXAMPLE_UNKNOWN_TRACK = apidoc.EXAMPLE_UNKNOWN_TRACK_ID


def _acknowledgement(public_id, detail, summary=None):
    return Example("acknowledgement", {"success": True, "id": public_id, "detail": detail}, summary)


def _error(error, name=None, summary=None):
    return Example(name or error.code, error, summary)


EXAMPLE_LIBRARY_DATA, EXAMPLE_PLAYLIST_DATA = (
    _collection_data(collection, apidoc.EXAMPLE_IDS) for collection in apidoc.EXAMPLE_COLLECTIONS
)
EXAMPLE_ENTRIES = [
    _entry_data(entry, apidoc.EXAMPLE_LIBRARY_ROW, apidoc.EXAMPLE_IDS) for entry in apidoc.EXAMPLE_TRACKS
]
COLLECTION_NOT_FOUND_EXAMPLE = _error(
    _collection_not_found(EXAMPLE_PLAYLIST), summary="The collection is not the caller's (or the organization)"
)
NAME_REQUEST_EXAMPLE = Example("rename", {"name": "Road trip"})
BLANK_NAME_EXAMPLE = _error(apidoc.rejected(schemas.CollectionNameRequest(), {"name": "  "}), summary="A blank name")


# ---------------------------------------------------------------------------------------------------------
# Collections


@blueprint.get("/collections")
@documented(
    "List the caller's collections",
    responses={200: schemas.CollectionList},
    examples={
        200: Example(
            "library and a playlist", {"success": True, "data": [EXAMPLE_LIBRARY_DATA, EXAMPLE_PLAYLIST_DATA]}
        ),
    },
)
@web.v1_endpoint
def list_collections(organization_id):
    """The caller's collections: the library first, then playlists by creation."""
    caller = web.authenticate()
    web.require_organization(caller, organization_id, web.organization_not_found(organization_id))
    codec = web.id_codec()
    collections = library.list_collections(web.store(), caller)
    return web.answer(_collection_list, {"success": True, "data": [_collection_data(c, codec) for c in collections]})


@blueprint.post("/collections")
@documented(
    "Create a playlist",
    request=schemas.CollectionNameRequest,
    responses={
        201: Response(
            body=schemas.Acknowledgement,
            description="Created: the acknowledgement, whose `id` is the new collection's.",
            headers={
                "Location": {
                    "description": "The path of the new collection (`GET` it for its data).",
                    "schema": {"type": "string"},
                }
            },
        ),
        400: ["VALIDATION_ERROR"],
        409: {"COLLECTION_LIMIT_REACHED": "the caller owns `GROOVE_COMPAT_PLAYLIST_CAPACITY` playlists"},
    },
    examples={
        "request": NAME_REQUEST_EXAMPLE,
        201: _acknowledgement(EXAMPLE_PLAYLIST, CREATED),
        400: BLANK_NAME_EXAMPLE,
        # The limit is a setting: the example shows the deployment's.
        409: Example("COLLECTION_LIMIT_REACHED", lambda config: _collection_limit_reached(config["PLAYLIST_CAPACITY"])),
    },
)
@web.v1_endpoint
def create_collection(organization_id):
    """Create a playlist; 201 with the acknowledgement and a Location header."""
    caller = web.authenticate()
    body = web.load_body(_collection_name_request)
    web.require_organization(caller, organization_id, web.organization_not_found(organization_id))
    quota = web.settings()["PLAYLIST_CAPACITY"]
    try:
        collection = library.create_playlist(web.store(), caller, name=body["name"], quota=quota)
    except library.LibraryError as error:
        if error.reason is library.Reason.PLAYLIST_QUOTA:
            raise _collection_limit_reached(quota) from None
        raise
    public_id = web.id_codec().public_id("collection", collection["id"])
    location = url_for("v1.get_collection", organization_id=organization_id, collection_id=public_id)
    return web.acknowledge(public_id, CREATED, status=201, headers={"Location": location})


@blueprint.get("/collections/<collection_id>")
@documented(
    "Get a collection",
    responses={
        200: schemas.CollectionAnswer,
        404: {"RESOURCE_NOT_FOUND": "the collection is absent or another user's, or its id is malformed"},
    },
    examples={
        200: Example("playlist", {"success": True, "data": EXAMPLE_PLAYLIST_DATA}),
        404: COLLECTION_NOT_FOUND_EXAMPLE,
    },
)
@web.v1_endpoint
def get_collection(organization_id, collection_id):
    """One of the caller's collections: its library or one of its playlists."""
    caller = web.authenticate()
    not_found = _collection_not_found(collection_id)
    row = _owned_collection_row(caller, organization_id, collection_id, not_found)
    try:
        collection = library.owned_collection(web.store(), caller, row)
    except library.LibraryError:
        raise not_found from None
    return web.answer(_collection_answer, {"success": True, "data": _collection_data(collection, web.id_codec())})


@blueprint.patch("/collections/<collection_id>")
@documented(
    "Rename a playlist",
    request=schemas.CollectionNameRequest,
    responses={
        200: schemas.Acknowledgement,
        400: ["VALIDATION_ERROR"],
        404: {"RESOURCE_NOT_FOUND": "the collection is absent or another user's, or its id is malformed"},
        409: {"LIBRARY_IS_PERMANENT": "the collection is the caller's library, which has no name"},
    },
    examples={
        "request": NAME_REQUEST_EXAMPLE,
        200: _acknowledgement(EXAMPLE_PLAYLIST, RENAMED),
        400: BLANK_NAME_EXAMPLE,
        404: COLLECTION_NOT_FOUND_EXAMPLE,
        409: _error(_library_is_permanent(EXAMPLE_LIBRARY, "renamed")),
    },
)
@web.v1_endpoint
def rename_collection(organization_id, collection_id):
    """Rename a playlist; the library has no name to change (409 LIBRARY_IS_PERMANENT)."""
    caller = web.authenticate()
    body = web.load_body(_collection_name_request)
    not_found = _collection_not_found(collection_id)
    row = _owned_collection_row(caller, organization_id, collection_id, not_found)
    try:
        library.update_collection(web.store(), caller, row, name=body["name"])
    except library.LibraryError as error:
        if error.reason is library.Reason.LIBRARY_IS_PERMANENT:
            raise _library_is_permanent(collection_id, "renamed") from None
        raise not_found from None
    return web.acknowledge(collection_id, RENAMED)


@blueprint.delete("/collections/<collection_id>")
@documented(
    "Delete a playlist",
    responses={
        200: schemas.Acknowledgement,
        404: {
            "RESOURCE_NOT_FOUND": "the collection is absent (or already deleted) or another user's, or its id is "
            "malformed"
        },
        409: {"LIBRARY_IS_PERMANENT": "the collection is the caller's library"},
    },
    examples={
        200: _acknowledgement(EXAMPLE_PLAYLIST, DELETED),
        404: COLLECTION_NOT_FOUND_EXAMPLE,
        409: _error(_library_is_permanent(EXAMPLE_LIBRARY, "deleted")),
    },
)
@web.v1_endpoint
def delete_collection(organization_id, collection_id):
    """Delete a playlist and its entries; the library cannot be deleted (409 LIBRARY_IS_PERMANENT)."""
    caller = web.authenticate()
    not_found = _collection_not_found(collection_id)
    row = _owned_collection_row(caller, organization_id, collection_id, not_found)
    try:
        library.delete_collection(web.store(), caller, row)
    except library.LibraryError as error:
        if error.reason is library.Reason.LIBRARY_IS_PERMANENT:
            raise _library_is_permanent(collection_id, "deleted") from None
        raise not_found from None
    return web.acknowledge(collection_id, DELETED)


# ---------------------------------------------------------------------------------------------------------
# Tracks of a collection


@blueprint.post("/collections/<collection_id>/tracks")
@documented(
    "Add a track to a collection",
    request=schemas.AddTrackRequest,
    responses={
        200: schemas.Acknowledgement,
        400: ["VALIDATION_ERROR"],
        404: {
            "RESOURCE_NOT_FOUND": "the collection is absent or another user's, or the track does not exist in the "
            "organization's catalog (`details` echo both ids)"
        },
        409: {
            "COLLECTION_FULL": "the collection holds `GROOVE_COMPAT_COLLECTION_CAPACITY` (library) or "
            "`GROOVE_COMPAT_PLAYLIST_TRACK_CAPACITY` (playlist) tracks"
        },
    },
    examples={
        "request": Example("seed 000", {"track_id": EXAMPLE_TRACK}),
        200: _acknowledgement(EXAMPLE_TRACK, ADDED, "Added, or already in the collection"),
        400: _error(
            apidoc.rejected(schemas.AddTrackRequest(), {"track_id": "mtrack_8d2e1f6a3c9b"}),
            summary="The seed's 12-digit id: a track id has 16 hex digits",
        ),
        404: _error(_collection_not_found(EXAMPLE_PLAYLIST, track_id=EXAMPLE_UNKNOWN_TRACK)),
        409: _error(_collection_full(EXAMPLE_PLAYLIST, EXAMPLE_TRACK)),
    },
)
@web.v1_endpoint
def add_track(organization_id, collection_id):
    """Append a track to the end of the collection; adding a track already there changes nothing (seed 000)."""
    caller = web.authenticate()
    body = web.load_body(_add_track_request)
    track_id = body["track_id"]
    not_found = _collection_not_found(collection_id, track_id=track_id)
    row = _owned_collection_row(caller, organization_id, collection_id, not_found)
    track_row = web.row_id("track", track_id)
    if track_row is None:
        raise not_found
    config = web.settings()
    try:
        outcome = library.add_track(
            web.store(),
            web.id_codec(),
            caller,
            track_row,
            collection_id=row,
            library_capacity=config["COLLECTION_CAPACITY"],
            playlist_capacity=config["PLAYLIST_TRACK_CAPACITY"],
        )
    except library.LibraryError:
        raise not_found from None
    if outcome.status is library.Status.NOT_FOUND:
        raise not_found
    if outcome.status is library.Status.COLLECTION_FULL:
        raise _collection_full(collection_id, track_id)
    return web.acknowledge(track_id, ADDED)


@blueprint.delete("/collections/<collection_id>/tracks/<track_id>")
@documented(
    "Remove a track from a collection",
    responses={
        200: schemas.Acknowledgement,
        404: {
            "RESOURCE_NOT_FOUND": "the collection is absent or another user's, or the track does not exist in the "
            "organization's catalog, or an id is malformed (`details` echo both ids)"
        },
    },
    examples={
        200: [
            _acknowledgement(EXAMPLE_TRACK, REMOVED, "Removed"),
            Example(
                "not there",
                {"success": True, "id": EXAMPLE_OTHER_TRACK, "detail": NOT_THERE},
                "A catalog track that was not in the collection: nothing changes",
            ),
        ],
        404: _error(_collection_not_found(EXAMPLE_PLAYLIST, track_id=EXAMPLE_UNKNOWN_TRACK)),
    },
)
@web.v1_endpoint
def remove_track(organization_id, collection_id, track_id):
    """Remove a track from the collection; removing a catalog track that is not there answers 200 too."""
    caller = web.authenticate()
    not_found = _collection_not_found(collection_id, track_id=track_id)
    row = _owned_collection_row(caller, organization_id, collection_id, not_found)
    track_row = web.row_id("track", track_id)
    if track_row is None:
        raise not_found
    try:
        outcome = library.remove_track(web.store(), web.id_codec(), caller, track_row, collection_id=row)
    except library.LibraryError:
        raise not_found from None
    if outcome.status is library.Status.NOT_FOUND:
        raise not_found
    if outcome.status is library.Status.ALREADY_ABSENT:
        return web.acknowledge(track_id, NOT_THERE)
    return web.acknowledge(track_id, REMOVED)


@blueprint.get("/collections/<collection_id>/tracks")
@documented(
    "List a collection's tracks",
    parameters=[{"in": "query", "schema": schemas.ListTracksQuery}],
    responses={
        200: schemas.TrackPage,
        400: {"VALIDATION_ERROR": "`cursor` is not a cursor of this collection"},
        404: {"RESOURCE_NOT_FOUND": "the collection is absent or another user's, or its id is malformed"},
    },
    examples={
        200: Example(
            "first page",
            {
                "success": True,
                "data": EXAMPLE_ENTRIES,
                "has_more": True,
                "next_cursor": apidoc.EXAMPLE_IDS.cursor(apidoc.EXAMPLE_LIBRARY_ROW, apidoc.EXAMPLE_TRACKS[-1]["rank"]),
            },
            "`?limit=2` on a library of more tracks",
        ),
        400: _error(apidoc.rejected(schemas.ListTracksQuery(), {"limit": "500"}), summary="`?limit=500`"),
        404: COLLECTION_NOT_FOUND_EXAMPLE,
    },
)
@web.v1_endpoint
def list_tracks(organization_id, collection_id):
    """A page of the collection's tracks in position order; ``next_cursor`` continues it."""
    caller = web.authenticate()
    query = web.load_query(_list_tracks_query)
    not_found = _collection_not_found(collection_id)
    row = _owned_collection_row(caller, organization_id, collection_id, not_found)
    codec = web.id_codec()
    after = None
    if "cursor" in query:
        after = codec.parse_cursor(row, query["cursor"])
        if after is None:
            raise V1Error(
                "VALIDATION_ERROR", details={"fields": {"cursor": ["Not a cursor of this collection."]}}
            )
    try:
        page = library.ranked_entries_page(web.store(), caller, row, after_position=after, limit=query["limit"])
    except library.LibraryError:
        raise not_found from None
    data = [_entry_data(entry, row, codec) for entry in page.entries]
    next_cursor = None if page.next_after is None else codec.cursor(row, page.next_after)
    return web.answer(
        _track_page, {"success": True, "data": data, "has_more": next_cursor is not None, "next_cursor": next_cursor}
    )


def _rows_of_track_ids(track_ids):
    """Row ids of validated ``mtrack_`` ids, and the text of each row. An id of no row of this install gets
    a negative stand-in row (one per distinct text), so the core reports it as not in the collection."""
    rows = []
    text_of_row = {}
    stand_in_of_text = {}
    for text in track_ids:
        row = web.row_id("track", text)
        if row is None:
            row = stand_in_of_text.setdefault(text, -1 - len(stand_in_of_text))
        text_of_row[row] = text
        rows.append(row)
    return rows, text_of_row


@blueprint.put("/collections/<collection_id>/tracks/order")
@documented(
    "Reorder a collection",
    request=schemas.ReorderRequest,
    responses={
        200: schemas.Acknowledgement,
        400: {
            "INVALID_REORDER": "`track_ids` is not exactly the collection's tracks, each once (`details.missing`, "
            "`details.unexpected`, `details.duplicated`)"
        },
        404: {"RESOURCE_NOT_FOUND": "the collection is absent or another user's, or its id is malformed"},
    },
    examples={
        "request": Example("new order", {"track_ids": [EXAMPLE_OTHER_TRACK, EXAMPLE_TRACK]}),
        200: _acknowledgement(EXAMPLE_LIBRARY, REORDERED),
        400: _error(
            _invalid_reorder(
                EXAMPLE_LIBRARY, missing=[EXAMPLE_OTHER_TRACK], unexpected=[EXAMPLE_UNKNOWN_TRACK], duplicated=[]
            ),
            summary="One track left out, one that is not in the collection",
        ),
        404: COLLECTION_NOT_FOUND_EXAMPLE,
    },
)
@web.v1_endpoint
def reorder_tracks(organization_id, collection_id):
    """Give the collection a whole new order: ``track_ids`` must name each of its tracks exactly once."""
    caller = web.authenticate()
    body = web.load_body(_reorder_request)
    not_found = _collection_not_found(collection_id)
    row = _owned_collection_row(caller, organization_id, collection_id, not_found)
    rows, text_of_row = _rows_of_track_ids(body["track_ids"])
    codec = web.id_codec()
    try:
        library.reorder(web.store(), caller, row, rows)
    except library.LibraryError as error:
        if error.reason is not library.Reason.INVALID_REORDER:
            raise not_found from None
        # Sorted by their text: an order by row would hint at how the catalog was loaded.
        raise _invalid_reorder(
            collection_id,
            missing=sorted(codec.public_id("track", track) for track in error.details["missing"]),
            unexpected=sorted(text_of_row[track] for track in error.details["unexpected"]),
            duplicated=sorted(text_of_row[track] for track in error.details["duplicated"]),
        ) from None
    return web.acknowledge(collection_id, REORDERED)


@blueprint.post("/collections/<collection_id>/tracks/move")
@documented(
    "Move a track within a collection",
    request=schemas.MoveTrackRequest,
    responses={
        200: schemas.Acknowledgement,
        400: {
            "VALIDATION_ERROR": "`before_track_id` equals `track_id`",
            "INVALID_REORDER": "`track_id` or `before_track_id` is not a track of the collection "
            "(`details.unexpected`)",
        },
        404: {"RESOURCE_NOT_FOUND": "the collection is absent or another user's, or its id is malformed"},
    },
    examples={
        "request": [
            Example("before another", {"track_id": EXAMPLE_OTHER_TRACK, "before_track_id": EXAMPLE_TRACK}),
            Example("to the end", {"track_id": EXAMPLE_TRACK, "before_track_id": None}),
        ],
        200: _acknowledgement(EXAMPLE_OTHER_TRACK, MOVED),
        400: [
            _error(
                apidoc.rejected(
                    schemas.MoveTrackRequest(),
                    {"track_id": EXAMPLE_TRACK, "before_track_id": EXAMPLE_TRACK},
                ),
                summary="Before itself",
            ),
            _error(_invalid_move(EXAMPLE_LIBRARY, [EXAMPLE_UNKNOWN_TRACK])),
        ],
        404: COLLECTION_NOT_FOUND_EXAMPLE,
    },
)
@web.v1_endpoint
def move_track(organization_id, collection_id):
    """Move one track to just before ``before_track_id`` (null or absent: to the end)."""
    caller = web.authenticate()
    body = web.load_body(_move_track_request)
    not_found = _collection_not_found(collection_id)
    row = _owned_collection_row(caller, organization_id, collection_id, not_found)
    named = [body["track_id"]] if body["before_track_id"] is None else [body["track_id"], body["before_track_id"]]
    rows, text_of_row = _rows_of_track_ids(named)
    try:
        library.move_entries(
            web.store(), caller, row, rows[:1], before_track_id=rows[1] if len(rows) > 1 else None
        )
    except library.LibraryError as error:
        if error.reason is not library.Reason.INVALID_REORDER:
            raise not_found from None
        raise _invalid_move(
            collection_id, [text_of_row[track] for track in error.details.get("not_in_collection", ())]
        ) from None
    return web.acknowledge(body["track_id"], MOVED)
