"""Routes of the Groove dialect. Each view: authenticate, read the body, call the core, render."""

import json

from flask import Blueprint, g

from .. import ids, library
from . import schemas, web
from .errors import MESSAGE_INVALID_CONTENT_ID

blueprint = Blueprint("groove", __name__)

# Per-item failures of an add: (code, message) per core status.
ADD_FAILURES = {
    library.Status.INVALID_ID: ("COLLECTION_INVALID_ID", MESSAGE_INVALID_CONTENT_ID),
    library.Status.NOT_FOUND: ("COLLECTION_INVALID_ID", MESSAGE_INVALID_CONTENT_ID),
    library.Status.AMBIGUOUS: (
        "COLLECTION_INVALID_ID",
        "Collection ErrorCode=ArgumentInvalid, Details=AmbiguousIsrc: several catalog tracks have this ISRC",
    ),
}
# ISRC ids (music.isrc.{ISRC}) have no Groove wire example: their messages keep the seed's shape but say which
# of the three ways the ISRC failed, so that an importer's report tells the user what to fix.
ISRC_ADD_FAILURES = {
    library.Status.INVALID_ID: (
        "COLLECTION_INVALID_ID",
        "Collection ErrorCode=ArgumentInvalid, Details=Isrc: not a 12-character ISRC (CC-XXX-YY-NNNNN)",
    ),
    library.Status.NOT_FOUND: (
        "COLLECTION_INVALID_ID",
        "Collection ErrorCode=ArgumentInvalid, Details=Isrc: no catalog track has this ISRC",
    ),
    library.Status.AMBIGUOUS: ADD_FAILURES[library.Status.AMBIGUOUS],
}
ISRC_PREFIX = "music.isrc."


def input_id_text(item):
    """The InputId echoed for one request item: GUID ids upper-cased, other strings byte for byte,
    other JSON values as their JSON text, null as no InputId at all."""
    if isinstance(item, str):
        return ids.normalise_input_id(item)
    if item is None:
        return None
    return json.dumps(item, ensure_ascii=False, separators=(",", ":"))


@blueprint.route("/1/content/<namespace>/collection/add", methods=["POST"])
@web.groove_endpoint("TrackActionResponse")
def add(namespace):
    """Add catalog tracks to the caller's collection: one TrackActionResult per id, in input order."""
    web.require_music_namespace(namespace)
    caller = web.authenticate()
    config = web.settings()
    track_ids = schemas.load_track_action_request(
        web.read_body("TrackActionRequest"), max_batch_size=config["MAX_BATCH_SIZE"]
    )
    outcomes = library.add_tracks(
        web.store(), web.id_codec(), caller, track_ids, capacity=config["COLLECTION_CAPACITY"]
    )
    results = []
    failed = 0
    full_message = None
    for item, outcome in zip(track_ids, outcomes):
        if outcome.entry_id is not None:
            results.append({"InputId": input_id_text(item), "Id": outcome.entry_id})
            continue
        failed += 1
        if outcome.status is library.Status.COLLECTION_FULL:
            full_message = full_message or f"The collection holds at most {config['COLLECTION_CAPACITY']} tracks"
            code, message = "COLLECTION_FULL", full_message
        elif isinstance(item, str) and item[: len(ISRC_PREFIX)].lower() == ISRC_PREFIX:
            code, message = ISRC_ADD_FAILURES[outcome.status]
        else:
            code, message = ADD_FAILURES[outcome.status]
        results.append({"InputId": input_id_text(item), "Error": web.item_error(code, message)})
    g.groove_items = (len(track_ids), failed)
    response = {"TrackActionResults": results}
    if failed:
        response["Error"] = web.some_operations_failed()
    return web.render("TrackActionResponse", response)
