"""The Groove dialect: ``/1/content/...`` and ``/1/user/...`` as legacy Groove clients call them."""

from .. import openapi
from . import web
from .apidoc import GrooveDialect
from .routes import blueprint

# View modules add their routes to the blueprint when imported.
from . import browsing, collection_edits, playlist_edits, profile  # noqa: E402,F401  isort:skip


def init_app(app):
    app.register_blueprint(blueprint)
    openapi.register_dialect(app, GrooveDialect())
    app.wsgi_app = web.CaseInsensitivePaths(app.wsgi_app)
    app.after_request(web.add_cors_headers)
    app.extensions["groove_compat.error_renderers"].append(
        ("/1/", web.render_http_exception, web.render_internal_error)
    )
