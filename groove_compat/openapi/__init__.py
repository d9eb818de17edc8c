"""The published API description: ``GET /openapi.json`` (OpenAPI 3.1) and ``GET /docs`` (a reference page).

Both are generated from the code: every view declares its operation next to itself with ``@documented``
(see ``declarations``), and the generator walks ``app.url_map``. A route without a declaration is reported
by ``undocumented_routes`` (a test keeps it empty). Dialects describe their own conventions by registering
a ``Dialect`` subclass with ``register_dialect`` from their ``init_app``.

The document and the page are built on the first request for them and then served from memory: the API's
own requests never pay for them.
"""

import hashlib
import json
import threading

from flask import Blueprint, current_app, request
from marshmallow import Schema, fields

from .declarations import Documentation, DocumentationError, Example, Response, documentation_of, documented
from .generator import Dialect, build_document, routes, undocumented_routes

__all__ = [
    "Dialect",
    "Documentation",
    "DocumentationError",
    "Example",
    "Response",
    "document",
    "document_text",
    "documentation_of",
    "documented",
    "init_app",
    "register_dialect",
    "routes",
    "undocumented_routes",
]

blueprint = Blueprint("openapi", __name__)

_EXTENSION = "groove_compat.openapi"


def register_dialect(app, dialect):
    """Make ``dialect`` document the routes under ``dialect.prefix`` (replaces a dialect of the same name)."""
    app.extensions.setdefault("groove_compat.openapi.dialects", {})[dialect.name] = dialect


def document_text(document_dict):
    """The one serialisation of the document: served, printed by the CLI and checked in."""
    return json.dumps(document_dict, indent=2, ensure_ascii=False) + "\n"


class _Published:
    """The document, its text and the page of one application, built once on first use."""

    def __init__(self):
        self._lock = threading.Lock()
        self._built = None

    def get(self, app):
        built = self._built
        if built is None:
            with self._lock:
                if self._built is None:
                    from .page import render_page

                    document_dict = build_document(app)
                    text = document_text(document_dict).encode("utf-8")
                    page, style_hash = render_page(document_dict)
                    self._built = {
                        "document": document_dict,
                        "text": text,
                        "etag": hashlib.sha256(text).hexdigest()[:32],
                        "page": page.encode("utf-8"),
                        "page_etag": hashlib.sha256(page.encode("utf-8")).hexdigest()[:32],
                        "style_hash": style_hash,
                    }
                built = self._built
        return built


def document(app):
    """The OpenAPI document of ``app`` (a dict; built once, then cached)."""
    return app.extensions[_EXTENSION].get(app)["document"]


def init_app(app):
    app.extensions[_EXTENSION] = _Published()
    app.register_blueprint(blueprint)


class OpenAPIDocumentSchema(Schema):
    """An OpenAPI 3.1 document (https://spec.openapis.org/oas/v3.1.0)."""

    openapi = fields.String(required=True, metadata={"description": "The OpenAPI version, 3.1.0."})
    info = fields.Dict(required=True)
    paths = fields.Dict(required=True)
    components = fields.Dict()
    tags = fields.List(fields.Dict())


@blueprint.route("/openapi.json")
@documented(
    "This OpenAPI document",
    responses={200: OpenAPIDocumentSchema},
    security=[],
)
def openapi_document():
    """The OpenAPI 3.1 document of both dialects, generated from the running code. It is the same text
    that `groove-compat openapi` prints and that `schemas/openapi.json` holds for the default settings."""
    built = current_app.extensions[_EXTENSION].get(current_app)
    response = current_app.response_class(built["text"], mimetype="application/json")
    response.set_etag(built["etag"])
    # A published contract: any origin may read it (API explorers hosted elsewhere, for instance).
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.cache_control.no_cache = True
    return response.make_conditional(request)


@blueprint.route("/docs")
@documented(
    "API reference page",
    responses={
        200: Response(body={"type": "string"}, description="A self-contained HTML page.", media_types=("text/html",))
    },
    security=[],
)
def reference_page():
    """A readable reference of every route, rendered on the server from the OpenAPI document. The page is
    self-contained (inline style, no script) and fetches nothing: its Content-Security-Policy forbids it."""
    built = current_app.extensions[_EXTENSION].get(current_app)
    response = current_app.response_class(built["page"], mimetype="text/html")
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; style-src '{built['style_hash']}'; img-src 'self' data:; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.set_etag(built["page_etag"])
    response.cache_control.no_cache = True
    return response.make_conditional(request)
