"""What a view says about itself: ``@documented(...)``, read by the generator from ``app.view_functions``.

The declaration lives next to the view, so a new route is documented where it is written and no central list
has to follow it. Bodies are named the way the view's dialect understands them:

- the Groove dialect: a DataContract name (``"TrackActionResponse"``); the request schema is the marshmallow
  ``<Name>Schema`` of ``groove/schemas.py``, response objects are generated from ``groove/contracts.py``;
- any dialect: a marshmallow schema (class or instance), or a JSON Schema dict.

An error status lists error codes instead of a body (the dialect knows the error body), either as a list or as
``{code: "when it happens"}``.
"""

from dataclasses import dataclass, field
from http import HTTPStatus

import marshmallow


class DocumentationError(ValueError):
    """A declaration or a route cannot be turned into the OpenAPI document; the message says what to fix."""


@dataclass(frozen=True)
class Example:
    """A named example; ``value`` is data the dialect encodes (Groove: the response model, as the codec takes it)."""

    name: str
    value: object
    summary: str | None = None


@dataclass(frozen=True)
class Response:
    """One status of an operation: a body, error codes (``{code: when}``) or both, and its description."""

    body: object = None
    errors: dict = field(default_factory=dict)
    description: str | None = None
    headers: dict = field(default_factory=dict)
    media_types: tuple = ()  # instead of the dialect's media types


@dataclass(frozen=True)
class Documentation:
    """The normalised declaration of one view (every HTTP method the rule serves)."""

    summary: str
    description: str | None
    request: object
    responses: dict  # status (int) -> Response
    parameters: tuple
    item_errors: dict  # code -> when: errors carried by items of a 200 answer (Groove batches)
    examples: dict  # "request" or status -> tuple of Example
    security: tuple | None  # scheme names; None: the dialect's default; (): no authentication
    deprecated: bool


def _error_codes(value, where):
    if isinstance(value, dict):
        codes = dict(value)
    elif isinstance(value, (list, tuple)):
        codes = {code: None for code in value}
    else:
        raise DocumentationError(f"{where}: error codes must be a list or a {{code: when}} dict, not {value!r}")
    for code in codes:
        if not isinstance(code, str) or not code:
            raise DocumentationError(f"{where}: error code {code!r} is not a string")
    return codes


def _is_body(value):
    return (
        isinstance(value, (str, dict, marshmallow.Schema))
        or (isinstance(value, type) and issubclass(value, marshmallow.Schema))
    )


def _response(status, value):
    where = f"response {status}"
    if isinstance(value, Response):
        return Response(
            value.body,
            _error_codes(value.errors, where),
            value.description,
            dict(value.headers),
            tuple(value.media_types),
        )
    if isinstance(value, (list, tuple)):
        return Response(errors=_error_codes(value, where))
    if isinstance(value, dict) and value and all(isinstance(key, str) and key.isupper() for key in value):
        return Response(errors=_error_codes(value, where))  # {CODE: when}
    if value is None or _is_body(value):
        return Response(body=value)
    raise DocumentationError(f"{where}: {value!r} is neither a body, error codes nor a Response")


def _examples(value):
    if isinstance(value, Example):
        return (value,)
    if isinstance(value, (list, tuple)) and all(isinstance(item, Example) for item in value):
        return tuple(value)
    return (Example("example", value),)


def documented(
    summary,
    *,
    responses,
    description=None,
    request=None,
    parameters=(),
    item_errors=(),
    examples=None,
    security=None,
    deprecated=False,
):
    """Declare a view's OpenAPI operation. Returns the view unchanged, with ``openapi_documentation`` set.

    - ``summary``: one line; ``description`` defaults to the view's docstring.
    - ``request``: the request body (see the module docstring), or None.
    - ``responses``: ``{status: body | [codes] | {code: when} | Response(...)}``.
    - ``parameters``: OpenAPI parameter objects, or ``{"in": "query", "schema": MarshmallowSchema}``; path
      parameters are read from the rule and only need declaring for a description or a type.
    - ``item_errors``: codes that items of a 200 batch answer may carry (list or ``{code: when}``).
    - ``examples``: ``{"request" | status: data | Example | [Example, ...]}``, encoded by the dialect.
    - ``security``: scheme names (``["bearer"]``, ``["apiKey"]``), ``[]`` for none; default: the dialect's.
      ``None`` among the names makes credentials optional (``["bearer", None]``: a token, or none at all).
    """
    if not isinstance(summary, str) or not summary.strip():
        raise DocumentationError("documented() needs a one-line summary")
    if not isinstance(responses, dict) or not responses:
        raise DocumentationError("documented() needs responses: {status: ...}")
    normalised = {}
    for status, value in responses.items():
        if not isinstance(status, int) or status not in HTTPStatus._value2member_map_:
            raise DocumentationError(f"response status {status!r} is not an HTTP status code")
        normalised[status] = _response(status, value)
    example_map = {}
    for key, value in (examples or {}).items():
        if key != "request" and key not in normalised:
            raise DocumentationError(f"example for {key!r}: declare that response first")
        example_map[key] = _examples(value)
    for parameter in parameters:
        if not isinstance(parameter, dict) or "in" not in parameter:
            raise DocumentationError(f"parameter {parameter!r} must be an OpenAPI parameter object")

    def decorator(view):
        view.openapi_documentation = Documentation(
            summary=summary.strip(),
            description=description if description is not None else _docstring(view),
            request=request,
            responses=normalised,
            parameters=tuple(parameters),
            item_errors=_error_codes(item_errors, "item_errors"),
            examples=example_map,
            security=None if security is None else tuple(security),
            deprecated=deprecated,
        )
        return view

    return decorator


def _docstring(view):
    text = (view.__doc__ or "").strip()
    if not text:
        return None
    lines = text.splitlines()
    # Docstring continuation lines are indented; the document wants them flush.
    return "\n".join([lines[0]] + [line.strip() for line in lines[1:]])


def documentation_of(view):
    """The declaration of a registered view function, looking through ``functools.wraps`` wrappers."""
    seen = set()
    while view is not None and id(view) not in seen:
        seen.add(id(view))
        documentation = getattr(view, "openapi_documentation", None)
        if documentation is not None:
            return documentation
        view = getattr(view, "__wrapped__", None)
    return None
