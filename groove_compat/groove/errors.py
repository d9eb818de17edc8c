"""The Groove error catalog (contract 4.1) and the one error builder of the dialect.

Codes are kept in their underscore spelling; ``spell`` writes them in the deployment's spelling
(hyphens by default, Project decisions 1). Where the server reads a code, both spellings are equal.
"""

# code -> (HTTP status, Description). Descriptions are the SDK wording that every wire example carries.
CATALOG = {
    "MISSING_INPUT_PARAMETER": (400, "Missing or empty mandatory parameter"),
    "INVALID_INPUT_PARAMETER": (400, "Invalid parameter value"),
    "INCOMPATIBLE_INPUT_PARAMETERS": (400, "Incompatible parameters"),
    "CONTINUATION_TOKEN_INVALID_ERROR": (400, "The continuation token provided is incorrect"),
    "UNAUTHORIZED_API_METHOD": (403, "Unauthorized API method"),
    "ACCESS_TOKEN_MISSING": (401, "Application access token required"),
    "ACCESS_TOKEN_INVALID": (401, "Invalid Application access token"),
    "ACCESS_TOKEN_EXPIRED": (401, "Expired Application access token"),
    "INVALID_AUTHORIZATION_HEADER": (401, "Missing or invalid authorization header"),
    "AUTHORIZATION_TOKEN_EXPIRED": (401, "User authorization token expired"),
    "CATALOG_NO_RESULT": (404, "Item does not exist"),
    "COLLECTION_INVALID_DATA": (200, "Error while reading collection data, some results may be missing or incomplete"),
    "COLLECTION_SOME_OPERATIONS_FAILED": (200, "Some of the operations failed"),
    "COLLECTION_INVALID_PLAYLIST_REORDER": (400, "Invalid playlist reorder operation"),
    "COLLECTION_FULL": (400, "Your collection is full"),
    "COLLECTION_PLAYLIST_FULL": (400, "This playlist is full"),
    "COLLECTION_INVALID_OPERATION": (400, "This operation is not supported"),
    "COLLECTION_INVALID_ID": (400, "Invalid collection id for this operation"),
    "COLLECTION_INVALID_PLAYLIST_INFO": (400, "Required playlist information is missing"),
    "COLLECTION_NO_RESULT": (404, "No result from Collection"),
    "COLLECTION_CONCURRENT_UPDATE": (409, "Concurrent update of the collection"),
    "COLLECTION_OPERATION_UNKNOWN_ERROR": (502, "The operation failed"),
    "TOO_MANY_REQUESTS": (429, "Too Many Requests"),
    "INTERNAL_SERVER_ERROR": (500, "Oops, something went seriously wrong"),
}

# Messages used in more than one place.
MESSAGE_INVALID_CONTENT_ID = "Collection ErrorCode=ArgumentInvalid, Details=ContentId"
MESSAGE_USER_AUTHENTICATION = "You need user authentication to use this API"


def canonical_code(code):
    """Read a code in either spelling: ``COLLECTION-INVALID-ID`` equals ``COLLECTION_INVALID_ID``."""
    return code.replace("-", "_").upper()


def spell(code, style):
    """Write a code in the deployment's spelling: 'hyphen' or 'underscore'."""
    return code.replace("_", "-") if style == "hyphen" else code


def error_object(code, message=None, *, style):
    """The Error member: ErrorCode and Description always, Message only when there is one (JSON order)."""
    error = {"ErrorCode": spell(code, style), "Description": CATALOG[code][1]}
    if message is not None:
        error["Message"] = message
    return error


class GrooveError(Exception):
    """A whole-request failure: becomes an answer of the endpoint's response type holding only ``Error``."""

    def __init__(self, code, message=None, *, status=None, headers=None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = CATALOG[code][0] if status is None else status
        self.headers = headers or {}
