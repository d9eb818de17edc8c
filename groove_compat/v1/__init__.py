"""The v1 dialect: ``/v1/music/{organization_id}/collections/...``, an organization-scoped JSON API over the
same library as the Groove dialect (seed 000). See docs/v1-api.md for the endpoints and their decisions."""

from .. import openapi
from . import web
from .apidoc import V1Dialect
from .routes import blueprint


def init_app(app):
    app.register_blueprint(blueprint)
    openapi.register_dialect(app, V1Dialect())
    app.extensions["groove_compat.error_renderers"].append(
        ("/v1/", web.render_http_exception, web.render_internal_error)
    )
