"""HTTP edge of the Groove dialect: case-insensitive paths and parameters, content negotiation, request
bodies, authentication and the one way every answer (success or error) is written."""

import functools
import gzip
import math
import re

from flask import current_app, g, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound, RequestEntityTooLarge

from .. import auth
from ..extensions import id_codec, settings, store  # noqa: F401 (the views call web.store() etc.)
from . import codec, errors
from .contracts import ERROR_COMPANIONS, NAMESPACES

JSON_TYPES = frozenset({"application/json", "text/json"})
XML_TYPES = frozenset({"application/xml", "text/xml"})
WILDCARD_TYPES = frozenset({"*/*", "application/*", "text/*"})
JSONP_CALLBACK = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]{0,63}(\.[A-Za-z_$][A-Za-z0-9_$]{0,63}){0,3}$")
GZIP_MINIMUM = 1024

# Fixed path words of the Groove routes. The .NET SDK sends PascalCase segments (collection/Add,
# Collection/Tracks/browse, playlists/Create): these words are matched case-insensitively, ids are not.
PATH_WORDS = frozenset(
    "content user music collection add delete move browse lookup playlists playlist create update tracks "
    "albums artists playlistsforyou profile".split()
)


class CaseInsensitivePaths:
    """WSGI middleware: lower-case the fixed words of ``/1/...`` paths before Flask routes them."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path[:3] == "/1/":
            segments = path.split("/")
            environ["PATH_INFO"] = "/".join(
                segment.lower() if segment.lower() in PATH_WORDS else segment for segment in segments
            )
        return self.wsgi_app(environ, start_response)


def query_param(name):
    """A query parameter matched case-insensitively (the SDK sends ``orderby``, the docs ``orderBy``)."""
    wanted = name.lower()
    for key, value in request.args.items(multi=True):
        if key.lower() == wanted:
            return value
    return None


# ---------------------------------------------------------------------------------------------------------
# Negotiation


def response_format():
    """``contentType`` parameter, then ``Accept``, then the request body's format, then JSON (contract 1.0)."""
    cached = g.get("groove_format")
    if cached is not None:
        return cached
    g.groove_format = "json"  # what an error in the negotiation itself is answered in
    requested = query_param("contentType")
    if requested is not None:
        value = requested.strip().lower()
        if value not in ("json", "xml"):
            raise errors.GrooveError("INVALID_INPUT_PARAMETER", "Parameter contentType must be xml or json")
        g.groove_format = value
        return value
    chosen = None
    for mimetype, quality in request.accept_mimetypes:
        if quality <= 0:
            continue
        mimetype = mimetype.lower()
        if mimetype in JSON_TYPES or mimetype.endswith("+json"):
            chosen = "json"
        elif mimetype in XML_TYPES or mimetype.endswith("+xml"):
            chosen = "xml"
        if chosen or mimetype in WILDCARD_TYPES:
            break
    g.groove_format = chosen or g.get("groove_body_format") or _declared_body_format() or "json"
    return g.groove_format


def response_namespace():
    """The namespace of an XML answer: the XML request's, else the configured default (Project decisions 3)."""
    return g.get("groove_namespace") or _unread_xml_namespace() or NAMESPACES[settings()["XML_DEFAULT_NAMESPACE"]]


def _declared_body_format():
    """The body's format by its Content-Type, for answers written before the body is read (a 401)."""
    mimetype = request.mimetype.lower()
    if mimetype in XML_TYPES or mimetype.endswith("+xml"):
        return "xml"
    if mimetype in JSON_TYPES or mimetype.endswith("+json"):
        return "json"
    return None


def _unread_xml_namespace():
    """The root namespace of an XML body the view never read (it failed first, e.g. 401), or None."""
    if g.get("groove_body_read") or _declared_body_format() != "xml":
        return None
    try:
        body = request.get_data(cache=True)
    except RequestEntityTooLarge:
        return None
    return codec.root_namespace(body)


def _jsonp_callback():
    callback = query_param("jsonp")
    if callback is None:
        return None
    if not JSONP_CALLBACK.match(callback):
        g.groove_jsonp_invalid = True
        raise errors.GrooveError("INVALID_INPUT_PARAMETER", "Parameter jsonp must be a JavaScript identifier")
    return callback


def _respond(body, fmt, status, headers=None):
    callback = None
    if fmt == "json" and not g.get("groove_jsonp_invalid"):
        callback = _jsonp_callback()
    if callback is not None:
        body = b"/**/" + callback.encode("ascii") + b"(" + body + b");"
        mimetype = "application/javascript"
    else:
        mimetype = "application/xml" if fmt == "xml" else "application/json"
    response = current_app.response_class(body, status=status, content_type=f"{mimetype}; charset=utf-8")
    if headers:
        response.headers.update(headers)
    response.vary.add("Accept")
    if len(body) >= GZIP_MINIMUM and "gzip" in request.accept_encodings:
        response.set_data(gzip.compress(body, compresslevel=5))
        response.headers["Content-Encoding"] = "gzip"
        response.vary.add("Accept-Encoding")
    return response


def render(type_name, data, status=200, headers=None):
    """Write a response object in the negotiated format."""
    fmt = response_format()
    if fmt == "xml":
        body = codec.encode_xml(type_name, data, response_namespace())
    else:
        body = codec.encode_json(type_name, data)
    return _respond(body, fmt, status, headers)


def render_error(error, type_name=None):
    """Write a whole-request GrooveError as an answer of the endpoint's response type holding only Error."""
    type_name = type_name or g.get("groove_response_type") or "ContentResponse"
    try:
        fmt = response_format()
    except errors.GrooveError:
        fmt = "json"
    error_object = errors.error_object(error.code, error.message, style=settings()["ERROR_CODE_STYLE"])
    companions = ERROR_COMPANIONS.get(type_name)
    if companions:  # members the response type writes even in an error answer
        data = {**companions, "Error": error_object}
        if fmt == "xml":
            body = codec.encode_xml(type_name, data, response_namespace())
        else:
            body = codec.encode_json(type_name, data)
    else:
        body = codec.encode_error_only(type_name, error_object, fmt, response_namespace())
    g.groove_error_code = error.code
    try:
        return _respond(body, fmt, error.status, error.headers)
    except errors.GrooveError as jsonp_error:  # an invalid jsonp name: answer that, unwrapped
        return render_error(jsonp_error, type_name)


def item_error(code, message=None):
    """The Error member of one failed item, in the deployment's code spelling."""
    return errors.error_object(code, message, style=settings()["ERROR_CODE_STYLE"])


def render_batch(type_name, member, result, *, failed):
    """Write a batch answer: ``result`` under ``member``, plus the top-level COLLECTION-SOME-OPERATIONS-FAILED
    Error when any item failed (still HTTP 200: partial failure is not an error of the request)."""
    response = {member: result}
    if failed:
        response["Error"] = errors.error_object("COLLECTION_SOME_OPERATIONS_FAILED", style=settings()["ERROR_CODE_STYLE"])
    return render(type_name, response)


# ---------------------------------------------------------------------------------------------------------
# Requests


def read_body(type_name):
    """Read and parse the request body as ``type_name``; raise GrooveError with the documented status."""
    mimetype = request.mimetype.lower()
    if mimetype in JSON_TYPES or mimetype.endswith("+json"):
        fmt = "json"
    elif mimetype in XML_TYPES or mimetype.endswith("+xml"):
        fmt = "xml"
    elif not mimetype:
        fmt = None  # no Content-Type: decided by the first byte below
    else:
        raise errors.GrooveError(
            "INVALID_INPUT_PARAMETER",
            f"Content-Type {mimetype} is not supported: send application/json or application/xml",
            status=415,
        )
    g.groove_body_read = True
    limit = settings()["MAX_CONTENT_LENGTH"]
    try:
        body = request.get_data(cache=False)
        # A chunked body (no Content-Length) is cut at the limit by werkzeug without an error: one more
        # read tells a body of exactly the limit from a longer one (that read raises RequestEntityTooLarge).
        if len(body) >= limit and request.content_length is None and request.environ["wsgi.input"].read(1):
            raise RequestEntityTooLarge()
    except RequestEntityTooLarge:
        raise errors.GrooveError(
            "INVALID_INPUT_PARAMETER",
            f"The request body is larger than {limit} bytes",
            status=413,
        ) from None
    stripped = body.lstrip(b" \t\r\n\xef\xbb\xbf")
    if not stripped:
        raise errors.GrooveError("MISSING_INPUT_PARAMETER", f"The request body must hold a {type_name}")
    if fmt is None:
        fmt = "xml" if stripped[:1] == b"<" or body[:2] in (b"\xff\xfe", b"\xfe\xff", b"\x00<") else "json"
    g.groove_body_format = fmt
    try:
        if fmt == "xml":
            document, namespace = codec.read_xml(body, type_name)
            g.groove_namespace = namespace
            return document
        return codec.read_json(body, type_name)
    except codec.BodyError as error:
        if fmt == "xml":  # answer in the request's namespace when its root start tag names one
            g.groove_namespace = codec.root_namespace(body)
        raise errors.GrooveError("INVALID_INPUT_PARAMETER", error.message) from None


def authenticate():
    """The caller of a Bearer token; 401 INVALID_AUTHORIZATION_HEADER otherwise (seed 003); 429
    TOO_MANY_REQUESTS with Retry-After when the credential is over its rate limit (RATE_LIMIT_PER_MINUTE).

    A revoked token also carries ``WWW-Authenticate: Bearer error='token_expired'``, the one value that
    makes the 2013-era portable client refresh its token (contract 6).
    """
    token = auth.bearer_token(request.headers.get("Authorization"))
    try:
        caller = auth.authenticate(store(), token)
    except auth.AuthenticationFailure as failure:
        challenge = "Bearer error='token_expired'" if failure.revoked else "Bearer"
        raise errors.GrooveError(
            "INVALID_AUTHORIZATION_HEADER", errors.MESSAGE_USER_AUTHENTICATION, headers={"WWW-Authenticate": challenge}
        ) from None
    g.caller = caller
    limiter = current_app.extensions.get("groove_compat.rate_limiter")
    if limiter is not None:
        wait = limiter.take(caller.credential_id)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise errors.GrooveError(
                "TOO_MANY_REQUESTS",
                f"This credential may make {settings()['RATE_LIMIT_PER_MINUTE']} requests per minute: retry in {seconds} s",
                headers={"Retry-After": str(seconds)},
            )
    return caller


def require_music_namespace(namespace):
    if namespace != "music":
        raise errors.GrooveError(
            "INVALID_INPUT_PARAMETER", f"Namespace '{namespace[:64]}' is not supported: use 'music'", status=404
        )


def groove_endpoint(response_type):
    """Mark a view with its response type, and answer its GrooveErrors in that type."""

    def decorator(view):
        view.groove_response_type = response_type

        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            g.groove_response_type = response_type
            try:
                check_common_parameters()
                return view(*args, **kwargs)
            except errors.GrooveError as error:
                return render_error(error)

        wrapper.groove_response_type = response_type
        return wrapper

    return decorator


def render_http_exception(exception):
    """404, 405 and other routing answers under ``/1/``: a Groove body, never an HTML page."""
    # The response type of the endpoint the path names, when it names one: a request the WSGI server
    # refused before any view ran (431, 414, 400) still gets its endpoint's root and companion members
    # (the profile's IsSubscriptionAvailableForPurchase), not a ContentResponse.
    rule = request.url_rule
    view = current_app.view_functions.get(rule.endpoint) if rule is not None else None
    type_name = getattr(view, "groove_response_type", None) or "ContentResponse"
    if isinstance(exception, MethodNotAllowed) and exception.valid_methods:
        try:
            adapter = current_app.url_map.bind_to_environ(request.environ)
            rule, _ = adapter.match(method=exception.valid_methods[0], return_rule=True)
            view = current_app.view_functions.get(rule.endpoint)
            type_name = getattr(view, "groove_response_type", type_name)
        except HTTPException:
            pass
        error = errors.GrooveError(
            "COLLECTION_INVALID_OPERATION",
            f"Method {request.method} is not allowed here: use {', '.join(exception.valid_methods)}",
            status=405,
            headers={"Allow": ", ".join(exception.valid_methods)},
        )
    elif isinstance(exception, NotFound):
        error = errors.GrooveError("COLLECTION_INVALID_OPERATION", "No such Groove endpoint", status=404)
    elif isinstance(exception, RequestEntityTooLarge):
        error = errors.GrooveError(
            "INVALID_INPUT_PARAMETER",
            f"The request body is larger than {settings()['MAX_CONTENT_LENGTH']} bytes",
            status=413,
        )
    elif (exception.code or 500) >= 500:
        return render_internal_error(g.get("request_id", "-"))
    else:
        error = errors.GrooveError("INVALID_INPUT_PARAMETER", exception.description, status=exception.code)
    return render_error(error, type_name)


def render_internal_error(request_id):
    error = errors.GrooveError("INTERNAL_SERVER_ERROR", f"Request {request_id} failed; it changed nothing")
    return render_error(error)


# ---------------------------------------------------------------------------------------------------------
# Common parameters (contract 7) and CORS

LANGUAGE = re.compile(r"^[A-Za-z]{2}([-_][A-Za-z]{2})?$")
COUNTRY = re.compile(r"^[A-Za-z]{2}$")


def check_common_parameters():
    """Refuse malformed common parameters before the view runs: ``contentType`` (xml or json), ``language``
    (``fr`` or ``fr-FR``), ``country`` (``FR``) and ``jsonp`` (a safe callback name). ``accessToken`` (the
    legacy developer token, contract 6) is accepted and ignored. The format itself is chosen later, when the
    body (whose format counts too) has been read."""
    requested = query_param("contentType")
    if requested is not None and requested.strip().lower() not in ("json", "xml"):
        raise errors.GrooveError("INVALID_INPUT_PARAMETER", "Parameter contentType must be xml or json")
    # jsonp is used when the answer is written, after the view's change is stored: refuse a bad name first.
    _jsonp_callback()
    language = query_param("language")
    if language is not None and not LANGUAGE.match(language):
        raise errors.GrooveError("INVALID_INPUT_PARAMETER", "Parameter language must be a 2-letter language code")
    country = query_param("country")
    if country is not None and not COUNTRY.match(country):
        raise errors.GrooveError("INVALID_INPUT_PARAMETER", "Parameter country must be a 2-letter country code")


# The country's main language, for a Culture asked for by country alone (contract 7: "default = country's main
# language"); the markets Groove served. Others get English.
COUNTRY_LANGUAGES = {
    "AR": "es", "AT": "de", "AU": "en", "BE": "nl", "BR": "pt", "CA": "en", "CH": "de", "CL": "es", "CO": "es",
    "CZ": "cs", "DE": "de", "DK": "da", "ES": "es", "FI": "fi", "FR": "fr", "GB": "en", "HK": "zh", "IE": "en",
    "IN": "en", "IT": "it", "JP": "ja", "KR": "ko", "MX": "es", "NL": "nl", "NO": "nb", "NZ": "en", "PL": "pl",
    "PT": "pt", "RU": "ru", "SE": "sv", "SG": "en", "TR": "tr", "TW": "zh", "US": "en", "ZA": "en",
}


def culture():
    """The Culture of the request (``fr-FR``): from ``language`` and ``country``, else ``en-US``."""
    language = query_param("language")
    country = query_param("country")
    if language and len(language) == 5:
        language, country = language[:2], country or language[3:]
    if not language and not country:
        return "en-US"
    country = (country or "US").upper()
    language = (language or COUNTRY_LANGUAGES.get(country, "en")).lower()
    return f"{language}-{country}"


CORS_ALLOWED_HEADERS = "Authorization, Content-Type, Accept, X-Client-Name, X-Client-Version"
CORS_EXPOSED_HEADERS = "X-Request-Id, WWW-Authenticate"
CORS_MAX_AGE = "86400"


def add_cors_headers(response):
    """CORS for ``/1/`` (contract 7). Tokens are bearer headers, not cookies, so credentials are never
    allowed and ``*`` is a safe default; CORS_ALLOWED_ORIGINS may list origins instead (or be empty)."""
    if not request.path.startswith("/1/"):
        return response
    origin = request.headers.get("Origin")
    allowed = settings()["CORS_ALLOWED_ORIGINS"].replace(",", " ").split()
    if origin is None or not allowed:
        return response
    if "*" in allowed:
        response.headers["Access-Control-Allow-Origin"] = "*"
    elif origin in allowed:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.vary.add("Origin")
    else:
        return response
    if request.method == "OPTIONS" and request.headers.get("Access-Control-Request-Method"):
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = CORS_ALLOWED_HEADERS
        response.headers["Access-Control-Max-Age"] = CORS_MAX_AGE
    else:
        response.headers["Access-Control-Expose-Headers"] = CORS_EXPOSED_HEADERS
    return response
