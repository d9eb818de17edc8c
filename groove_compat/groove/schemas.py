"""Marshmallow schemas of the Groove request objects: the one validation path for JSON and XML bodies.

The codecs turn either body into the same plain structure; these schemas validate it and say which Groove
error a violation is.
"""

from marshmallow import EXCLUDE, Schema, ValidationError, fields, utils, validate

from .errors import GrooveError


class RawItemList(fields.List):
    """A list whose items are kept exactly as sent (``fields.List(fields.Raw(allow_none=True))``), checked
    as a whole: a Raw item can never fail, so deserializing 100 of them one by one bought nothing but time."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not utils.is_collection(value):
            raise self.make_error("invalid")
        return list(value)


class TrackActionRequestSchema(Schema):
    """``{"TrackIds": [...]}``: 1 to MAX_BATCH_SIZE items. Items stay raw: a non-string or malformed
    item fails alone, as its own result, not the whole request."""

    class Meta:
        unknown = EXCLUDE

    TrackIds = RawItemList(
        fields.Raw(allow_none=True),
        required=True,
        allow_none=False,
        validate=validate.Length(min=1, error="missing"),
        error_messages={"required": "missing", "null": "missing", "invalid": "invalid"},
        metadata={"description": "Catalog track ids (music.{GUID}, music.isrc.{ISRC}) or collection ids."},
    )


_track_action_request = TrackActionRequestSchema()


def load_track_action_request(document, *, max_batch_size):
    """Validate a TrackActionRequest; return its list of ids or raise the documented GrooveError."""
    track_ids = document.get("TrackIds")
    if isinstance(track_ids, list) and len(track_ids) > max_batch_size:
        # Refused before validation: marshmallow would first visit every item (seconds for 400,000).
        raise GrooveError(
            "COLLECTION_INVALID_OPERATION", f"Number of tracks for this operation is limited to {max_batch_size}"
        )
    try:
        loaded = _track_action_request.load(document)
    except ValidationError as error:
        messages = error.normalized_messages().get("TrackIds", [])
        if messages == ["missing"]:
            raise GrooveError("MISSING_INPUT_PARAMETER", "TrackIds must hold at least one id") from None
        raise GrooveError("INVALID_INPUT_PARAMETER", "TrackIds must be a list of ids") from None
    track_ids = loaded["TrackIds"]
    if len(track_ids) > max_batch_size:
        raise GrooveError(
            "COLLECTION_INVALID_OPERATION", f"Number of tracks for this operation is limited to {max_batch_size}"
        )
    return track_ids
