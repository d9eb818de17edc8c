"""How the v1 dialect appears in the OpenAPI document.

- Bodies and answers: the marshmallow schemas of ``schemas.py``, the ones the views load and dump with.
- Errors: every status lists its codes from ``errors.CATALOG`` (a code under a status the catalog does not give
  it is refused); the dialect adds what its edge (``web.py``) answers on every route: 401, 404 for an
  organization that is not the caller's, 400/413/415 on routes with a body, 400 on routes with a query, 500.
- Examples are the server's own objects: success data is dumped by the response schema, request examples must
  load through the request schema, and error examples are the ``V1Error``s the views and the edge raise,
  written by ``errors.envelope`` (with a fixed trace id and time, so the document does not change per build).
  Every code of an operation has an example; the edge's codes get theirs here, a view declares the others.
- Ids in examples are minted by the real ``IdCodec`` under a key of their own (``EXAMPLE_IDS``): they have the
  true shape and name nothing of any install.
"""

import datetime
import hashlib
import json
from http import HTTPStatus

import marshmallow

from .. import ids
from ..openapi import Dialect, DocumentationError
from ..openapi.generator import error_list
from . import errors, schemas, web
from .errors import V1Error

EXAMPLE_IDS = ids.IdCodec(hashlib.sha256(b"groove-compat v1 documentation examples").digest())
EXAMPLE_TRACE_ID = "req_5e1f0c9a7b3d2e84"
EXAMPLE_MOMENT = datetime.datetime(2026, 6, 28, 10, 30, tzinfo=datetime.timezone.utc)
EXAMPLE_TIME_MS = int(EXAMPLE_MOMENT.timestamp()) * 1000 + 123  # the answers' times carry milliseconds

DESCRIPTION = """\
An organization-scoped JSON API over the same collections as the Groove dialect (the caller's Groove \
library is one of its collections, its Groove playlists the others; a change through either dialect is seen \
through the other at once). See also `docs/v1-api.md`.

- Paths start with `/v1/music/{organization_id}`, the caller's `org_` id.
- Authentication: the user's token as `X-API-Key`, or as `Authorization: Bearer` (the Groove dialect's \
header); an `X-API-Key` that is present and not empty is the one used.
- Order of checks in every operation: the key (401), then the body or query (415, 413, 400), then the ids \
of the path (404).
- One 404 for whatever is not the caller's: an organization, a collection or a track that is absent, \
another user's or another organization's, or a malformed id in the path, all answer `RESOURCE_NOT_FOUND` \
with the ids sent echoed in `details`. Malformed ids in a body are a 400 `VALIDATION_ERROR`.
- Mutations answer the acknowledgement `{"success": true, "id", "detail"}`.
- Every error is one envelope, `v1.ErrorEnvelope`, whose `trace_id` is the `X-Request-Id` header and the \
request id of the server's access log line. Beside the statuses of each operation, a path that is no route \
answers 404 `RESOURCE_NOT_FOUND` (`details.path`), and a method that a path does not serve answers 405 \
`METHOD_NOT_ALLOWED` with an `Allow` header and `details.allowed_methods`.
- Times are ISO-8601 UTC with milliseconds (`2026-06-28T10:30:00.123Z`); error timestamps are to the \
second."""

EDGE_ERRORS = {
    "AUTHENTICATION_REQUIRED": (
        "no `X-API-Key` and no `Authorization: Bearer` token, or an unknown or revoked one "
        "(`WWW-Authenticate: Bearer`)"
    ),
    "ORGANIZATION": "the organization is not the caller's, or its id is malformed",
    "INVALID_JSON": (
        "the body is not UTF-8, does not parse (`details.line`, `details.column`), or holds NaN or Infinity"
    ),
    "VALIDATION_ERROR": (
        "the body is not the request object: a member missing, unknown, null, of the wrong type or malformed "
        "(`details.fields`: messages per member, list items by index)"
    ),
    "QUERY": "a query parameter is out of range, malformed or unknown (`details.fields`)",
    "PAYLOAD_TOO_LARGE": "the body is larger than `GROOVE_COMPAT_MAX_CONTENT_LENGTH` bytes (`details.max_bytes`)",
    "UNSUPPORTED_MEDIA_TYPE": "the Content-Type is neither `application/json` nor a `+json` type",
    "INTERNAL_ERROR": "an unexpected failure; nothing was changed",
}

# Not the body of a request to this route, only something that makes the route's parser fail the way it does.
INVALID_JSON_BODY = b'{"name": "Road trip",}'


def rejected(schema, document):
    """The VALIDATION_ERROR that the view answers when ``document`` is loaded by ``schema`` (for examples)."""
    try:
        web.validate(schema, document)
    except V1Error as error:
        return error
    raise DocumentationError(f"{document!r} is valid for {type(schema).__name__}: it cannot show a validation error")


def _parse_failure(body):
    try:
        web.parse_json(body)
    except V1Error as error:
        return error
    raise DocumentationError(f"{body!r} parses: it cannot show INVALID_JSON")


def _schema_instance(body):
    return body() if isinstance(body, type) and issubclass(body, marshmallow.Schema) else body


def _json(value):
    """A value as the server writes it (``json.dumps``), read back."""
    return json.loads(json.dumps(value, ensure_ascii=False))


class V1Dialect(Dialect):
    name = "v1"
    prefix = "/v1/"
    description = DESCRIPTION
    security = ("apiKey", "bearer")
    order = 20

    def setup(self, spec, app):
        spec.components.schema("v1.ErrorEnvelope", schema=schemas.ErrorEnvelope)

    def path_parameter(self, name):
        parameter = schemas.PATH_PARAMETERS.get(name)
        if parameter is None:
            return {}
        return {
            "description": parameter["description"],
            "schema": {"type": "string", "pattern": parameter["pattern"]},
            "example": parameter_example(name),
        }

    def request_body(self, spec, app, route):
        body = super().request_body(spec, app, route)
        body["description"] = (
            "JSON (`application/json`, or any `+json` type), UTF-8, at most "
            f"{app.config['MAX_CONTENT_LENGTH']} bytes. Members not in the schema are refused."
        )
        return body

    def error_body(self, spec, app, route, status):
        return schemas.ErrorEnvelope

    # --- errors ---------------------------------------------------------------------------------------
    def automatic_errors(self, route):
        documentation = route.documentation
        found = {}

        def add(status, code, when):
            codes = found.setdefault(status, {})
            codes[code] = f"{codes[code]}; {when}" if codes.get(code) else when

        security = self.security if documentation.security is None else documentation.security
        if security:
            add(401, "AUTHENTICATION_REQUIRED", EDGE_ERRORS["AUTHENTICATION_REQUIRED"])
        if "organization_id" in route.variables:
            add(404, "RESOURCE_NOT_FOUND", EDGE_ERRORS["ORGANIZATION"])
        if documentation.request is not None:
            add(400, "INVALID_JSON", EDGE_ERRORS["INVALID_JSON"])
            add(400, "VALIDATION_ERROR", EDGE_ERRORS["VALIDATION_ERROR"])
            add(413, "PAYLOAD_TOO_LARGE", EDGE_ERRORS["PAYLOAD_TOO_LARGE"])
            add(415, "UNSUPPORTED_MEDIA_TYPE", EDGE_ERRORS["UNSUPPORTED_MEDIA_TYPE"])
        if any(parameter["in"] == "query" for parameter in documentation.parameters):
            add(400, "VALIDATION_ERROR", EDGE_ERRORS["QUERY"])
        add(500, "INTERNAL_ERROR", EDGE_ERRORS["INTERNAL_ERROR"])
        return found

    def describe_error(self, app, code):
        if code not in errors.CATALOG:
            raise DocumentationError(f"error code {code!r} is not in v1/errors.py CATALOG")
        return code, errors.CATALOG[code][2]

    def response(self, spec, app, route, status, declared, codes):
        for code in codes:
            if code not in errors.CATALOG:
                raise DocumentationError(f"error code {code!r} is not in v1/errors.py CATALOG")
            if errors.CATALOG[code][0] != status:
                raise DocumentationError(f"{code} is answered with {errors.CATALOG[code][0]}, not {status}")
        response = super().response(spec, app, route, status, declared, codes)
        if "AUTHENTICATION_REQUIRED" in codes:
            response["headers"]["WWW-Authenticate"] = {
                "description": f"`{web.WWW_AUTHENTICATE}`.",
                "schema": {"type": "string"},
            }
        if "UNSUPPORTED_MEDIA_TYPE" in codes and route.method == "patch":
            response["headers"]["Accept-Patch"] = {
                "description": "`application/json`: the media type a PATCH body must have.",
                "schema": {"type": "string"},
            }
        return response

    def response_description(self, app, route, status, body, codes):
        phrase = HTTPStatus(status).phrase
        if not codes:
            return f"{phrase}."
        return f"{phrase}: the error envelope, with `error.code`:\n\n{error_list(self.spelled_errors(app, codes))}"

    def edge_error(self, app, route, code):
        """The error the edge answers with ``code`` on this route, or None when only a view raises it."""
        if code == "AUTHENTICATION_REQUIRED":
            return web.authentication_required()
        if code == "UNSUPPORTED_MEDIA_TYPE":
            return web.unsupported_media_type("text/plain", route.method.upper())
        if code == "PAYLOAD_TOO_LARGE":
            return web.payload_too_large(app.config["MAX_CONTENT_LENGTH"])
        if code == "INVALID_JSON":
            return _parse_failure(INVALID_JSON_BODY)
        if code == "INTERNAL_ERROR":
            return web.internal_error()
        if code == "RESOURCE_NOT_FOUND" and "organization_id" in route.variables:
            return web.organization_not_found(EXAMPLE_ORGANIZATION_ID)
        if code == "VALIDATION_ERROR" and route.documentation.request is not None:
            return rejected(_schema_instance(route.documentation.request), {})
        return None

    def error_examples(self, app, route, status, codes, media_type):
        declared = {
            value.code
            for example in route.documentation.examples.get(status, ())
            if isinstance(value := self.example_value(app, example.value), V1Error)
        }
        examples = {}
        for code in codes:
            if code in declared:
                continue
            error = self.edge_error(app, route, code)
            if error is None:
                raise DocumentationError(f"{code} ({status}) needs an example: declare the error the view raises")
            examples[code] = {"value": self.error_example(error)}
        return examples

    @staticmethod
    def error_example(error):
        return _json(errors.envelope(error, EXAMPLE_TRACE_ID, EXAMPLE_MOMENT))

    # --- examples -------------------------------------------------------------------------------------
    @staticmethod
    def example_value(app, value):
        """A declared example's data; a callable is given the settings (examples that show a limit)."""
        return value(app.config) if callable(value) else value

    def encode_examples(self, app, route, examples, media_type, *, body, request):
        encoded = {}
        for example in examples:
            value = self.example_value(app, example.value)
            if isinstance(value, V1Error):
                value = self.error_example(value)
            elif request:
                # What a client sends: it must be a body that the view accepts.
                try:
                    _schema_instance(body).load(value)
                except marshmallow.ValidationError as error:
                    raise DocumentationError(f"request example {example.name!r} is refused: {error.messages}") from None
                value = _json(value)
            elif body is not None:
                value = _json(_schema_instance(body).dump(value))
            else:
                raise DocumentationError(f"example {example.name!r}: a status without a body takes only errors")
            encoded[example.name] = {"value": value, **({"summary": example.summary} if example.summary else {})}
        return encoded


# ---------------------------------------------------------------------------------------------------------
# Example world: one organization, a library and a playlist, two tracks of the sample catalog.

EXAMPLE_ORGANIZATION_ROW = 1
EXAMPLE_LIBRARY_ROW = 1
EXAMPLE_PLAYLIST_ROW = 2
EXAMPLE_TRACKS = [
    {
        "track_id": 1,
        "guid": ids.parse_catalog_guid("music.A83EB907-0100-11DB-89CA-0019B92A3933"),
        "title": "Atlas Lantern",
        "artist": "Northbound Lights",
        "album": "Harbor Songs",
        "duration": 355,
        "track_number": 1,
        "isrc": "USQX92274821",
        "rank": 0,
        "added_at": EXAMPLE_TIME_MS,
    },
    {
        "track_id": 2,
        "guid": ids.parse_catalog_guid("music.873FB507-0100-11DB-89CA-0019B92A3933"),
        "title": "Echo Drift",
        "artist": "Northbound Lights",
        "album": "Harbor Songs",
        "duration": 359,
        "track_number": 2,
        "isrc": "USABC1886037",
        "rank": 1,
        "added_at": EXAMPLE_TIME_MS + 1000,
    },
]
EXAMPLE_COLLECTIONS = [
    {
        "id": EXAMPLE_LIBRARY_ROW,
        "kind": "library",
        "name": None,
        "track_count": 2,
        "created_at": EXAMPLE_TIME_MS,
        "updated_at": EXAMPLE_TIME_MS + 1000,
    },
    {
        "id": EXAMPLE_PLAYLIST_ROW,
        "kind": "playlist",
        "name": "Road trip",
        "track_count": 0,
        "created_at": EXAMPLE_TIME_MS + 2000,
        "updated_at": EXAMPLE_TIME_MS + 2000,
    },
]
EXAMPLE_ORGANIZATION_ID = EXAMPLE_IDS.public_id("organization", EXAMPLE_ORGANIZATION_ROW)
EXAMPLE_LIBRARY_ID = EXAMPLE_IDS.public_id("collection", EXAMPLE_LIBRARY_ROW)
EXAMPLE_PLAYLIST_ID = EXAMPLE_IDS.public_id("collection", EXAMPLE_PLAYLIST_ROW)
EXAMPLE_TRACK_IDS = [EXAMPLE_IDS.public_id("track", track["track_id"]) for track in EXAMPLE_TRACKS]
# A well-formed id of a track that the organization does not have.
EXAMPLE_UNKNOWN_TRACK_ID = EXAMPLE_IDS.public_id("track", 987_654)


def parameter_example(name):
    return {
        "organization_id": EXAMPLE_ORGANIZATION_ID,
        "collection_id": EXAMPLE_PLAYLIST_ID,
        "track_id": EXAMPLE_TRACK_IDS[0],
    }[name]
