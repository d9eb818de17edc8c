"""Marshmallow schemas of the v1 dialect: the one description of every request and response.

Request schemas validate (unknown members, wrong types and malformed ids are VALIDATION_ERROR with the
messages per field); response schemas write the answers, so what is documented is what is sent. Every field
carries a ``description`` in its metadata for the OpenAPI document.
"""

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from .errors import CATALOG

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_NAME_LENGTH = 200

TRACK_ID_PATTERN = r"^mtrack_[0-9a-f]{16}$"
COLLECTION_ID_PATTERN = r"^mcoll_[0-9a-f]{16}$"
ORGANIZATION_ID_PATTERN = r"^org_[0-9a-f]{16}$"

# Path parameters (described here for the OpenAPI document; a path id that names nothing of the caller's,
# malformed or not, is RESOURCE_NOT_FOUND rather than a validation error).
PATH_PARAMETERS = {
    "organization_id": {"description": "The caller's organization (org_ id).", "pattern": ORGANIZATION_ID_PATTERN},
    "collection_id": {"description": "A collection the caller owns (mcoll_ id).", "pattern": COLLECTION_ID_PATTERN},
    "track_id": {"description": "A track of the organization's catalog (mtrack_ id).", "pattern": TRACK_ID_PATTERN},
}


class TrackId(fields.String):
    """An ``mtrack_`` id: ``mtrack_`` and 16 lower-case hexadecimal digits."""

    def __init__(self, **kwargs):
        kwargs.setdefault("validate", validate.Regexp(TRACK_ID_PATTERN, error="Not a track id (mtrack_ and 16 hex digits)."))
        kwargs.setdefault("metadata", {"description": "A track id (mtrack_).", "pattern": TRACK_ID_PATTERN})
        super().__init__(**kwargs)


class _Request(Schema):
    class Meta:
        unknown = RAISE


class AddTrackRequest(_Request):
    """Body of ``POST .../collections/{collection_id}/tracks``."""

    track_id = TrackId(
        required=True,
        metadata={"description": "The id of the track to add (mtrack_).", "pattern": TRACK_ID_PATTERN},
    )


class MoveTrackRequest(_Request):
    """Body of ``POST .../collections/{collection_id}/tracks/move``."""

    track_id = TrackId(
        required=True,
        metadata={"description": "The track to move (mtrack_); it must be in the collection.", "pattern": TRACK_ID_PATTERN},
    )
    before_track_id = TrackId(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "Place the track just before this one (mtrack_, in the collection); null or absent: "
            "move it to the end.",
            "pattern": TRACK_ID_PATTERN,
        },
    )

    @validates_schema
    def _not_before_itself(self, data, **kwargs):
        if data.get("before_track_id") is not None and data["before_track_id"] == data.get("track_id"):
            raise ValidationError("Must differ from track_id.", "before_track_id")


class ReorderRequest(_Request):
    """Body of ``PUT .../collections/{collection_id}/tracks/order``."""

    track_ids = fields.List(
        TrackId(),
        required=True,
        metadata={"description": "Every track of the collection, each once, in the new order (mtrack_ ids)."},
    )


def _not_blank(value):
    if not value.strip():
        raise ValidationError("Must not be blank.")


class CollectionNameRequest(_Request):
    """Body of ``POST .../collections`` (create) and ``PATCH .../collections/{collection_id}`` (rename)."""

    name = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=MAX_NAME_LENGTH), _not_blank],
        metadata={"description": f"The collection's name: 1 to {MAX_NAME_LENGTH} characters, not only spaces."},
    )


class ListTracksQuery(_Request):
    """Query of ``GET .../collections/{collection_id}/tracks``."""

    limit = fields.Integer(
        load_default=DEFAULT_PAGE_SIZE,
        validate=validate.Range(min=1, max=MAX_PAGE_SIZE),
        metadata={"description": f"Most entries in the page: 1 to {MAX_PAGE_SIZE} (default {DEFAULT_PAGE_SIZE})."},
    )
    cursor = fields.String(
        validate=validate.Length(max=64),
        metadata={"description": "Opaque cursor from a previous page's next_cursor; absent: the first page."},
    )


# ---------------------------------------------------------------------------------------------------------
# Responses. Every member is always written (``required`` tells the OpenAPI document so; dumping ignores it),
# and no other member is (marshmallow's default ``unknown = RAISE`` makes apispec say additionalProperties false).

TIME = {"format": "date-time", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"}


def _always_true():
    return fields.Boolean(required=True, validate=validate.Equal(True), metadata={"description": "Always true."})


class Acknowledgement(Schema):
    """The answer of every mutation (seed 000)."""

    success = _always_true()
    id = fields.String(
        required=True, metadata={"description": "The id of the track or collection the mutation was about."}
    )
    detail = fields.String(required=True, metadata={"description": "What happened, for people."})


class TrackEntry(Schema):
    """One track in a collection."""

    id = fields.String(required=True, metadata={"description": "The track id (mtrack_).", "pattern": TRACK_ID_PATTERN})
    groove_catalog_id = fields.String(
        required=True, metadata={"description": "The track's Groove catalog id (music.{GUID})."}
    )
    groove_collection_id = fields.String(
        required=True,
        metadata={"description": "The entry's Groove collection id (music.AQQ...), as the Groove dialect answers."},
    )
    title = fields.String(required=True, metadata={"description": "Track title."})
    artist = fields.String(required=True, allow_none=True, metadata={"description": "Artist name, or null."})
    album = fields.String(required=True, allow_none=True, metadata={"description": "Album name, or null."})
    duration = fields.Integer(
        required=True, allow_none=True, metadata={"description": "Duration in whole seconds, or null."}
    )
    track_number = fields.Integer(
        required=True, allow_none=True, metadata={"description": "Number on its album, or null."}
    )
    isrc = fields.String(required=True, allow_none=True, metadata={"description": "ISRC (12 characters), or null."})
    position = fields.Integer(
        required=True,
        validate=validate.Range(min=0),
        metadata={"description": "Dense 0-based place in the collection."},
    )
    added_at = fields.String(
        required=True, metadata={"description": "When the track was added (ISO-8601, UTC, milliseconds).", **TIME}
    )


class TrackPage(Schema):
    """Answer of ``GET .../collections/{collection_id}/tracks``."""

    success = _always_true()
    data = fields.List(
        fields.Nested(TrackEntry), required=True, metadata={"description": "Entries in position order."}
    )
    has_more = fields.Boolean(required=True, metadata={"description": "Whether another page follows."})
    next_cursor = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "Pass as cursor for the next page; null on the last page."},
    )


class Collection(Schema):
    """A collection: the caller's library (exactly one) or a playlist."""

    id = fields.String(
        required=True, metadata={"description": "The collection id (mcoll_).", "pattern": COLLECTION_ID_PATTERN}
    )
    kind = fields.String(
        required=True,
        validate=validate.OneOf(["library", "playlist"]),
        metadata={"description": "'library' (the Groove collection) or 'playlist'."},
    )
    name = fields.String(
        required=True, allow_none=True, metadata={"description": "The playlist's name; null for the library."}
    )
    track_count = fields.Integer(
        required=True, validate=validate.Range(min=0), metadata={"description": "Number of tracks."}
    )
    groove_playlist_id = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "The playlist's Groove id (music.playlist.{guid}); null for the library."},
    )
    created_at = fields.String(required=True, metadata={"description": "Creation time (ISO-8601, UTC).", **TIME})
    updated_at = fields.String(
        required=True, metadata={"description": "Time of the last change (ISO-8601, UTC).", **TIME}
    )


class CollectionAnswer(Schema):
    """Answer of ``GET .../collections/{collection_id}``."""

    success = _always_true()
    data = fields.Nested(Collection, required=True, metadata={"description": "The collection."})


class CollectionList(Schema):
    """Answer of ``GET .../collections``: the library first, then playlists by creation."""

    success = _always_true()
    data = fields.List(
        fields.Nested(Collection), required=True, metadata={"description": "The caller's collections."}
    )


class ErrorBody(Schema):
    """What went wrong: ``errors.CATALOG`` gives each code its status, type and message."""

    code = fields.String(
        required=True,
        validate=validate.OneOf(list(CATALOG)),
        metadata={"description": "Machine-readable error code, e.g. RESOURCE_NOT_FOUND."},
    )
    message = fields.String(required=True, metadata={"description": "For people; one per code."})
    system_message = fields.String(required=True, metadata={"description": "Technical reason."})
    type = fields.String(
        required=True,
        validate=validate.OneOf(sorted({error_type for _, error_type, _, _ in CATALOG.values()})),
        metadata={"description": "authentication_error, client_error or server_error."},
    )
    status = fields.Integer(required=True, metadata={"description": "The HTTP status."})
    details = fields.Dict(
        required=True,
        metadata={
            "description": "Ids the request named, or for VALIDATION_ERROR ``fields``: messages per member "
            "(list items by index)."
        },
    )
    trace_id = fields.String(
        required=True,
        metadata={
            "description": "The request id, also in X-Request-Id and the server log.",
            "pattern": r"^req_[0-9a-f]{16}$",
        },
    )
    timestamp = fields.String(
        required=True,
        metadata={
            "description": "When the error happened (ISO-8601, UTC, seconds).",
            "format": "date-time",
            "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$",
        },
    )


class ErrorEnvelope(Schema):
    """The body of every v1 error."""

    success = fields.Boolean(required=True, validate=validate.Equal(False), metadata={"description": "Always false."})
    error = fields.Nested(ErrorBody, required=True)
