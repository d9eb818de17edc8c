"""``groove-compat import``: the command run as a user runs it (a subprocess) against a real server process.

A module-scoped server holds a generated catalog of 24,000 tracks. A fault-injecting proxy in front of it
answers 429 (with Retry-After), 5xx and 409 itself, resets or stalls connections, deterministically (whether
the n-th arrival of a request body is faulted depends only on the seed, the body and n), and records every
request that reached the server, so tests can count what was sent how often.
"""

import csv
import fcntl
import hashlib
import http.server
import json
import os
import pty
import random
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import pytest
import requests
from lxml import etree

from conftest import ROOT, make_user, seeded_database, serve_in_thread, start_server, stop_server
from groove_compat import ids
from groove_compat.app import create_app, get_store
from groove_compat import importer
from groove_compat.client import ErrorDetail, GrooveApiError, GrooveClient

CATALOG_SIZE = 24_000
AMBIGUOUS_ISRC = "QZAMB2600001"  # two catalog tracks share it
INVALID_ID = (
    "COLLECTION-INVALID-ID,Invalid collection id for this operation,"
    '"Collection ErrorCode=ArgumentInvalid, Details=ContentId"'
)
BAD_ROW = "INPUT-INVALID-ROW,The input row holds no id that can be sent,"
REPORT_HEADER = "line,id,error_code,description,message\n"


# ---------------------------------------------------------------------------------------------------------
# The server with a large catalog


@dataclass
class BigServer:
    url: str
    database: str
    process: subprocess.Popen
    catalog: list  # music.{GUID} ids, catalog order
    isrcs: list  # the ISRC of each catalog track
    users: dict = field(default_factory=dict)

    def user(self, name):
        app = create_app({"DATABASE": self.database})
        store = get_store(app)
        try:
            return make_user(store, name)
        finally:
            store.close()

    def collection(self, user):
        """The catalog ids in the user's library, as a sorted list (read from the database)."""
        app = create_app({"DATABASE": self.database})
        store = get_store(app)
        try:
            library_id = store.user(user.user_id)["library_id"]
            track_ids = store.collection_track_ids(library_id)
            guids = {}
            for offset in range(0, len(track_ids), 5000):
                guids.update(store.track_guids(organization_id=1, track_ids=track_ids[offset:offset + 5000]))
            return sorted(ids.catalog_id(guids[track_id]) for track_id in track_ids)
        finally:
            store.close()


def cli(*args, check=None, timeout=120, **kwargs):
    """Run ``groove-compat`` from this worktree as a subprocess."""
    env = dict(os.environ, PYTHONPATH=ROOT)
    result = subprocess.run(
        [sys.executable, "-m", "groove_compat.cli", *map(str, args)], capture_output=True, text=True, env=env,
        timeout=timeout, **kwargs,
    )
    if check is not None:
        assert result.returncode == check, result.stdout + result.stderr
    return result


def popen_import(*args):
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.Popen(
        [sys.executable, "-m", "groove_compat.cli", "import", *map(str, args)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    folder = tmp_path_factory.mktemp("big")
    database = folder / "groove-compat.sqlite"
    seeded_database(database)
    generator = random.Random(20240605)
    catalog, isrcs = [], []
    with open(folder / "catalog.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "title", "artist", "isrc"])
        for number in range(CATALOG_SIZE):
            track_id = "music." + str(uuid.UUID(int=generator.getrandbits(128), version=4)).upper()
            isrc = AMBIGUOUS_ISRC if number in (7, 8) else f"QZ{'ABCDEFGHIJ'[number % 10]}{number % 100:02d}{number:07d}"
            writer.writerow([track_id, f"Track {number}", f"Artist {number % 300}", isrc])
            catalog.append(track_id)
            isrcs.append(isrc)
    cli("catalog", "import", folder / "catalog.csv", "--db", database, check=0)
    url, process = start_server(database)
    yield BigServer(url, str(database), process, catalog, isrcs)
    stop_server(process)


# ---------------------------------------------------------------------------------------------------------
# The fault-injecting proxy


@dataclass
class Arrival:
    at: float
    key: str
    path: str
    track_ids: tuple | None
    fault: str | None
    content_type: str | None
    body: bytes
    status: int | None = None
    answered_at: float | None = None


def body_ids(body):
    """The TrackIds of a JSON or XML TrackActionRequest."""
    if body.lstrip().startswith(b"<"):
        root = etree.fromstring(body)
        return tuple(item.text for item in root.iter() if etree.QName(item).localname in ("string", "TrackId"))
    return tuple(json.loads(body)["TrackIds"])


GROOVE_ERRORS = {
    "429": (429, {"ErrorCode": "TOO-MANY-REQUESTS", "Description": "Too Many Requests"}),
    "500": (500, {"ErrorCode": "INTERNAL-SERVER-ERROR", "Description": "Oops, something went seriously wrong"}),
    "409": (409, {"ErrorCode": "COLLECTION-CONCURRENT-UPDATE", "Description": "Concurrent update of the collection"}),
    "400": (400, {"ErrorCode": "INVALID-INPUT-PARAMETER", "Description": "Invalid parameter value", "Message": "Injected"}),
}


class FaultProxy:
    """A threaded HTTP proxy on 127.0.0.1 that injects faults into add requests and forwards the rest.

    ``faults``: ``{kind: probability}`` with kinds 429 (Retry-After: ``retry_after``), 429-slow (Retry-After: 1),
    500, 503 (empty body), 409, 400, reset (connection closed unanswered), stall (no answer for ``stall``
    seconds, then closed). A body is faulted at most ``max_faults`` times (None: always).
    """

    def __init__(self, upstream, *, faults=None, seed=1, max_faults=2, latency=0.0, stall=1.2, retry_after="0"):
        self.upstream = upstream
        self.faults = faults or {}
        self.seed = seed
        self.max_faults = max_faults
        self.latency = latency
        self.stall = stall
        self.retry_after = retry_after
        self.lock = threading.Lock()
        self.counts = Counter()
        self.arrivals = []
        self.forwarding = 0
        self.handling = 0  # requests between their arrival and their answer
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                proxy.handle(self)

            do_POST = do_GET

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def plan(self, key, number):
        if self.max_faults is not None and number >= self.max_faults:
            return None
        draw = int(hashlib.sha256(f"{self.seed}:{key}:{number}".encode()).hexdigest()[:12], 16) / 16 ** 12
        for kind, probability in self.faults.items():
            if draw < probability:
                return kind
            draw -= probability
        return None

    def handle(self, handler):
        with self.lock:
            self.handling += 1
        try:
            self._handle(handler)
        finally:
            with self.lock:
                self.handling -= 1

    def _handle(self, handler):
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        path = handler.path
        is_add = path.split("?")[0].lower().endswith("/collection/add")
        key = hashlib.sha256(handler.command.encode() + path.encode() + b"\0" + body).hexdigest()
        with self.lock:
            number = self.counts[key]
            self.counts[key] += 1
            fault = self.plan(key, number) if is_add else None
            arrival = Arrival(time.monotonic(), key, path, body_ids(body) if is_add else None, fault,
                              handler.headers.get("Content-Type"), body)
            self.arrivals.append(arrival)
        if fault in ("reset", "stall"):
            if fault == "stall":
                time.sleep(self.stall)
            handler.close_connection = True
            return
        if fault == "503":
            return self.answer(handler, arrival, 503, b"", "text/plain")
        if fault is not None:
            status, error = GROOVE_ERRORS[fault.split("-")[0]]
            headers = {}
            if fault.startswith("429"):
                headers["Retry-After"] = "1" if fault == "429-slow" else self.retry_after
            body = json.dumps({"Error": error}).encode()
            return self.answer(handler, arrival, status, body, "application/json; charset=utf-8", headers)
        with self.lock:
            self.forwarding += 1
        try:
            if self.latency:
                time.sleep(self.latency)
            headers = {name: value for name, value in handler.headers.items()
                       if name.lower() in ("authorization", "content-type", "accept")}
            headers["Accept-Encoding"] = "identity"
            response = requests.request(handler.command, self.upstream + path, data=body or None, headers=headers, timeout=60)
            arrival.status = response.status_code
        finally:
            with self.lock:
                self.forwarding -= 1
        self.answer(handler, arrival, response.status_code, response.content,
                    response.headers.get("Content-Type", "application/json"))

    def answer(self, handler, arrival, status, body, content_type, headers=None):
        arrival.status = status
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", content_type)
            handler.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(body)
            handler.wfile.flush()
        except OSError:
            pass  # the client is gone (killed): the server did the work all the same
        arrival.answered_at = time.monotonic()

    # What reached the server.
    def delivered(self):
        """Times each id reached the server in an add answered 200."""
        counts = Counter()
        for arrival in self.arrivals:
            if arrival.track_ids is not None and arrival.fault is None and arrival.status == 200:
                counts.update(arrival.track_ids)
        return counts

    def delivered_batches(self):
        return [a.track_ids for a in self.arrivals if a.track_ids is not None and a.fault is None and a.status == 200]

    def injected(self):
        return Counter(arrival.fault for arrival in self.arrivals if arrival.fault is not None)

    def settle(self, timeout=10, quiet=0.5):
        """Wait until every request a killed client had sent has been handled: none in progress, and no
        new arrival for ``quiet`` seconds (a request still being read has not reached ``handle`` yet)."""
        deadline = time.monotonic() + timeout
        seen, quiet_since = len(self.arrivals), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.02)
            if len(self.arrivals) != seen or self.handling or self.forwarding:
                seen, quiet_since = len(self.arrivals), time.monotonic()
            elif time.monotonic() - quiet_since >= quiet:
                return


@pytest.fixture
def proxy_factory(big):
    proxies = []

    def make(**kwargs):
        proxy = FaultProxy(kwargs.pop("upstream", big.url), **kwargs)
        proxies.append(proxy)
        return proxy

    yield make
    for proxy in proxies:
        proxy.close()


# ---------------------------------------------------------------------------------------------------------
# Input files with known outcomes


@dataclass
class InputFile:
    path: str
    valid: list  # catalog ids that must end in the collection
    sent: list  # the deduplicated ids, in the order the importer sends them
    report: str  # the expected failure report, byte for byte


def write_text_input(path, catalog, *, unknown_every=0, malformed_every=0, duplicate_every=0, bad_every=0):
    lines, sent, rows = [], [], []

    def add(text):
        lines.append(text)
        return len(lines)

    for number, track_id in enumerate(catalog):
        add(track_id)
        sent.append(track_id)
        if unknown_every and number % unknown_every == 0:
            unknown = f"music.00000000-0000-4000-8000-{number:012d}"
            rows.append(f"{add(unknown)},{unknown},{INVALID_ID}\n")
            sent.append(unknown)
        if malformed_every and number % malformed_every == 5:
            malformed = f"music.not-a-track-{number}"
            rows.append(f"{add(malformed)},{malformed},{INVALID_ID}\n")
            sent.append(malformed)
        if duplicate_every and number % duplicate_every == 7:
            add(track_id.lower())  # the same GUID in lower case: dropped as a duplicate
        if bad_every and number % bad_every == 3:
            rows.append(f"{add(f'bad id {number}')},bad id {number},{BAD_ROW}the id holds spaces or control characters\n")
        if number % 1000 == 999:
            add("")
            add("# a comment")
    with open(path, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    return InputFile(str(path), list(catalog), sent, REPORT_HEADER + "".join(rows))


def summary_value(stdout, label):
    for line in stdout.splitlines():
        if line.strip().startswith(label + ":"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no {label!r} line in:\n{stdout}")


def number(text):
    return int(text.split()[0].replace(",", ""))


def assert_token_hidden(result_or_texts, token):
    texts = result_or_texts if isinstance(result_or_texts, (list, tuple)) else [result_or_texts.stdout, result_or_texts.stderr]
    for text in texts:
        assert token not in text


def read_checkpoint(path):
    with open(path) as handle:
        return json.load(handle)


def ids_in(ranges, sent):
    return {sent[index] for low, high in ranges for index in range(low, high)}


# ---------------------------------------------------------------------------------------------------------
# Tests


def test_a_large_file_with_invalid_ids_through_a_faulty_server(big, proxy_factory, tmp_path):
    user = big.user("erin")
    data = write_text_input(
        tmp_path / "ids.txt", big.catalog[:20_000], unknown_every=40, malformed_every=97, duplicate_every=31, bad_every=1000
    )
    proxy = proxy_factory(
        faults={"429": 0.05, "429-slow": 0.01, "503": 0.05, "500": 0.03, "409": 0.02, "reset": 0.03}, seed=7
    )
    result = cli(
        "import", "--url", proxy.url, "--token", user.token, data.path, "--no-count-present",
        "--backoff", "0.02", "--backoff-cap", "0.2", "--progress-every", "0.5",
    )
    assert result.returncode == 1, result.stdout + result.stderr
    injected = proxy.injected()
    assert sum(injected.values()) > 20 and set(injected) == {"429", "429-slow", "503", "500", "409", "reset"}
    # Every id reached the server exactly once: a fault is retried, nothing else is sent twice.
    assert proxy.delivered() == Counter(data.sent)
    # The summary.
    failed_codes = Counter(line.split(",")[2] for line in data.report.splitlines()[1:])
    assert summary_value(result.stdout, "added") == "20,000 (includes ids already in the collection: --no-count-present)"
    assert number(summary_value(result.stdout, "failed")) == sum(failed_codes.values())
    assert summary_value(result.stdout, "COLLECTION-INVALID-ID") == f"{failed_codes['COLLECTION-INVALID-ID']:,}"
    assert summary_value(result.stdout, "INPUT-INVALID-ROW") == f"{failed_codes['INPUT-INVALID-ROW']:,}"
    requests_line = summary_value(result.stdout, "requests")
    batches = -(-len(data.sent) // 100)
    assert requests_line == f"{batches + sum(injected.values()):,} ({sum(injected.values()):,} retried)"
    assert summary_value(result.stdout, "ids").startswith(f"{len(data.sent):,} (from ")
    assert result.stdout.startswith(f"import of {data.path}: complete\n")
    assert "progress: " in result.stderr and " ids/s, ETA " in result.stderr
    # Retry-After is honoured: a body answered 429 with Retry-After: 1 comes back no sooner than a second later.
    slow = [arrival for arrival in proxy.arrivals if arrival.fault == "429-slow"]
    assert slow
    for arrival in slow:
        again = min(a.at for a in proxy.arrivals if a.key == arrival.key and a.at > arrival.at)
        assert again - arrival.at >= 1.0
    # The report, byte for byte, and the collection.
    with open(data.path + ".failures.csv", encoding="utf-8") as handle:
        assert handle.read() == data.report
    assert big.collection(user) == sorted(data.valid)
    assert not os.path.exists(data.path + ".import-checkpoint.json")
    assert_token_hidden(result, user.token)


def wait_for_progress(process, checkpoint, ids_done, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            state = read_checkpoint(checkpoint)
        except (OSError, ValueError):
            state = None
        if state and sum(high - low for low, high in state["done"]) >= ids_done:
            return
        time.sleep(0.02)
    raise AssertionError("the import made no progress")


def test_an_interrupted_run_resumes_without_resending_finished_batches(big, proxy_factory, tmp_path):
    user = big.user("frank")
    data = write_text_input(tmp_path / "ids.txt", big.catalog[:20_000], unknown_every=50, bad_every=2000)
    checkpoint = data.path + ".import-checkpoint.json"
    proxy = proxy_factory(latency=0.04)
    command = ["--url", proxy.url, "--token", user.token, data.path, "--no-count-present", "--progress", "none"]

    # 1. Ctrl-C: the requests in flight are answered and recorded, then the run stops.
    first = popen_import(*command)
    wait_for_progress(first, checkpoint, 3000)
    first.send_signal(signal.SIGINT)
    stdout, stderr = first.communicate(timeout=30)
    assert first.returncode == 130, stdout + stderr
    assert "interrupted" in stdout and "run the same command again to resume" in stdout
    after_interrupt = read_checkpoint(checkpoint)["done"]
    delivered = proxy.delivered()
    assert max(delivered.values()) == 1
    assert set(delivered) == ids_in(after_interrupt, data.sent)  # all that was sent is recorded as done
    assert_token_hidden([stdout, stderr], user.token)

    # 2. SIGKILL: no warning at all; only batches in flight may be lost.
    second_started = len(proxy.arrivals)
    second = popen_import(*command)
    wait_for_progress(second, checkpoint, 9000)
    second.kill()
    second.communicate(timeout=30)
    proxy.settle()
    after_kill = read_checkpoint(checkpoint)["done"]
    assert ids_in(after_interrupt, data.sent) <= ids_in(after_kill, data.sent)
    delivered = proxy.delivered()
    assert max(delivered.values()) == 1
    finished = ids_in(after_interrupt, data.sent)
    assert all(not set(a.track_ids) & finished for a in proxy.arrivals[second_started:] if a.track_ids)
    lost = set(delivered) - ids_in(after_kill, data.sent)  # delivered, but the checkpoint never heard of it
    # The importer refills the workers before it writes the checkpoint for the answers it just took, so at
    # the kill up to --concurrency answered batches may be unrecorded besides the --concurrency in flight.
    assert len(lost) <= 2 * 4 * 100

    # 3. The same command again finishes the job.
    third_started = len(proxy.arrivals)
    third = cli("import", *command)
    assert third.returncode == 1, third.stdout + third.stderr
    assert "resuming from" in third.stderr
    delivered = proxy.delivered()
    assert set(delivered) == set(data.sent)
    twice = {track_id for track_id, count in delivered.items() if count > 1}
    assert twice == lost  # only what was in flight at the kill was sent twice
    finished = ids_in(after_kill, data.sent)
    assert all(not set(a.track_ids) & finished for a in proxy.arrivals[third_started:] if a.track_ids)
    valid_count = len(data.valid)
    assert summary_value(third.stdout, "added").startswith(f"{valid_count:,} ")
    with open(data.path + ".failures.csv", encoding="utf-8") as handle:
        assert handle.read() == data.report  # failures of all three runs, from the journal
    assert big.collection(user) == sorted(data.valid)
    assert not os.path.exists(checkpoint)
    assert_token_hidden(third, user.token)


def test_the_batch_limit_is_learnt_from_the_servers_refusal(big, proxy_factory, tmp_path):
    url, process = start_server(big.database, extra_env={"GROOVE_COMPAT_MAX_BATCH_SIZE": "30"})
    try:
        user = big.user("gina")
        data = write_text_input(tmp_path / "ids.txt", big.catalog[:1000])
        proxy = proxy_factory(upstream=url)
        result = cli("import", "--url", proxy.url, "--token", user.token, data.path, "--concurrency", "2",
                     "--no-count-present")
    finally:
        stop_server(process)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "the server takes at most 30 ids per request: sending batches of 30" in result.stderr
    refused = [a for a in proxy.arrivals if a.status == 400]
    assert 1 <= len(refused) <= 2 and all(len(a.track_ids) == 100 for a in refused)
    assert all(len(batch) <= 30 for batch in proxy.delivered_batches())
    assert proxy.delivered() == Counter(data.sent)
    assert big.collection(user) == sorted(data.valid)
    with open(data.path + ".failures.csv") as handle:
        assert handle.read() == REPORT_HEADER


@pytest.mark.parametrize("case", ["refused-token", "bad-request"])
def test_a_fatal_answer_stops_the_run_at_once_and_keeps_the_checkpoint(big, proxy_factory, tmp_path, case):
    user = big.user(f"hal-{case}")
    data = write_text_input(tmp_path / "ids.txt", big.catalog[:500])
    if case == "refused-token":
        proxy, token, code = proxy_factory(), user.token[:-5] + "XXXXX", "INVALID-AUTHORIZATION-HEADER"
    else:
        proxy, token, code = proxy_factory(faults={"400": 1.0}, max_faults=None), user.token, "INVALID-INPUT-PARAMETER"
    result = cli("import", "--url", proxy.url, "--token", token, data.path, "--concurrency", "1", "--no-count-present")
    assert result.returncode == 3, result.stdout + result.stderr
    assert len([a for a in proxy.arrivals if a.track_ids]) == 1  # never retried
    assert result.stdout.startswith(f"import of {data.path}: stopped, 500 ids not sent yet: fix the cause")
    assert code in summary_value(result.stdout, "reason")
    assert os.path.exists(data.path + ".import-checkpoint.json")
    assert big.collection(user) == []
    assert_token_hidden(result, token)


def test_giving_up_after_max_attempts_then_resuming_against_a_healthy_server(big, proxy_factory, tmp_path):
    user = big.user("ivy")
    data = write_text_input(tmp_path / "ids.txt", big.catalog[:250], unknown_every=100)
    proxy = proxy_factory(faults={"503": 1.0}, max_faults=None)
    common = ["--token", user.token, data.path, "--concurrency", "1", "--no-count-present", "--backoff", "0.01"]
    result = cli("import", "--url", proxy.url, *common, "--max-attempts", "3")
    assert result.returncode == 4, result.stdout + result.stderr
    assert [a.fault for a in proxy.arrivals] == ["503"] * 3
    assert "gave up, 253 ids not sent yet" in result.stdout and "HTTP 503" in summary_value(result.stdout, "reason")
    resumed = cli("import", "--url", big.url, *common)
    assert resumed.returncode == 1, resumed.stdout + resumed.stderr
    assert summary_value(resumed.stdout, "added").startswith("250 ")
    with open(data.path + ".failures.csv") as handle:
        assert handle.read() == data.report
    assert big.collection(user) == sorted(data.valid)


def test_timeouts_are_retried(big, proxy_factory, tmp_path):
    user = big.user("jack")
    data = write_text_input(tmp_path / "ids.txt", big.catalog[:250])
    # A 3 s timeout: a healthy retry on a loaded machine answers well within it; the stalls (5 s) never do.
    proxy = proxy_factory(faults={"stall": 1.0}, max_faults=1, stall=5)
    result = cli("import", "--url", proxy.url, "--token", user.token, data.path, "--timeout", "3", "--backoff", "0.01",
                 "--no-count-present")
    assert result.returncode == 0, result.stdout + result.stderr
    assert proxy.injected() == Counter({"stall": 3})
    assert summary_value(result.stdout, "requests") == "6 (3 retried)"
    assert big.collection(user) == sorted(data.valid)


@pytest.mark.parametrize("namespace, content", [("2013", "{http://schemas.microsoft.com/2003/10/Serialization/Arrays}string"),
                                                ("2016", "{http://schemas.microsoft.com/groovemusic/2016/09/api}TrackId")])
def test_xml_bodies(big, proxy_factory, tmp_path, namespace, content):
    user = big.user(f"kim-{namespace}")
    data = write_text_input(tmp_path / "ids.txt", big.catalog[:150], unknown_every=50)
    proxy = proxy_factory(faults={"503": 0.3}, seed=3)
    result = cli("import", "--url", proxy.url, "--token", user.token, data.path, "--format", "xml",
                 "--namespace", namespace, "--no-count-present", "--backoff", "0.01")
    assert result.returncode == 1, result.stdout + result.stderr
    posts = [a for a in proxy.arrivals if a.track_ids]
    assert posts and all(a.content_type == "application/xml" for a in posts)
    for arrival in posts:
        root = etree.fromstring(arrival.body)
        expected_namespace = "http://schemas.microsoft.com/xboxmusic/2013/10/platform" if namespace == "2013" else \
            "http://schemas.microsoft.com/groovemusic/2016/09/api"
        assert root.tag == f"{{{expected_namespace}}}TrackActionRequest"
        assert {item.tag for item in root[0]} == {content}
    with open(data.path + ".failures.csv") as handle:
        assert handle.read() == data.report
    assert big.collection(user) == sorted(data.valid)


def write(path, text):
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
    return str(path)


def test_input_formats_and_bad_rows(big, tmp_path):
    """Text, CSV (--column, --isrc-column) and JSON Lines (--key) name the same tracks; bad rows are reported."""
    a, b, c, d = big.catalog[100:104]
    cases = {
        "text": (write(tmp_path / "ids.txt", f"{a}\n\n# comment\n{b.lower()}\n  {c}  \n{b}\nbad\tid\n{d}\n"), []),
        "csv": (write(tmp_path / "ids.csv", f'title,Track Id\nx,{a}\ny,{b}\n"z, with comma",\nw,{c}\nv,{c.lower()}\n\nu,{d}\nshort\n'),
                ["--column", "Track Id"]),
        "jsonl": (write(tmp_path / "ids.jsonl", json.dumps({"track": a}) + "\n" + json.dumps({"track": b}) + "\n{broken\n"
                        + json.dumps([c]) + "\n" + json.dumps({"track": c}) + "\n" + json.dumps({"other": 1}) + "\n"
                        + json.dumps({"track": 5}) + "\n" + json.dumps({"track": d}) + "\n"), ["--key", "track"]),
    }
    expected_reports = {
        "text": REPORT_HEADER + f"7,bad\tid,{BAD_ROW}the id holds spaces or control characters\n",
        "csv": REPORT_HEADER + f"4,,{BAD_ROW}column 'Track Id' is empty\n9,,{BAD_ROW}the row has no 'Track Id' column\n",
        "jsonl": REPORT_HEADER + (
            f"3,,{BAD_ROW}not valid JSON: Expecting property name enclosed in double quotes\n"
            f"4,,{BAD_ROW}the line is not a JSON object\n"
            f"6,,{BAD_ROW}the object has no 'track' member\n"
            f"7,,{BAD_ROW}member 'track' is not a string\n"
        ),
    }
    for kind, (path, options) in cases.items():
        user = big.user(f"lee-{kind}")
        result = cli("import", "--url", big.url, "--token", user.token, path, *options, "--no-count-present")
        assert result.returncode == 1, (kind, result.stdout + result.stderr)
        assert summary_value(result.stdout, "added").startswith("4 "), kind
        with open(path + ".failures.csv", encoding="utf-8") as handle:
            assert handle.read() == expected_reports[kind], kind
        assert big.collection(user) == sorted([a, b, c, d]), kind


def test_isrc_column(big, tmp_path):
    catalog, isrcs = big.catalog, big.isrcs
    hyphenated = f"{isrcs[20][:2]}-{isrcs[20][2:5]}-{isrcs[20][5:7]}-{isrcs[20][7:]}"
    path = write(tmp_path / "isrcs.csv", (
        "isrc,title\n"
        f"{isrcs[10]},ten\n"
        f"{hyphenated.lower()},twenty\n"
        f"{isrcs[20]},twenty again\n"
        "QZZ999999999,unknown\n"
        f"{AMBIGUOUS_ISRC},ambiguous\n"
        "not-an-isrc,malformed\n"
        ",empty\n"
    ))
    user = big.user("mia")
    dry = cli("import", path, "--isrc-column", "isrc", "--dry-run")
    assert dry.returncode == 1, dry.stdout + dry.stderr  # a bad row (the empty ISRC)
    assert "CSV, ISRCs of column 'isrc' sent as music.isrc.{ISRC}" in dry.stdout
    assert f"first ids:       music.isrc.{isrcs[10]}, music.isrc.{isrcs[20]}, music.isrc.QZZ999999999 ..." in dry.stdout
    result = cli("import", "--url", big.url, "--token", user.token, path, "--isrc-column", "isrc", "--no-count-present")
    assert result.returncode == 1, result.stdout + result.stderr
    message = "Collection ErrorCode=ArgumentInvalid, Details="
    with open(path + ".failures.csv", encoding="utf-8") as handle:
        assert handle.read() == REPORT_HEADER + (
            f'5,music.isrc.QZZ999999999,COLLECTION-INVALID-ID,Invalid collection id for this operation,"{message}Isrc: no catalog track has this ISRC"\n'
            f'6,music.isrc.{AMBIGUOUS_ISRC},COLLECTION-INVALID-ID,Invalid collection id for this operation,"{message}AmbiguousIsrc: several catalog tracks have this ISRC"\n'
            f'7,music.isrc.not-an-isrc,COLLECTION-INVALID-ID,Invalid collection id for this operation,"{message}Isrc: not a 12-character ISRC (CC-XXX-YY-NNNNN)"\n'
            f"8,,{BAD_ROW}column 'isrc' is empty\n"
        )
    assert summary_value(result.stdout, "ids").startswith("5 (from 7 rows; 1 duplicates dropped, 1 bad rows)")
    assert big.collection(user) == sorted([catalog[10], catalog[20]])


def test_dry_run_sends_nothing_and_writes_nothing(big, proxy_factory, tmp_path):
    data = write_text_input(tmp_path / "ids.txt", big.catalog[:450], duplicate_every=100)
    proxy = proxy_factory()
    result = cli("import", "--url", proxy.url, "--token", "whatever", data.path, "--dry-run", "--batch-size", "40",
                 "--format", "xml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == (
        f"dry run of {data.path} (text, one id per line): nothing sent\n"
        "  rows read:       455\n"
        "  ids:             450 (5 duplicates dropped)\n"
        "  bad rows:        0\n"
        "  would send:      450 ids in 12 batches of at most 40, XML bodies, 4 in flight\n"
        f"  first ids:       {big.catalog[0]}, {big.catalog[1]}, {big.catalog[2]} ...\n"
    )
    assert proxy.arrivals == []
    assert sorted(os.listdir(tmp_path)) == ["ids.txt"]


def test_usage_and_file_errors_exit_2_and_send_nothing(big, proxy_factory, tmp_path):
    proxy = proxy_factory()
    text = write(tmp_path / "ids.txt", big.catalog[0] + "\n")
    table = write(tmp_path / "ids.csv", "id,title\n" + big.catalog[0] + ",x\n")
    latin = tmp_path / "latin.txt"
    latin.write_bytes(b"music.caf\xe9\n")
    cases = [
        ([text, "--token", "t"], "--url is required"),
        ([text, "--url", proxy.url], "--token or --token-file is required"),
        ([table, "--url", proxy.url, "--token", "t", "--column", "track"], "the CSV header has no column 'track' (columns: 'id', 'title')"),
        ([table, "--url", proxy.url, "--token", "t", "--key", "id"], "is CSV: name the column with --column or --isrc-column"),
        ([str(latin), "--url", proxy.url, "--token", "t"], "latin.txt:1: the file is not UTF-8"),
        ([str(tmp_path / "missing.txt"), "--url", proxy.url, "--token", "t"], "is not a file"),
    ]
    for args, message in cases:
        result = cli("import", *args)
        assert result.returncode == 2, (args, result.stdout + result.stderr)
        assert message in result.stderr, (args, result.stderr)
    assert proxy.arrivals == []


def test_a_checkpoint_of_another_input_is_refused(big, proxy_factory, tmp_path):
    user = big.user("nina")
    data = write_text_input(tmp_path / "ids.txt", big.catalog[:300])
    proxy = proxy_factory(faults={"503": 1.0}, max_faults=None)
    command = ["import", "--url", proxy.url, "--token", user.token, data.path, "--no-count-present", "--max-attempts", "1"]
    assert cli(*command).returncode == 4
    with open(data.path, "a") as handle:
        handle.write(big.catalog[400] + "\n")
    refused = cli(*command)
    assert refused.returncode == 2
    assert "belongs to a run with another input file" in refused.stderr and "--restart" in refused.stderr
    restarted = cli("import", "--url", big.url, "--token", user.token, data.path, "--no-count-present", "--restart")
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    assert big.collection(user) == sorted(data.valid + [big.catalog[400]])


def test_a_progress_bar_on_a_terminal(big, tmp_path):
    user = big.user("olga")
    data = write_text_input(tmp_path / "ids.txt", big.catalog[:2000])
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a terminal of 100 columns
    env = dict(os.environ, PYTHONPATH=ROOT)
    process = subprocess.Popen(
        [sys.executable, "-m", "groove_compat.cli", "import", "--url", big.url, "--token", user.token, data.path,
         "--no-count-present", "--concurrency", "1"],
        stdout=subprocess.PIPE, stderr=follower, env=env,
    )
    os.close(follower)
    output = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 30)
        if not ready:
            break
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    process.wait(timeout=30)
    os.close(leader)
    assert process.returncode == 0
    text = output.decode("utf-8", "replace")
    assert "importing: 100%" in text and "id/s]" in text and "2.00k/2.00k" in text
    assert "progress: " not in text
    assert user.token not in text


# ---------------------------------------------------------------------------------------------------------
# Counting "already present": against a fake server whose add and browse follow the contract


class FakeCollectionServer:
    """Add (entry id = a hash of the catalog id, stable as Project decisions 5 requires) and a tracks browse of
    two items per page with continuation tokens; ``failing_adds`` answers that many adds 503 first."""

    def __init__(self, catalog):
        self.catalog = {track_id.upper() for track_id in catalog}
        self.collection = []
        self.failing_adds = 0
        self.adds = 0

    @staticmethod
    def entry_id(track_id):
        return "music.AQQf" + hashlib.sha256(track_id.upper().encode()).hexdigest()[:30]

    def __call__(self, environ, start_response):
        path = environ["PATH_INFO"]
        if path == "/1/content/music/collection/add":
            self.adds += 1
            if self.failing_adds:
                self.failing_adds -= 1
                start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
                return [b""]
            body = json.loads(environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"])))
            results = []
            for track_id in body["TrackIds"]:
                if track_id.upper() in self.catalog:
                    entry = self.entry_id(track_id)
                    if entry not in self.collection:
                        self.collection.append(entry)
                    results.append({"InputId": track_id, "Id": entry})
                else:
                    results.append({"InputId": track_id, "Error": {"ErrorCode": "COLLECTION-INVALID-ID",
                                                                   "Description": "Invalid collection id for this operation"}})
            answer = {"TrackActionResults": results}
            if any("Error" in result for result in results):
                answer["Error"] = {"ErrorCode": "COLLECTION-SOME-OPERATIONS-FAILED", "Description": "Some of the operations failed"}
        elif path == "/1/content/music/collection/tracks/browse":
            query = dict(part.split("=", 1) for part in environ.get("QUERY_STRING", "").split("&") if part)
            offset = int(query.get("continuationToken", "0"))
            page = self.collection[offset:offset + 2]
            answer = {"Tracks": {"Items": [{"Id": entry, "Name": "x", "Source": "Collection"} for entry in page]}}
            if offset + 2 < len(self.collection):
                answer["Tracks"]["ContinuationToken"] = str(offset + 2)
        else:
            start_response("404 Not Found", [("Content-Type", "application/json")])
            return [b'{"Error":{"ErrorCode":"COLLECTION-INVALID-OPERATION","Description":"This operation is not supported"}}']
        start_response("200 OK", [("Content-Type", "application/json; charset=utf-8")])
        return [json.dumps(answer).encode()]


@pytest.fixture
def fake_collection(big):
    app = FakeCollectionServer(big.catalog[:50])
    with serve_in_thread(app) as app.url:
        yield app


def test_already_present_ids_are_counted_apart_and_survive_a_resume(big, fake_collection, tmp_path):
    catalog = big.catalog[:50]
    for track_id in catalog[:5]:
        fake_collection.collection.append(fake_collection.entry_id(track_id))
    data = write_text_input(tmp_path / "ids.txt", catalog[:30], unknown_every=10)
    fake_collection.failing_adds = 1
    common = ["--url", fake_collection.url, "--token", "tok", data.path, "--batch-size", "10", "--concurrency", "1",
              "--backoff", "0.01"]
    first = cli("import", *common, "--max-attempts", "1")
    assert first.returncode == 4, first.stdout + first.stderr
    assert os.path.exists(data.path + ".import-checkpoint.json.present")
    # Tracks added now are in the collection when the second run starts; the listing of the first run counts.
    fake_collection.collection.append(fake_collection.entry_id(catalog[20]))
    second = cli("import", *common)
    assert second.returncode == 1, second.stdout + second.stderr
    assert summary_value(second.stdout, "added") == "25"
    assert summary_value(second.stdout, "already present") == "5"
    assert summary_value(second.stdout, "COLLECTION-INVALID-ID") == "3"
    assert not os.path.exists(data.path + ".import-checkpoint.json.present")


def test_counting_present_against_the_live_server(big, tmp_path):
    """The real server lists the collection once it has a tracks browse; until then the summary says that
    'added' includes already-present ids."""
    user = big.user("pam")
    with GrooveClient(big.url, user.token) as groove:
        groove.add(big.catalog[:2])
        browse = requests.get(big.url + "/1/content/music/collection/tracks/browse", headers=user.headers, timeout=10)
    data = write_text_input(tmp_path / "ids.txt", big.catalog[:5])
    result = cli("import", "--url", big.url, "--token", user.token, data.path)
    assert result.returncode == 0, result.stdout + result.stderr
    if browse.status_code == 200:
        assert summary_value(result.stdout, "added") == "3"
        assert summary_value(result.stdout, "already present") == "2"
    else:
        assert summary_value(result.stdout, "added") == (
            f"5 (includes ids already in the collection: the server could not list it (HTTP {browse.status_code} "
            f"{browse.json()['Error']['ErrorCode']}))"
        )
    assert big.collection(user) == sorted(big.catalog[:5])


# ---------------------------------------------------------------------------------------------------------
# The bookkeeping under the checkpoint and the retry policy


@pytest.mark.parametrize("ranges, added, expected", [
    ([], (0, 100), [[0, 100]]),
    ([[0, 100]], (100, 200), [[0, 200]]),
    ([[0, 100], [200, 300]], (100, 200), [[0, 300]]),
    ([[200, 300]], (0, 100), [[0, 100], [200, 300]]),
    ([[0, 100], [400, 500]], (200, 300), [[0, 100], [200, 300], [400, 500]]),
    ([[0, 100]], (50, 150), [[0, 150]]),
])
def test_finished_ranges_merge(ranges, added, expected):
    assert importer.add_range(ranges, *added) == expected
    assert importer.missing_ranges(expected, 600) == [
        [low, high] for low, high in zip([0] + [h for _, h in expected], [l for l, _ in expected] + [600]) if low < high
    ]


@pytest.mark.parametrize("attempt, retry_after, low, high", [
    (0, None, 0.0, 0.5), (3, None, 0.0, 4.0), (10, None, 0.0, 30.0), (2, 7.0, 7.0, 7.5), (0, 0.0, 0.0, 0.05),
])
def test_backoff_is_exponential_jittered_capped_and_honours_retry_after(attempt, retry_after, low, high):
    policy = importer.RetryPolicy(max_attempts=8, base=0.5, cap=30.0)
    rng = random.Random(5)
    delays = [policy.delay(attempt, retry_after, rng) for _ in range(400)]
    assert all(low <= delay <= high for delay in delays)
    assert max(delays) - min(delays) > (high - low) / 2  # jittered, not fixed


@pytest.mark.parametrize("status, code, message, expected", [
    (400, "COLLECTION-INVALID-OPERATION", "Number of tracks for this operation is limited to 100", 100),
    (400, "COLLECTION_INVALID_OPERATION", "Number of tracks for this operation is limited to 25", 25),
    (400, "COLLECTION-INVALID-OPERATION", "Something else", False),
    (413, "INVALID-INPUT-PARAMETER", "The request body is larger than 1048576 bytes", None),
    (400, "INVALID-INPUT-PARAMETER", "Number of tracks for this operation is limited to 100", False),
])
def test_a_refusal_as_too_large_is_recognised(status, code, message, expected):
    error = GrooveApiError(status=status, error=ErrorDetail(code, "d", message), retry_after=None, method="POST", path="/")
    assert importer.too_large_limit(error) == expected
