"""Routes of the Groove dialect. Each view: authenticate, read the body, call the core, render."""

import json

from flask import Blueprint, g

from .. import ids, library
from ..openapi import Example, documented
from . import schemas, web
from .errors import MESSAGE_INVALID_CONTENT_ID, error_object

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


# Seed 003's exchange, for the published documentation (codes respelled in the deployment's style there).
ADD_REQUEST_EXAMPLE = Example(
    "seed 003",
    {"TrackIds": ["music.9bb2c5c5-455c-4c15-827c-f9bfd759a458", "music.A83EB907-0100-11DB-89CA-0019B92A3933"]},
    "One id that is in no catalog, one catalog track",
)
ADD_RESPONSE_EXAMPLE = Example(
    "seed 003",
    {
        "TrackActionResults": [
            {
                "InputId": "music.9BB2C5C5-455C-4C15-827C-F9BFD759A458",
                "Error": error_object("COLLECTION_INVALID_ID", MESSAGE_INVALID_CONTENT_ID, style="underscore"),
            },
            {"InputId": "music.A83EB907-0100-11DB-89CA-0019B92A3933", "Id": "music.AQQfZ78ml185KUqtiDc9dx6i6Ae5PqgAAQ"},
        ],
        "Error": error_object("COLLECTION_SOME_OPERATIONS_FAILED", style="underscore"),
    },
    "Partial failure: the unknown id fails alone, the catalog track is added (HTTP 200)",
)


# What schemas.load_track_action_request refuses, for every route that reads a TrackActionRequest.
TRACK_ACTION_REQUEST_ERRORS = {
    "MISSING_INPUT_PARAMETER": "`TrackIds` is absent, null or empty",
    "INVALID_INPUT_PARAMETER": "`TrackIds` is not a list",
    "COLLECTION_INVALID_OPERATION": "more ids than `GROOVE_COMPAT_MAX_BATCH_SIZE` (100 by default)",
}


@blueprint.route("/1/content/<namespace>/collection/add", methods=["POST"])
@documented(
    "Add tracks to the caller's collection",
    request="TrackActionRequest",
    responses={
        200: "TrackActionResponse",
        400: TRACK_ACTION_REQUEST_ERRORS,
    },
    item_errors={
        "COLLECTION_INVALID_ID": "the id is malformed, not in the catalog, or an ambiguous ISRC",
        "COLLECTION_FULL": "the collection already holds its capacity (`GROOVE_COMPAT_COLLECTION_CAPACITY`)",
    },
    examples={"request": ADD_REQUEST_EXAMPLE, 200: ADD_RESPONSE_EXAMPLE},
)
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
        web.store(),
        web.id_codec(),
        caller,
        track_ids,
        capacity=config["COLLECTION_CAPACITY"],
        max_id_length=config["MAX_ID_LENGTH"],
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
    return web.render_batch("TrackActionResponse", "TrackActionResults", results, failed=failed)
