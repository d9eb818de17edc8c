"""HTTP edge of the v1 dialect: authentication, JSON bodies, validation, id resolution and answers."""

import datetime
import functools
import json

from flask import current_app, g, request
from marshmallow import ValidationError
from werkzeug.exceptions import MethodNotAllowed, NotFound, RequestEntityTooLarge

from .. import auth
from ..extensions import id_codec, settings, store  # noqa: F401 (the views call web.store() etc.)
from . import schemas
from .errors import V1Error, envelope

# Path ids are echoed in error details; longer ones are cut so an answer stays small.
MAX_ECHOED_ID_LENGTH = 128
WWW_AUTHENTICATE = 'Bearer realm="groove-compat"'


def echo(text):
    return text if text is None or len(text) <= MAX_ECHOED_ID_LENGTH else text[:MAX_ECHOED_ID_LENGTH]


def iso_time(milliseconds):
    """ISO-8601 UTC with milliseconds and a ``Z``."""
    moment = datetime.datetime.fromtimestamp(milliseconds / 1000, tz=datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{milliseconds % 1000:03d}Z"


# ---------------------------------------------------------------------------------------------------------
# Requests


def authenticate():
    """The caller of the request's credential: ``X-API-Key`` when present and not empty, else an
    ``Authorization: Bearer`` token (the same credentials the Groove dialect takes). 401 otherwise."""
    api_key = (request.headers.get("X-API-Key") or "").strip()
    token = api_key or auth.bearer_token(request.headers.get("Authorization"))
    try:
        caller = auth.authenticate(store(), token)
    except auth.AuthenticationFailure:
        raise authentication_required() from None
    g.caller = caller
    return caller


# The errors of the dialect's edge, built in one place so that the published examples are these very objects.


def authentication_required():
    return V1Error("AUTHENTICATION_REQUIRED", headers={"WWW-Authenticate": WWW_AUTHENTICATE})


def unsupported_media_type(mimetype, method):
    return V1Error(
        "UNSUPPORTED_MEDIA_TYPE",
        system_message=f"Content-Type {mimetype[:100] or '(none)'} is not supported: send application/json",
        headers={"Accept-Patch": "application/json"} if method == "PATCH" else None,
    )


def payload_too_large(max_bytes):
    return V1Error(
        "PAYLOAD_TOO_LARGE",
        system_message=f"The request body is larger than {max_bytes} bytes",
        details={"max_bytes": max_bytes},
    )


def method_not_allowed(method, valid_methods):
    methods = sorted(valid_methods)
    allowed = ", ".join(methods)
    return V1Error(
        "METHOD_NOT_ALLOWED",
        system_message=f"Method {method[:20]} is not allowed here: use {allowed}",
        details={"allowed_methods": methods},
        headers={"Allow": allowed},
    )


def organization_not_found(organization_id):
    return V1Error(
        "RESOURCE_NOT_FOUND",
        system_message="Organization not found",
        details={"organization_id": echo(organization_id)},
    )


def no_such_endpoint(path):
    return V1Error("RESOURCE_NOT_FOUND", system_message="No such endpoint", details={"path": echo(path)})


def internal_error():
    return V1Error("INTERNAL_ERROR")


def _reject_constant(name):
    raise ValueError(f"{name} is not a JSON number")


def _unique_members(pairs):
    # A member given twice would silently take its last value, and a proxy or a client library that
    # keeps the first would read another request than the one acted on: refuse it, as the Groove dialect does.
    document = dict(pairs)
    if len(document) != len(pairs):
        seen = set()
        duplicate = next(name for name, _ in pairs if name in seen or seen.add(name))
        raise ValueError(f"member {duplicate[:50]!r} appears twice")
    return document


def load_body(schema):
    """The request's JSON body validated by ``schema``: 415 unless JSON, 413 when too large, INVALID_JSON
    when it does not parse, VALIDATION_ERROR with messages per field when it does not validate."""
    mimetype = request.mimetype.lower()
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        raise unsupported_media_type(mimetype, request.method)
    body = request.get_data(cache=False)  # RequestEntityTooLarge past MAX_CONTENT_LENGTH: 413
    return validate(schema, parse_json(body))


def parse_json(body):
    """The JSON document of a request body (bytes), or INVALID_JSON: not UTF-8, malformed (with its line
    and column), NaN or Infinity, a member twice in one object, a lone surrogate escape (no UTF-8 form),
    or nested too deep."""
    try:
        document = json.loads(
            body.decode("utf-8-sig"), parse_constant=_reject_constant, object_pairs_hook=_unique_members
        )
    except UnicodeDecodeError:
        raise V1Error("INVALID_JSON", system_message="The body is not UTF-8") from None
    except json.JSONDecodeError as error:
        raise V1Error(
            "INVALID_JSON",
            system_message=f"Malformed JSON body: {error.msg}",
            details={"line": error.lineno, "column": error.colno},
        ) from None
    except (ValueError, RecursionError) as error:
        raise V1Error("INVALID_JSON", system_message=f"Malformed JSON body: {str(error)[:100]}") from None
    try:
        # A \ud800 escape parses to a string that has no UTF-8 form: it would fail only when stored
        # (a 500 after validation passed), so refuse it here with the rest of what is not JSON text.
        json.dumps(document, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise V1Error("INVALID_JSON", system_message="The body holds a lone surrogate escape") from None
    return document


def load_query(schema):
    """The query string validated by ``schema`` (first value of each parameter)."""
    return validate(schema, request.args.to_dict(flat=True))


# At most this many members in ``details.fields``, each name cut to MAX_FIELD_NAME characters: a 1 MB
# body of 50,000 unknown members otherwise got a 1.4 MB answer naming each of them (most of a second to
# build), and one member name of 900 KB came back whole.
MAX_FIELD_MESSAGES = 50
MAX_FIELD_NAME = 100


def validate(schema, document):
    try:
        if isinstance(document, dict) and len(document) > MAX_FIELD_MESSAGES + len(schema.load_fields):
            _refuse_many_unknown_members(schema, document)
        return schema.load(document)
    except ValidationError as error:
        messages = error.normalized_messages()
        if isinstance(messages, dict) and len(messages) > MAX_FIELD_MESSAGES:
            # Members the schema knows first: their messages are the ones a client can act on.
            known = [name for name in messages if name in schema.fields]
            kept = known + [name for name in messages if name not in schema.fields]
            messages = {name: messages[name] for name in kept[:MAX_FIELD_MESSAGES]}
        if isinstance(messages, dict):
            messages = {
                (name if not isinstance(name, str) or len(name) <= MAX_FIELD_NAME else name[:MAX_FIELD_NAME] + "..."): value
                for name, value in messages.items()
            }
        raise V1Error("VALIDATION_ERROR", details={"fields": messages}) from None


def _refuse_many_unknown_members(schema, document):
    """Raise the ValidationError ``schema.load`` would, cut to MAX_FIELD_MESSAGES members, without having
    marshmallow write (and then drop) a message for each of tens of thousands of unknown members first."""
    known = {field.data_key or name for name, field in schema.load_fields.items()}
    unknown = [name for name in document if name not in known]
    if len(unknown) <= MAX_FIELD_MESSAGES:
        return
    try:
        schema.load({name: value for name, value in document.items() if name in known})
        messages = {}
    except ValidationError as error:
        messages = error.normalized_messages()
        if not isinstance(messages, dict):
            raise
    for name in unknown[: MAX_FIELD_MESSAGES]:
        messages[name] = [schema.error_messages["unknown"]]
    raise ValidationError(messages)


def require_organization(caller, organization_id, not_found):
    """Raise ``not_found`` unless the path's organization is the caller's."""
    if id_codec().parse_public_id("organization", organization_id) != caller.organization_id:
        raise not_found


def row_id(kind, public_id):
    """The row behind a v1 id, or None (malformed, or not of this install's key)."""
    return id_codec().parse_public_id(kind, public_id)


# ---------------------------------------------------------------------------------------------------------
# Answers


def answer(schema, data, status=200, headers=None):
    response = current_app.response_class(
        json.dumps(schema.dump(data), ensure_ascii=False, separators=(",", ":")),
        status=status,
        content_type="application/json",
    )
    if headers:
        response.headers.update(headers)
    return response


_acknowledgement = schemas.Acknowledgement()


def acknowledge(public_id, detail, status=200, headers=None):
    """The seed's mutation acknowledgement: ``{"success": true, "id", "detail"}``."""
    return answer(_acknowledgement, {"success": True, "id": public_id, "detail": detail}, status, headers)


def render_error(error):
    g.error_code = error.code
    response = current_app.response_class(
        json.dumps(envelope(error, g.get("request_id", "-")), ensure_ascii=False, separators=(",", ":")),
        status=error.status,
        content_type="application/json",
    )
    response.headers.update(error.headers)
    return response


def v1_endpoint(view):
    """Answer a view's V1Errors with the envelope."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except V1Error as error:
            return render_error(error)

    return wrapper


def render_http_exception(exception):
    """Routing and protocol answers under ``/v1/`` (404, 405, 413, ...): the envelope, never HTML."""
    if isinstance(exception, NotFound):
        error = no_such_endpoint(request.path)
    elif isinstance(exception, MethodNotAllowed):
        error = method_not_allowed(request.method, exception.valid_methods or ())
    elif isinstance(exception, RequestEntityTooLarge):
        error = payload_too_large(settings()["MAX_CONTENT_LENGTH"])
    elif (exception.code or 500) >= 500:
        return render_internal_error(g.get("request_id", "-"))
    else:
        error = V1Error("VALIDATION_ERROR", system_message=exception.description, status=exception.code)
    return render_error(error)


def render_internal_error(request_id):
    return render_error(internal_error())
