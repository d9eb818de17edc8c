"""What every dialect reads from the running application: its settings, its store and its id codec."""

from flask import current_app


def settings():
    return current_app.config


def store():
    return current_app.extensions["groove_compat.store"]


def id_codec():
    return current_app.extensions["groove_compat.ids"]
