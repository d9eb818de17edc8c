"""Application factory: settings, the store, both dialects, error handlers and the access log."""

import json
import logging
import os
import secrets
import sys
import time

from flask import Flask, g, request
from marshmallow import Schema, fields, validate
from werkzeug.exceptions import HTTPException

from . import config, groove, ids, openapi, v1
from .openapi import Response, documented
from .store import Store, largest_batch
from .store.ratelimit import RateLimiter

access_log = logging.getLogger("groove_compat.access")
error_log = logging.getLogger("groove_compat.errors")


def create_app(test_config=None):
    """Create the WSGI application. ``test_config`` overrides settings (tests, the CLI)."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.update(config.settings_from_environment())
    if test_config:
        app.config.update(test_config)
    if not app.config["DATABASE"]:
        app.config["DATABASE"] = os.path.join(app.instance_path, "groove-compat.sqlite")
    config.validate(app.config)
    largest = largest_batch()
    if app.config["MAX_BATCH_SIZE"] > largest:
        # Refused here, not per request: a batch past SQLite's limit on variables would fail with a 500.
        raise config.SettingError(f"MAX_BATCH_SIZE must be at most {largest} with this SQLite (an SQL variable per id)")
    app.json.sort_keys = False

    app.extensions["groove_compat.store"] = Store(
        app.config["DATABASE"],
        synchronous=app.config["SQLITE_SYNCHRONOUS"],
        busy_timeout=app.config["SQLITE_BUSY_TIMEOUT"],
        cache_kib=app.config["SQLITE_CACHE_KIB"],
    )
    app.extensions["groove_compat.rate_limiter"] = (
        RateLimiter(
            app.config["RATE_LIMIT_DATABASE"] or app.config["DATABASE"] + ".buckets",
            per_minute=app.config["RATE_LIMIT_PER_MINUTE"],
            burst=app.config["RATE_LIMIT_BURST"],
        )
        if app.config["RATE_LIMIT_PER_MINUTE"] > 0
        else None
    )
    app.extensions["groove_compat.error_renderers"] = []
    _configure_logging(app)
    _register_request_hooks(app)
    openapi.init_app(app)
    groove.init_app(app)
    v1.init_app(app)
    app.add_url_rule("/healthz", "healthz", healthz)
    return app


class _LazyIdCodec:
    """The install's IdCodec, keyed from the database on first use (after the database exists)."""

    def __init__(self, store):
        self._store = store
        self._codec = None

    def __getattr__(self, name):
        if self._codec is None:
            self._codec = ids.IdCodec(self._store.id_key())
        return getattr(self._codec, name)


def get_store(app):
    return app.extensions["groove_compat.store"]


def _configure_logging(app):
    logger = logging.getLogger("groove_compat")
    logger.setLevel(app.config["LOG_LEVEL"].upper())
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
    app.extensions["groove_compat.ids"] = _LazyIdCodec(get_store(app))


def _renderers_for(app, path):
    for prefix, render_http, render_internal in app.extensions["groove_compat.error_renderers"]:
        if path.startswith(prefix):
            return render_http, render_internal
    return None, None


def _register_request_hooks(app):
    @app.before_request
    def start_request():
        g.request_id = "req_" + secrets.token_hex(8)
        g.started = time.perf_counter()

    @app.after_request
    def finish_request(response):
        request_id = g.get("request_id", "-")
        response.headers["X-Request-Id"] = request_id
        caller = g.get("caller")
        record = {
            "request_id": request_id,
            "method": request.method,
            # The path only: the query may hold a legacy accessToken, which is never logged.
            "route": request.url_rule.rule if request.url_rule is not None else None,
            "path": request.path[:200],
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 2),
            "caller": caller.user_id if caller is not None else None,
        }
        items = g.get("groove_items")
        if items is not None:
            record["items"], record["failed_items"] = items
        error_code = g.get("groove_error_code") or g.get("error_code")
        if error_code is not None:
            record["error"] = error_code
        access_log.info(json.dumps(record, separators=(",", ":")))
        return response

    @app.errorhandler(HTTPException)
    def handle_http_exception(exception):
        render_http, _ = _renderers_for(app, request.path)
        if render_http is None:
            body = {"error": {"status": exception.code, "message": exception.description}}
            # The exception's own headers (a 405's Allow, which HTTP requires) go with the JSON body.
            headers = [(name, value) for name, value in exception.get_headers() if name.lower() != "content-type"]
            return body, exception.code, headers
        return render_http(exception)

    @app.errorhandler(Exception)
    def handle_exception(exception):
        request_id = g.get("request_id", "-")
        error_log.exception("request %s failed: %s %s", request_id, request.method, request.path)
        _, render_internal = _renderers_for(app, request.path)
        if render_internal is None:
            return {"error": {"status": 500, "message": "Internal error", "trace_id": request_id}}, 500
        return render_internal(request_id)


def transport_error_response(app, *, method, path, status, message):
    """The raw HTTP answer (head bytes, body bytes) to a request the WSGI server refused before the
    application ran (oversized headers, a request that took too long to arrive, malformed HTTP).

    It is rendered by the dialect that owns ``path`` (the Groove dialect when the path is unknown), so a
    legacy client still gets a body of its endpoint's response type; the access log records it as usual.
    """
    exception = HTTPException(description=message)
    exception.code = status
    with app.test_request_context(path or "/1/", method=method or "GET"):
        app.preprocess_request()
        response = app.make_response(app.handle_user_exception(exception))
        response = app.process_response(response)
        body = response.get_data()
        reason = response.status.split(" ", 1)[1] if " " in response.status else ""
        head = [f"HTTP/1.1 {status} {reason}".rstrip()]
        for name, value in response.headers.items():
            if name.lower() not in ("content-length", "connection"):
                head.append(f"{name}: {value}")
        head += [f"Content-Length: {len(body)}", "Connection: close", "", ""]
    return "\r\n".join(head).encode("latin-1"), body



class HealthSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(["ok", "unavailable"]))
    database = fields.String(
        required=True, metadata={"description": "`ok`, or why the database cannot be used (not initialised, ...)."}
    )


@documented(
    "Process and database health",
    responses={200: HealthSchema, 503: Response(body=HealthSchema, description="The database cannot be used.")},
    security=[],
)
def healthz():
    """Process and database health: 200 when the database answers at the current schema, else 503."""
    from flask import current_app

    store = get_store(current_app)
    try:
        store.require_current_schema()
        store.connection.execute("SELECT 1").fetchone()
    except Exception as error:  # the point of a health check is to report any failure
        return {"status": "unavailable", "database": str(error)}, 503
    return {"status": "ok", "database": "ok"}
