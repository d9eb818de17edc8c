"""The v1 error catalog and the one error envelope of the dialect (seed 000).

Every v1 error, whatever raised it (a view, routing, a body too large, a crash), is written by
``envelope``::

    {"success": false, "error": {"code", "message", "system_message", "type", "status", "details",
                                 "trace_id", "timestamp"}}

``trace_id`` is the request id (``X-Request-Id``, the access log line); ``timestamp`` is UTC, to the second.
"""

import datetime

# code -> (HTTP status, type, message for people, default system_message).
CATALOG = {
    "AUTHENTICATION_REQUIRED": (
        401,
        "authentication_error",
        "Authentication required. Please provide a valid API key.",
        "Missing or invalid authorization header",
    ),
    "RESOURCE_NOT_FOUND": (404, "client_error", "The requested resource was not found.", "Resource not found"),
    "VALIDATION_ERROR": (
        400,
        "client_error",
        "The request is not valid.",
        "Request validation failed; see details.fields",
    ),
    "INVALID_JSON": (400, "client_error", "The request body is not valid JSON.", "Malformed JSON body"),
    "INVALID_REORDER": (
        400,
        "client_error",
        "The new order does not match the tracks of the collection.",
        "The track ids do not match the collection's entries; see details",
    ),
    "METHOD_NOT_ALLOWED": (405, "client_error", "This method is not allowed on this resource.", "Method not allowed"),
    "PAYLOAD_TOO_LARGE": (413, "client_error", "The request body is too large.", "Request body too large"),
    "UNSUPPORTED_MEDIA_TYPE": (
        415,
        "client_error",
        "The request body must be JSON.",
        "Content-Type must be application/json",
    ),
    "LIBRARY_IS_PERMANENT": (
        409,
        "client_error",
        "The library collection cannot be renamed or deleted.",
        "Operation not allowed on the library collection",
    ),
    "COLLECTION_LIMIT_REACHED": (
        409,
        "client_error",
        "You own as many collections as allowed.",
        "Collection quota reached",
    ),
    "COLLECTION_FULL": (409, "client_error", "The collection is full.", "Collection track capacity reached"),
    "INTERNAL_ERROR": (
        500,
        "server_error",
        "An internal error occurred. Please try again later.",
        "Unexpected server error; nothing was changed",
    ),
}


class V1Error(Exception):
    """A whole-request failure of the v1 dialect; becomes one envelope."""

    def __init__(self, code, *, system_message=None, details=None, headers=None, status=None):
        status_of_code, self.type, self.message, default_system_message = CATALOG[code]
        super().__init__(f"{code}: {system_message or default_system_message}")
        self.code = code
        self.status = status or status_of_code
        self.system_message = system_message or default_system_message
        self.details = details or {}
        self.headers = headers or {}


def timestamp(moment=None):
    """ISO-8601 UTC to the second with a ``Z``, as the seed writes it."""
    moment = moment or datetime.datetime.now(datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def envelope(error, trace_id, moment=None):
    """The body of an error answer, members in the seed's order (``moment``: now, unless given)."""
    return {
        "success": False,
        "error": {
            "code": error.code,
            "message": error.message,
            "system_message": error.system_message,
            "type": error.type,
            "status": error.status,
            "details": error.details,
            "trace_id": trace_id,
            "timestamp": timestamp(moment),
        },
    }
