"""``POST /1/content/{ns}/collection/delete`` (contract 1.2), and the ``collection/Move`` path the SDK's enum
can produce (400 COLLECTION_INVALID_OPERATION, contract 8)."""

from flask import g

from .. import library
from ..openapi import Example, documented
from . import doc_examples, schemas, web
from .routes import TRACK_ACTION_REQUEST_ERRORS, blueprint, input_id_text


@blueprint.route("/1/content/<namespace>/collection/delete", methods=["POST"], endpoint="collection_delete")
@documented(
    "Remove tracks from the caller's collection",
    request="TrackActionRequest",
    responses={
        200: "TrackActionResponse",
        400: TRACK_ACTION_REQUEST_ERRORS,
    },
    item_errors={
        "COLLECTION_INVALID_ID": "the id is malformed or names no track of the caller's collection (no Message)",
    },
    examples={
        "request": Example("one of each", doc_examples.DELETE_REQUEST, "A collection id and an unknown catalog id"),
        200: Example("one of each", doc_examples.DELETE_RESPONSE, "The entry is removed, the unknown id fails alone"),
    },
)
@web.groove_endpoint("TrackActionResponse")
def delete(namespace):
    """Remove tracks from the caller's collection: one TrackActionResult per id, in input order.

    Ids are collection ids (``music.AQQ...`` from add, browse or lookup) or catalog / ISRC ids of tracks in
    the collection. Success carries only InputId; an id that names nothing in the caller's collection fails
    alone with COLLECTION_INVALID_ID and no Message, as on the wire. A repeated id succeeds each time.
    Playlists keep their own entries of a removed track.
    """
    web.require_music_namespace(namespace)
    caller = web.authenticate()
    track_ids = schemas.load_track_action_request(
        web.read_body("TrackActionRequest"), max_batch_size=web.settings()["MAX_BATCH_SIZE"]
    )
    outcomes = library.remove_tracks(web.store(), web.id_codec(), caller, track_ids)
    results = []
    failed = 0
    for item, outcome in zip(track_ids, outcomes):
        if outcome.ok:
            results.append({"InputId": input_id_text(item)})
        else:
            failed += 1
            results.append({"InputId": input_id_text(item), "Error": web.item_error("COLLECTION_INVALID_ID")})
    g.groove_items = (len(track_ids), failed)
    return web.render_batch("TrackActionResponse", "TrackActionResults", results, failed=failed)


@blueprint.route("/1/content/<namespace>/collection/move", methods=["POST"], endpoint="collection_move")
@documented(
    "Move tracks in the collection (refused)",
    responses={
        400: {"COLLECTION_INVALID_OPERATION": "always, once authenticated: the collection has no order"},
    },
)
@web.groove_endpoint("TrackActionResponse")
def move(namespace):
    """The SDK's TrackActionType enum has Move, which would call ``collection/Move``: the collection has no
    order to move in (playlists do, through playlists/update)."""
    web.require_music_namespace(namespace)
    web.authenticate()
    raise web.errors.GrooveError(
        "COLLECTION_INVALID_OPERATION", "Tracks are moved inside a playlist, with collection/playlists/update"
    )
