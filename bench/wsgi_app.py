"""The groove-compat application as a module-level WSGI object, for servers other than gunicorn (granian).

The database and every other setting come from the environment (``GROOVE_COMPAT_DATABASE`` ...), as for
``groove-compat serve``.
"""

from groove_compat.app import create_app

app = create_app()
