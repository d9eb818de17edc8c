"""The production WSGI server: gunicorn, embedded, so ``groove-compat serve`` needs no other command.

gunicorn's own access log is off: it would print query strings, which may hold a legacy accessToken.
The application writes one JSON access line per request instead (request id, route, status, caller).
"""

from gunicorn.app.base import BaseApplication


class GunicornServer(BaseApplication):
    def __init__(self, application, options):
        self.application = application
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key.lower(), value)

    def load(self):
        return self.application


def serve(application, *, bind, workers, threads=1, timeout=30, graceful_timeout=30, on_starting=None):
    """Run ``application`` under gunicorn until stopped (SIGTERM finishes the requests in flight)."""
    options = {
        "bind": bind,
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread" if threads > 1 else "sync",
        "timeout": timeout,
        "graceful_timeout": graceful_timeout,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "info",
        # Bounded request lines and headers: a 10 KB Authorization header is still accepted and answered 401.
        "limit_request_line": 8190,
        "limit_request_fields": 100,
        "limit_request_field_size": 16384,
        "preload_app": True,
    }
    if on_starting is not None:
        options["when_ready"] = on_starting
    GunicornServer(application, options).run()
