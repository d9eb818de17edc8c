"""Support for the reliability suites (hostile input, concurrency, durability, limits, isolation).

- ``ROUTES``: every route the suites attack. Each route that exists is one row; a route added later joins
  every hostile, isolation and load suite by appending its row here (and, for body cases that depend on
  the request object, its rows in the per-type tables of the suites).
- ``ServerProcess``: a real gunicorn server in its own process group (so it can be SIGKILLed whole), its
  log in a file (a pipe nobody reads would block the server once full), its workers' pids and RSS.
- ``LoopbackListener`` and ``FileTrap``: detectors that prove the server opened no connection and read
  no file while it parsed hostile input.
- ``raw_http``: one request over a plain socket, for what ``requests`` refuses to send.
- ``parse_groove_answer``: a body as a Groove client reads it (JSON, or XML in either namespace), checked
  against the published JSON Schemas and XSDs.
"""

import glob
import json
import os
import secrets
import select
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

import requests
from jsonschema import Draft202012Validator
from lxml import etree
from referencing import Registry, Resource

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NS_2013 = "http://schemas.microsoft.com/xboxmusic/2013/10/platform"
NS_2016 = "http://schemas.microsoft.com/groovemusic/2016/09/api"
NS_ARRAYS = "http://schemas.microsoft.com/2003/10/Serialization/Arrays"
NAMESPACE_FOLDERS = {NS_2013: "2013", NS_2016: "2016"}

# Servers under test: no rate limit unless a test asks for one (the suites send thousands of requests
# with one credential on purpose).
UNLIMITED = {"GROOVE_COMPAT_RATE_LIMIT_PER_MINUTE": "0"}


# ---------------------------------------------------------------------------------------------------------
# Routes


@dataclass(frozen=True)
class Route:
    """One route as a client calls it: its request object (None without a body) and its response object.

    ``path`` may hold placeholders filled per caller by ``Route.target(targets)``: ``{organization}``
    (org_), ``{library}`` and ``{playlist}`` (mcoll_), ``{groove_playlist}`` (music.playlist.{guid}),
    ``{short_playlist}`` (music.AQM...), ``{track}`` (mtrack_). ``ok`` is the (status, error code) that
    ``valid_body`` (or no body) gets: a request that parses, authenticates and stores nothing.
    """

    name: str
    method: str
    path: str
    request_type: str | None
    response_type: str
    valid_body: dict | None = None
    ok: tuple = (200, None)
    dialect: str = "groove"

    def __str__(self):
        return self.name

    def target(self, targets):
        return self.path.format(**targets)

    def with_query(self, targets, query):
        path = self.target(targets)
        return path + ("&" if "?" in path else "?") + query


UNKNOWN_TRACK = "music.9BB2C5C5-455C-4C15-827C-F9BFD759A458"
UNKNOWN_PLAYLIST = "music.playlist.9BB2C5C5-455C-4C15-827C-F9BFD759A458"  # no playlist; the GUID of UNKNOWN_TRACK
SOME_FAILED = (200, "COLLECTION_SOME_OPERATIONS_FAILED")
# Servers of the hostile suites hold one playlist per user and allow one: a valid create then stores
# nothing (the quota answer), so every body route has a valid request that leaves the database alone.
ONE_PLAYLIST = {"GROOVE_COMPAT_PLAYLIST_CAPACITY": "1"}
V1 = "/v1/music/{organization}/collections"

ROUTES = [
    Route("groove.add", "POST", "/1/content/music/collection/add", "TrackActionRequest", "TrackActionResponse",
          valid_body={"TrackIds": [UNKNOWN_TRACK]}, ok=SOME_FAILED),
    Route("groove.delete", "POST", "/1/content/music/collection/delete", "TrackActionRequest", "TrackActionResponse",
          valid_body={"TrackIds": [UNKNOWN_TRACK]}, ok=SOME_FAILED),
    Route("groove.browse.tracks", "GET", "/1/content/music/collection/tracks/browse", None, "ContentResponse"),
    Route("groove.browse.playlists", "GET", "/1/content/music/collection/playlists/browse", None, "ContentResponse"),
    Route("groove.playlist.tracks", "GET", "/1/content/{groove_playlist}/collection/playlist/tracks/browse", None,
          "ContentResponse"),
    Route("groove.lookup", "GET", "/1/content/{short_playlist}/lookup?source=collection", None, "ContentResponse"),
    Route("groove.playlists.create", "POST", "/1/content/music/collection/playlists/create", "PlaylistAction",
          "PlaylistActionResponse", valid_body={"Name": "Hostile 9BB2C5C5"}, ok=(400, "COLLECTION_FULL")),
    Route("groove.playlists.update", "POST", "/1/content/music/collection/playlists/update", "PlaylistAction",
          "PlaylistActionResponse", valid_body={"Id": UNKNOWN_PLAYLIST, "Name": "Hostile"},
          ok=(404, "COLLECTION_NO_RESULT")),
    Route("groove.playlists.delete", "POST", "/1/content/music/collection/playlists/delete", "PlaylistAction",
          "PlaylistActionResponse", valid_body={"Id": UNKNOWN_PLAYLIST}, ok=(404, "COLLECTION_NO_RESULT")),
    Route("groove.profile", "GET", "/1/user/music/profile", None, "UserProfileResponse"),
    Route("v1.collections.list", "GET", V1, None, "v1", dialect="v1"),
    Route("v1.collections.create", "POST", V1, "v1.CollectionCreate", "v1", valid_body={"name": "Hostile"},
          ok=(409, "COLLECTION_LIMIT_REACHED"), dialect="v1"),
    Route("v1.collection.get", "GET", V1 + "/{playlist}", None, "v1", dialect="v1"),
    Route("v1.collection.rename", "PATCH", V1 + "/{library}", "v1.CollectionUpdate", "v1",
          valid_body={"name": "Hostile"}, ok=(409, "LIBRARY_IS_PERMANENT"), dialect="v1"),
    Route("v1.collection.delete", "DELETE", V1 + "/{library}", None, "v1", ok=(409, "LIBRARY_IS_PERMANENT"),
          dialect="v1"),
    Route("v1.tracks.list", "GET", V1 + "/{playlist}/tracks", None, "v1", dialect="v1"),
    Route("v1.tracks.add", "POST", V1 + "/{library}/tracks", "v1.TrackAdd", "v1",
          valid_body={"track_id": "{unknown_track}"}, ok=(404, "RESOURCE_NOT_FOUND"), dialect="v1"),
    Route("v1.tracks.remove", "DELETE", V1 + "/{library}/tracks/{unknown_track}", None, "v1",
          ok=(404, "RESOURCE_NOT_FOUND"), dialect="v1"),
    Route("v1.tracks.order", "PUT", V1 + "/{library}/tracks/order", "v1.TrackOrder", "v1",
          valid_body={"track_ids": ["{unknown_track}"]}, ok=(400, "INVALID_REORDER"), dialect="v1"),
    Route("v1.tracks.move", "POST", V1 + "/{library}/tracks/move", "v1.TrackMove", "v1",
          valid_body={"track_id": "{unknown_track}", "before_track_id": None}, ok=(400, "INVALID_REORDER"),
          dialect="v1"),
]
BODY_ROUTES = [route for route in ROUTES if route.request_type is not None]
GROOVE_BODY_ROUTES = [route for route in BODY_ROUTES if route.dialect == "groove"]
V1_BODY_ROUTES = [route for route in BODY_ROUTES if route.dialect == "v1"]


def fill(value, targets):
    """``value`` (a request body) with its ``{placeholder}`` strings replaced from ``targets``."""
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return targets[value[1:-1]]
    if isinstance(value, list):
        return [fill(item, targets) for item in value]
    if isinstance(value, dict):
        return {key: fill(item, targets) for key, item in value.items()}
    return value


def targets_of(database, user, *, playlist_name=None, track=None):
    """The ids of ``user``'s own things (see ``Route``), creating one playlist (and, with ``track``, adding
    that catalog track to the library and the playlist) through the core: direct store work, no HTTP."""
    from groove_compat import auth, ids, library
    from groove_compat.app import create_app, get_store

    app = create_app({"DATABASE": str(database)})
    store = get_store(app)
    try:
        codec = ids.IdCodec(store.id_key())
        caller = auth.authenticate(store, user.token)
        playlist = library.create_playlist(store, caller, name=playlist_name or f"{user.name}'s playlist", quota=100)
        entry = None
        if track is not None:
            entry = library.add_tracks(store, codec, caller, [track], capacity=50_000)[0].entry_id
            library.add_tracks(store, codec, caller, [track], capacity=50_000, collection_id=playlist["id"])
        unknown_track = codec.public_id("track", 10_000_000)
        return {
            "organization": codec.public_id("organization", caller.organization_id),
            "library": codec.public_id("collection", caller.library_id),
            "playlist": codec.public_id("collection", playlist["id"]),
            "groove_playlist": codec.playlist_id(playlist["id"]),
            "short_playlist": codec.playlist_short_id(playlist["id"]),
            "unknown_track": unknown_track,
            "entry": entry,
        }
    finally:
        store.close()


# ---------------------------------------------------------------------------------------------------------
# Servers


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """``groove-compat serve`` as a real process group on 127.0.0.1."""

    def __init__(self, database, *, workers=2, threads=None, env=None, log_path=None, port=None):
        self.database = str(database)
        self.workers = workers
        self.threads = threads
        self.env = dict(UNLIMITED, **(env or {}))
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path or self.database + f".{self.port}.log"
        self.process = None

    def start(self, timeout=30.0):
        environment = dict(os.environ, **self.env)
        # The package of this checkout, whatever is installed.
        environment["PYTHONPATH"] = ROOT + os.pathsep + environment.get("PYTHONPATH", "")
        self._log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "groove_compat.cli", "serve", "--bind", f"127.0.0.1:{self.port}",
                "--workers", str(self.workers), "--db", self.database,
                *(["--threads", str(self.threads)] if self.threads else []),
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=environment,
            cwd=ROOT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}: {self.log_text()[-2000:]}")
            try:
                requests.get(self.url + "/healthz", timeout=1)
                if len(self.worker_pids()) >= self.workers:
                    return self
            except requests.RequestException:  # not up yet, or up but slow to answer its first request
                pass
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"server did not answer within {timeout}s: {self.log_text()[-2000:]}")

    @property
    def pid(self):
        return self.process.pid

    def worker_pids(self):
        return children_of(self.process.pid)

    def rss_kib(self):
        """Resident memory of each worker process, in KiB: {pid: kib}."""
        return {pid: rss_kib(pid) for pid in self.worker_pids()}

    def log_text(self):
        with open(self.log_path, "rb") as handle:
            return handle.read().decode("utf-8", "replace")

    def stop(self, timeout=30.0):
        """SIGTERM (graceful: requests in flight finish), then wait."""
        if self.process is None or self.process.poll() is not None:
            return self._close_log()
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        self._close_log()

    def kill(self):
        """SIGKILL the whole process group: master and workers die at once, mid-write."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()
        # Orphaned workers of the group are gone too; make sure before the next start.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and _group_alive(self.process.pid):
            time.sleep(0.02)
        self._close_log()

    def _close_log(self):
        log = getattr(self, "_log", None)
        if log is not None and not log.closed:
            log.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()


def _group_alive(pgid):
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def children_of(pid):
    """Pids whose parent is ``pid`` (read from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: fields start after the last ')'.
        fields = stat[stat.rindex(b")") + 2:].split()
        if fields[0] != b"Z" and int(fields[1]) == pid:
            found.append(int(entry))
    return sorted(found)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def warm_up(server, round_trip, *, rounds=8, settled_kib=512):
    """Run ``round_trip`` until the workers' RSS moves by less than ``settled_kib`` in a round (at most
    ``rounds`` rounds, at least two); return the RSS then."""
    round_trip()
    previous = server.rss_kib()
    for _ in range(rounds - 1):
        round_trip()
        current = server.rss_kib()
        if current.keys() == previous.keys() and all(abs(current[pid] - previous[pid]) < settled_kib for pid in current):
            return current
        previous = current
    return previous


# Per-worker RSS growth allowed after warm-up (threaded workers: allocator arenas move by a few MB on a
# loaded machine); a leak grows round after round and soon passes it.
MEMORY_GROWTH_KIB = 8192


def assert_memory_steady(server, round_trip, *, label, rounds=3):
    """Warm up until RSS settles, replay ``round_trip`` ``rounds`` times, and assert that no worker grew by
    MEMORY_GROWTH_KIB or more (and that no worker was replaced meanwhile)."""
    before = warm_up(server, round_trip)
    for _ in range(rounds):
        round_trip()
    after = server.rss_kib()
    assert before.keys() == after.keys(), "a worker was replaced during the run"
    growth = {pid: after[pid] - before[pid] for pid in before}
    print(f"figures: {label} rounds={rounds} rss_before_kib={before} growth_kib={growth}")
    assert max(growth.values()) < MEMORY_GROWTH_KIB, f"RSS growth per worker (KiB): {growth}, before: {before}"


def snapshot(database):
    """Every row of the mutable tables (as the store's snapshot()), read over a separate connection."""
    connection = sqlite3.connect(database, timeout=30)
    try:
        return {
            table: connection.execute(f"SELECT * FROM [{table}] ORDER BY 1, 2").fetchall()
            for table in ("organizations", "users", "credentials", "collections", "entries")
        }
    finally:
        connection.close()


# ---------------------------------------------------------------------------------------------------------
# Detectors


class LoopbackListener:
    """A TCP listener on 127.0.0.1 that counts every connection made to it (and answers nothing)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            try:
                client, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            client.close()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        self._thread.join()
        self.sock.close()


class FileTrap:
    """Files a hostile document points at, made so that reading them is detectable.

    ``fifo`` is a named pipe: opening it for reading blocks until a writer comes, and a writer can open it
    (non-blocking) only while a reader is there, so the watcher counts every open. ``secret_file`` is a
    plain file whose random content would show up in any answer that leaked it.
    """

    def __init__(self, folder):
        self.secret = "CANARY-" + secrets.token_hex(12)
        self.secret_file = os.path.join(folder, "secret.txt")
        with open(self.secret_file, "w") as handle:
            handle.write(self.secret)
        self.fifo = os.path.join(folder, "trap.fifo")
        os.mkfifo(self.fifo)
        self.opens = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            try:
                descriptor = os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # ENXIO: nobody has it open for reading
                time.sleep(0.002)
                continue
            self.opens += 1
            try:
                os.write(descriptor, self.secret.encode())
            except OSError:
                pass
            os.close(descriptor)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        self._thread.join()


# ---------------------------------------------------------------------------------------------------------
# Raw HTTP


@dataclass
class RawResponse:
    status: int | None
    headers: dict = field(default_factory=dict)
    body: bytes = b""
    elapsed: float = 0.0

    def header(self, name):
        return self.headers.get(name.lower())


def raw_http(url, data, *, timeout=5.0, chunks=None, pause=0.0):
    """Send ``data`` (or ``chunks`` with ``pause`` seconds between them) and read one answer."""
    host, port = url.split("//", 1)[1].split(":")
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        try:
            for index, chunk in enumerate(chunks if chunks is not None else [data]):
                # Between chunks, stop sending as soon as the server has answered (as a client would).
                if index and pause and select.select([sock], [], [], pause)[0]:
                    break
                sock.sendall(chunk)
        except OSError:
            pass  # the server may answer and close before everything was sent
        response = read_raw_answer(sock)
    response.elapsed = time.monotonic() - started
    return response


def read_raw_answer(sock):
    """Read one answer from an open connection (RawResponse(None) when none came whole)."""
    received = b""
    try:
        while True:
            part = sock.recv(65536)
            if not part:
                break
            received += part
            response = _parse_raw(received)
            if response is not None:
                return response
    except OSError:
        pass
    return _parse_raw(received, complete=True) or RawResponse(None)


def _parse_raw(received, complete=False):
    head, separator, body = received.partition(b"\r\n\r\n")
    if not separator:
        return None
    if head.startswith(b"HTTP/1.1 1"):  # an interim answer (100 Continue): the real one follows
        return _parse_raw(body, complete)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = headers.get("content-length")
    if length is not None:
        if len(body) < int(length):
            return None if not complete else RawResponse(status, headers, body)
        return RawResponse(status, headers, body[: int(length)])
    return RawResponse(status, headers, body) if complete else None


# ---------------------------------------------------------------------------------------------------------
# Reading answers as a client does


def _json_validators():
    documents = [json.load(open(path)) for path in glob.glob(os.path.join(ROOT, "schemas", "json", "*.schema.json"))]
    registry = Registry().with_resources((doc["$id"], Resource.from_contents(doc)) for doc in documents)
    return {
        doc["$id"].rsplit("/", 1)[1].split(".")[0]: Draft202012Validator(doc, registry=registry) for doc in documents
    }


JSON_VALIDATORS = _json_validators()
_XSD_CACHE = {}


def xml_schema(namespace, type_name):
    key = (namespace, type_name)
    if key not in _XSD_CACHE:
        path = os.path.join(ROOT, "schemas", "xml", NAMESPACE_FOLDERS[namespace], f"{type_name}.xsd")
        _XSD_CACHE[key] = etree.XMLSchema(etree.parse(path))
    return _XSD_CACHE[key]


SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def parse_groove_answer(content_type, body, type_name):
    """Parse and schema-check an answer of ``type_name``; return ``(format, error_code or None, document)``.

    The error code is returned in the underscore spelling whichever the deployment emits.
    """
    mimetype = (content_type or "").split(";")[0].strip().lower()
    if mimetype == "application/json":
        document = json.loads(body)
        JSON_VALIDATORS[type_name].validate(document)
        error = document.get("Error")
        return "json", (error["ErrorCode"].replace("-", "_") if error else None), document
    if mimetype == "application/xml":
        root = etree.fromstring(body, SAFE_XML)
        namespace = etree.QName(root).namespace
        assert etree.QName(root).localname == type_name
        xml_schema(namespace, type_name).assertValid(root)
        code = root.findtext(f"{{{namespace}}}Error/{{{namespace}}}ErrorCode")
        return "xml", (code.replace("-", "_") if code else None), root
    raise AssertionError(f"unexpected Content-Type {content_type!r}: {body[:200]!r}")


def json_body(document):
    return json.dumps(document).encode()


def xml_request(track_ids, namespace=NS_2013, *, item="arrays", root="TrackActionRequest"):
    """A TrackActionRequest in DataContract XML, items in the seed's arrays form or the SDK's <TrackId>."""
    if item == "arrays":
        items = "".join(f"<d2p1:string>{value}</d2p1:string>" for value in track_ids)
        ids = f'<TrackIds xmlns:d2p1="{NS_ARRAYS}">{items}</TrackIds>'
    else:
        ids = "<TrackIds>" + "".join(f"<TrackId>{value}</TrackId>" for value in track_ids) + "</TrackIds>"
    declaration = f' xmlns="{namespace}"' if namespace else ""
    return f'<{root} xmlns:i="http://www.w3.org/2001/XMLSchema-instance"{declaration}>{ids}</{root}>'


def parse_v1_answer(content_type, body):
    """A v1 answer: ``("json", error code or None, document)``; an error must be the full envelope."""
    assert (content_type or "").split(";")[0].strip().lower() == "application/json", content_type
    document = json.loads(body)
    if document.get("success") is False:
        error = document["error"]
        assert list(document) == ["success", "error"]
        assert list(error) == ["code", "message", "system_message", "type", "status", "details", "trace_id", "timestamp"]
        assert error["trace_id"].startswith("req_") and error["timestamp"].endswith("Z")
        return "json", error["code"], document
    assert document["success"] is True
    return "json", None, document


def parse_answer(route, content_type, body):
    """The answer of ``route`` as its client reads it (Groove: schema-checked; v1: the envelope)."""
    if route.dialect == "v1":
        return parse_v1_answer(content_type, body)
    return parse_groove_answer(content_type, body, route.response_type)
