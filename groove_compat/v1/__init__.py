"""The v1 dialect: ``/v1/music/{organization_id}/collections/...``, an organization-scoped JSON API over the
same library as the Groove dialect (seed 000). See docs/v1-api.md for the endpoints and their decisions."""

from . import web
from .routes import blueprint


def init_app(app):
    app.register_blueprint(blueprint)
    app.extensions["groove_compat.error_renderers"].append(
        ("/v1/", web.render_http_exception, web.render_internal_error)
    )
