"""Fixtures: an app on a fresh SQLite file with the sample catalog and two users, its client and CLI runner,
and a live server process (gunicorn, real HTTP) for end-to-end tests."""

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
import requests
from click.testing import CliRunner

from groove_compat import ids
from groove_compat.app import create_app, get_store
from groove_compat.catalog import import_file
from groove_compat.cli import main
from groove_compat.store import schema

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE_CATALOG = os.path.join(ROOT, "examples", "sample_catalog.csv")

# Tracks of the sample catalog, and ids that are in no catalog.
TRACK_A = "music.A83EB907-0100-11DB-89CA-0019B92A3933"
TRACK_B = "music.873FB507-0100-11DB-89CA-0019B92A3933"
TRACK_C = "music.9941BE07-0100-11DB-89CA-0019B92A3933"
UNKNOWN_TRACK = "music.9BB2C5C5-455C-4C15-827C-F9BFD759A458"


@dataclass
class SeededUser:
    name: str
    user_id: int
    public_id: str
    token: str

    @property
    def headers(self):
        return {"Authorization": f"Bearer {self.token}"}


def group_latest_rows(store):
    """The rows of the group_latest table (latest entry position of each album and artist), sorted."""
    return store.connection.execute(
        "SELECT collection_id, kind, album_key, artist_key, position FROM group_latest ORDER BY 1, 2, 3, 4"
    ).fetchall()


def recounted_group_rows(store):
    """The group_latest rows recounted from the entries, as the table must hold them."""
    return store.connection.execute(
        f"SELECT * FROM ({schema.GROUP_LATEST_ROWS.format(where='1')}) ORDER BY 1, 2, 3, 4"
    ).fetchall()


def make_user(store, name, organization_id=1):
    codec = ids.IdCodec(store.id_key())
    user_id = store.create_user(name=name, organization_id=organization_id)
    token = ids.new_token()
    store.add_credential(user_id=user_id, token_hash=ids.token_hash(token))
    return SeededUser(name, user_id, codec.public_id("user", user_id), token)


def seeded_database(path):
    """Create a database at ``path`` with the sample catalog and users alice and bob."""
    app = create_app({"DATABASE": str(path)})
    store = get_store(app)
    store.migrate()
    import_file(store, SAMPLE_CATALOG, organization_id=1)
    users = {name: make_user(store, name) for name in ("alice", "bob")}
    store.close()
    return users


@pytest.fixture
def database_path(tmp_path):
    return tmp_path / "groove-compat.sqlite"


@pytest.fixture
def users(database_path):
    return seeded_database(database_path)


@pytest.fixture
def app(database_path, users):
    app = create_app({"DATABASE": str(database_path), "TESTING": True})
    yield app
    get_store(app).close()


@pytest.fixture
def make_client(database_path, users):
    """A client of another app on the same seeded database with other settings: ``make_client(MAX_BATCH_SIZE=99)``."""
    apps = []

    def make(**settings):
        app = create_app({"DATABASE": str(database_path), "TESTING": True, **settings})
        apps.append(app)
        return app.test_client()

    yield make
    for app in apps:
        get_store(app).close()


@pytest.fixture
def store(app):
    return get_store(app)


@pytest.fixture
def codec(store):
    return ids.IdCodec(store.id_key())


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def alice(users):
    return users["alice"]


@pytest.fixture
def bob(users):
    return users["bob"]


@pytest.fixture
def runner(database_path):
    """Invoke the CLI: ``runner.invoke(main, [...])`` against the test database via the environment."""
    return CliRunner(env={"GROOVE_COMPAT_DATABASE": str(database_path)})


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def run_in_threads(function, count):
    """Run ``function`` in ``count`` threads at once and wait for every one to end."""
    threads = [threading.Thread(target=function) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


@contextlib.contextmanager
def serve_in_thread(app):
    """Serve a fake WSGI ``app`` on 127.0.0.1 in a thread; yields its base URL, stops it afterwards."""
    server = make_server("127.0.0.1", 0, app, server_class=WSGIServer, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_log(process):
    """What a server started by ``start_server`` has written to its log file so far."""
    with open(process.log_path, encoding="utf-8", errors="replace") as log:
        return log.read()


def wait_for_http(url, process, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}: {server_log(process)[-2000:]}")
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:  # not up yet, or up but slow to answer its first request
            time.sleep(0.05)
    raise RuntimeError(f"server did not answer {url} within {timeout}s")


@dataclass
class LiveServer:
    url: str
    database: str
    users: dict
    process: subprocess.Popen


def start_server(database, *, workers=2, extra_env=None, args=()):
    port = free_port()
    env = dict(os.environ, **(extra_env or {}))
    # The log goes to a file, not a pipe: an unread pipe fills up and blocks a busy server.
    log_path = f"{database}.{port}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "groove_compat.cli", "serve", "--bind", f"127.0.0.1:{port}", "--workers",
             str(workers), "--db", str(database), *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    process.log_path = log_path
    url = f"http://127.0.0.1:{port}"
    wait_for_http(url + "/healthz", process)
    return url, process


def stop_server(process):
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """A real server process (gunicorn, 2 workers) on a fresh seeded database, shared by one test module."""
    database = tmp_path_factory.mktemp("live") / "groove-compat.sqlite"
    users = seeded_database(database)
    url, process = start_server(database)
    yield LiveServer(url, str(database), users, process)
    stop_server(process)


__all__ = ["main"]
