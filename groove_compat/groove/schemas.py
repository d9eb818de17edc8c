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


# ---------------------------------------------------------------------------------------------------------
# PlaylistAction (create, update, delete)


class XmlBoolean(fields.Field):
    """A JSON boolean, or the text of an XML boolean (``true``, ``false``, ``1``, ``0``: xs:boolean)."""

    default_error_messages = {"invalid": "Not a boolean."}

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip() in ("true", "1"):
            return True
        if isinstance(value, str) and value.strip() in ("false", "0"):
            return False
        raise self.make_error("invalid")


class TrackActionSchema(Schema):
    """``{"Id": ..., "Action": "Add" | "Delete" | "Move"}``; Id stays raw, so a bad id fails as its own result."""

    class Meta:
        unknown = EXCLUDE

    Id = fields.Raw(
        allow_none=True,
        # Raw, so that a bad id fails alone; what a client sends is a string.
        metadata={
            "type": "string",
            "description": "For Add: a catalog track id (music.{GUID}, music.isrc.{ISRC}) or a collection id; for "
            "Delete and Move: an entry of the playlist (music.AQQ...) or the catalog id of one.",
        },
    )
    Action = fields.String(
        allow_none=True,
        metadata={"description": "`Add`, `Delete` (or `Remove`) or `Move`, in any case."},
    )


class PlaylistActionSchema(Schema):
    """The PlaylistAction of contract 2.6. Members absent or null are "not sent"."""

    class Meta:
        unknown = EXCLUDE

    CollectionStateToken = fields.String(
        allow_none=True,
        metadata={"description": "The profile's Collection.Token: when sent and no longer current, the change is "
                  "refused with 409 COLLECTION_CONCURRENT_UPDATE."},
    )
    Id = fields.String(
        allow_none=True,
        metadata={"description": "The playlist (`music.playlist.{GUID}` or `music.AQM...`); update and delete."},
    )
    Name = fields.String(allow_none=True, metadata={"description": "1 to 256 characters; required by create."})
    IsPublished = XmlBoolean(allow_none=True, metadata={"description": "Whether other users may read the playlist."})
    InsertBeforeTrackId = fields.String(
        allow_none=True,
        metadata={"description": "Move: the entry the moved tracks go before (absent: to the end)."},
    )
    TrackActions = fields.List(
        fields.Nested(TrackActionSchema),
        allow_none=True,
        metadata={"description": "Add and Delete actions, or Move actions alone (update); Add only (create)."},
    )


_playlist_action = PlaylistActionSchema()

# TrackAction.Action values, read in any case; "remove" is Delete (contract 2.5).
TRACK_ACTIONS = {"add": "add", "delete": "delete", "remove": "delete", "move": "move"}


def load_playlist_action(document):
    """Validate a PlaylistAction; return ``{member: value}`` of the members sent (non-null), with each
    TrackAction's Action as "add", "delete" or "move". Raise the documented GrooveError otherwise."""
    try:
        loaded = _playlist_action.load(document)
    except ValidationError as error:
        member = sorted(error.normalized_messages())[0]
        raise GrooveError("INVALID_INPUT_PARAMETER", f"{member} has the wrong type") from None
    loaded = {member: value for member, value in loaded.items() if value is not None}
    actions = []
    for number, action in enumerate(loaded.get("TrackActions", ())):
        kind = TRACK_ACTIONS.get((action.get("Action") or "").strip().lower())
        if kind is None:
            raise GrooveError(
                "INVALID_INPUT_PARAMETER", f"TrackActions[{number}].Action must be Add, Delete or Move"
            )
        actions.append({"Id": action.get("Id"), "Action": kind})
    if "TrackActions" in loaded:
        loaded["TrackActions"] = actions
    return loaded
