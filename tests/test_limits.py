"""Rate limits and resource limits: per-credential 429 across processes, id length, request time.

The request-time tests are real sockets against a live server with a short REQUEST_TIMEOUT: a client that
trickles or stalls its request gets 408 (a Groove body) when the deadline passes, and while it trickles
other clients are served.
"""

import collections
import contextlib
import json
import os
import selectors
import socket
import sqlite3
import threading
import time
import types

import pytest
import requests

from groove_compat.server import GrooveThreadWorker

from conftest import TRACK_A, TRACK_B, UNKNOWN_TRACK, run_in_threads, seeded_database
from reliability import ROUTES, ServerProcess, parse_groove_answer, raw_http, read_raw_answer, snapshot

ADD = ROUTES[0]


def post_add(url, user, track_ids, **headers):
    return requests.post(
        url + ADD.path, json={"TrackIds": track_ids}, headers=dict(user.headers, **headers), timeout=10
    )


# ---------------------------------------------------------------------------------------------------------
# Rate limit, in process: exact counts.


@pytest.fixture
def limited_app(database_path, users):
    from groove_compat.app import create_app, get_store

    app = create_app(
        {"DATABASE": str(database_path), "TESTING": True, "RATE_LIMIT_PER_MINUTE": 60, "RATE_LIMIT_BURST": 5}
    )
    yield app
    get_store(app).close()


@pytest.mark.parametrize("accept", ["application/json", "application/xml"])
def test_a_credential_over_its_burst_gets_429_with_retry_after(limited_app, alice, bob, accept):
    from groove_compat.app import get_store

    client = limited_app.test_client()
    store = get_store(limited_app)
    answers = [
        client.post(ADD.path, json={"TrackIds": [TRACK_A]}, headers=dict(alice.headers, Accept=accept)) for _ in range(5)
    ]
    assert [answer.status_code for answer in answers] == [200] * 5
    before = store.snapshot()
    refused = client.post(ADD.path, json={"TrackIds": [TRACK_B]}, headers=dict(alice.headers, Accept=accept))
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "1"  # one token per second at 60 a minute
    assert parse_groove_answer(refused.headers["Content-Type"], refused.data, ADD.response_type)[1] == "TOO_MANY_REQUESTS"
    assert store.snapshot() == before  # the refused add stored nothing
    # Another credential has its own bucket.
    assert client.post(ADD.path, json={"TrackIds": [TRACK_B]}, headers=bob.headers).status_code == 200


def test_the_bucket_refills_at_the_configured_rate(limited_app, alice):
    limiter = limited_app.extensions["groove_compat.rate_limiter"]
    start = 1_000_000.0
    assert [limiter.take(99, now=start) for _ in range(5)] == [0.0] * 5
    assert limiter.take(99, now=start) == pytest.approx(1.0)
    assert limiter.take(99, now=start + 0.5) == pytest.approx(0.5)  # a refused take consumes nothing
    assert limiter.take(99, now=start + 1.0) == 0.0
    assert limiter.take(99, now=start + 1.0) > 0
    assert [limiter.take(99, now=start + 100) for _ in range(6)][-1] > 0  # refills to the burst, not past it


def test_the_threads_of_a_process_share_one_descriptor_and_count_every_take(limited_app):
    """Takes from many threads at once all count (none lost, none doubled) through one open file."""
    limiter = limited_app.extensions["groove_compat.rate_limiter"]
    start = 2_000_000.0
    descriptors, waits, lock = [], [], threading.Lock()

    def take_some():
        for _ in range(3):
            wait = limiter.take(77, now=start)
            with lock:
                waits.append(wait)
                descriptors.append(limiter._state)

    run_in_threads(take_some, 4)
    assert len(set(descriptors)) == 1
    assert sorted(waits)[:5] == [0.0] * 5 and all(wait > 0 for wait in sorted(waits)[5:])  # the burst of 5, then refused


def test_a_forked_process_opens_the_bucket_file_itself_and_counts_in_it(limited_app):
    limiter = limited_app.extensions["groove_compat.rate_limiter"]
    assert limiter.take(55, now=3_000_000.0) == 0.0
    parent_state = limiter._state
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: a take works and uses a descriptor of its own
        answer = b"0"
        try:
            if limiter.take(55, now=3_000_000.0) == 0.0 and limiter._state[0] == os.getpid():
                answer = b"1"
        finally:
            os.write(writer, answer)
            os._exit(0)
    os.close(writer)  # the child's end alone is left: a child that died early reads as end of file, not a hang
    _, status = os.waitpid(pid, 0)
    assert os.read(reader, 1) == b"1" and status == 0
    os.close(reader)
    assert limiter._state == parent_state
    # Both takes were counted in the one shared file: 5 burst tokens, 2 spent.
    assert [limiter.take(55, now=3_000_000.0) for _ in range(4)] == [0.0, 0.0, 0.0, pytest.approx(1.0)]


def _limiter(path, **settings):
    from groove_compat.store.ratelimit import RateLimiter

    return RateLimiter(path, **dict({"per_minute": 60, "burst": 5}, **settings))


def test_a_bucket_file_cut_short_under_the_limiter_is_laid_out_again(tmp_path):
    limiter = _limiter(tmp_path / "buckets")
    start = 4_000_000.0
    assert [limiter.take(33, now=start) for _ in range(5)] == [0.0] * 5
    os.truncate(limiter.path, 100)
    # The bucket starts afresh and counts again.
    assert [limiter.take(33, now=start) for _ in range(6)] == [0.0] * 5 + [pytest.approx(1.0)]
    assert os.path.getsize(limiter.path) == 64 + 1024 * 512


@pytest.mark.parametrize(
    "former", ["earlier bucket file", "empty", "lay-out cut at its header", "lay-out that lost its header"]
)
def test_an_empty_file_or_the_earlier_sqlite_bucket_file_is_laid_out_afresh(tmp_path, former):
    from groove_compat.store import ratelimit

    path = tmp_path / "buckets"
    if former == "earlier bucket file":  # the SQLite bucket file of earlier releases
        with sqlite3.connect(path) as earlier:
            earlier.execute("CREATE TABLE buckets (key INTEGER PRIMARY KEY, tokens REAL, updated REAL, allowed INTEGER)")
            earlier.execute("INSERT INTO buckets VALUES (1, 0, 4999999, 0)")
    elif former == "lay-out cut at its header":
        path.write_bytes(ratelimit._MAGIC[:10])
    elif former == "lay-out that lost its header":  # a crash kept the size, not the header
        path.write_bytes(bytes(ratelimit._FILE_SIZE))
    else:
        path.write_bytes(b"")
    limiter = _limiter(path)
    assert [limiter.take(1, now=5_000_000.0) for _ in range(6)] == [0.0] * 5 + [pytest.approx(1.0)]
    assert path.read_bytes().startswith(b"groove-compat token buckets")


def another_database(path):
    with sqlite3.connect(path) as other:
        other.execute("CREATE TABLE buckets (key INTEGER PRIMARY KEY)")
        other.execute("CREATE TABLE users (id INTEGER PRIMARY KEY)")


@pytest.mark.parametrize(
    "write",
    [
        another_database,  # RATE_LIMIT_DATABASE pointed at some other SQLite file by mistake
        lambda path: path.write_bytes(b"some document\n" * 400),
        lambda path: path.write_bytes(b"SQLite format 3\0" + bytes(100)),  # says SQLite, is not
        lambda path: path.write_bytes(bytes(4096)),  # zeros, but not our size
    ],
    ids=["sqlite database", "text", "damaged sqlite", "zeros"],
)
def test_a_file_that_is_not_ours_is_left_alone_and_requests_go_through(tmp_path, caplog, write):
    path = tmp_path / "buckets"
    write(path)
    before = path.read_bytes()
    limiter = _limiter(path)
    assert [limiter.take(1, now=5_000_000.0) for _ in range(8)] == [0.0] * 8  # fails open
    assert "is not a rate-limit bucket file" in caplog.text
    assert path.read_bytes() == before


def test_an_unusable_bucket_file_lets_requests_through_and_says_so(tmp_path, caplog):
    path = tmp_path / "buckets"
    path.mkdir()  # not a file at all
    limiter = _limiter(path)
    assert [limiter.take(1, now=6_000_000.0) for _ in range(10)] == [0.0] * 10
    assert "rate limiter unavailable" in caplog.text


@pytest.mark.parametrize(
    "tokens, counted",
    [
        (float("nan"), float("nan")),
        (float("-inf"), 7_000_000.0),
        (-1.7e308, 7_000_000.0 + 1e9),  # would make a wait of infinity at a rate under one a second
        (-0.5, 7_000_000.0),
        (2.0, float("inf")),
        (2.0, -5.0),
    ],
)
def test_an_unreadable_slot_counts_as_a_full_bucket(tmp_path, tokens, counted):
    from groove_compat.store import ratelimit

    limiter = _limiter(tmp_path / "buckets", per_minute=30)
    assert [limiter.take(8, now=7_000_000.0) for _ in range(5)] == [0.0] * 5
    # Overwrite the credential's slot, as a torn or foreign write might leave it.
    offset = 64 + ratelimit._block_of(8) * 512
    with open(limiter.path, "r+b") as file:
        file.seek(offset)
        block = file.read(512)
        slot = next(index for index in range(21) if ratelimit._SLOT.unpack_from(block, index * 24)[0] == 8)
        file.seek(offset + slot * 24)
        file.write(ratelimit._SLOT.pack(8, tokens, counted))
    assert [limiter.take(8, now=7_000_000.0) for _ in range(6)] == [0.0] * 5 + [pytest.approx(2.0)]


def _keys_in_one_block(count):
    from groove_compat.store import ratelimit

    keys = [key for key in range(1, 200_000) if ratelimit._block_of(key) == 7]
    assert len(keys) >= count
    return keys[:count]


def test_a_full_block_forgets_the_bucket_counted_longest_ago(tmp_path):
    """Slots are per block; with every slot of a block holding a bucket still refilling, a new credential
    takes the slot of the one counted longest ago, and every other bucket keeps its count."""
    limiter = _limiter(tmp_path / "buckets", per_minute=1)  # a token a minute: nothing refills in the test
    keys = _keys_in_one_block(22)
    start = 8_000_000.0
    for offset, key in enumerate(keys[:21]):
        assert [limiter.take(key, now=start + offset) for _ in range(3)] == [0.0] * 3
    assert limiter.take(keys[0], now=start + 25) == 0.0  # keys[1] is now the one counted longest ago
    assert limiter.take(keys[21], now=start + 30) == 0.0  # and gives up its slot
    assert [limiter.take(keys[1], now=start + 31) for _ in range(5)] == [0.0] * 5  # a full bucket (keys[2] out)
    for offset, key in list(enumerate(keys))[3:21]:  # 2 tokens left each, plus a minute's token pro rata
        assert [limiter.take(key, now=start + 32) for _ in range(3)] == [0.0, 0.0, pytest.approx(28 + offset)]
    assert limiter.take(keys[0], now=start + 32) == 0.0  # 1 token left of the burst of 5


def test_a_refilled_bucket_gives_up_its_slot_before_a_refilling_one(tmp_path):
    limiter = _limiter(tmp_path / "buckets", per_minute=60)  # a token a second
    keys = _keys_in_one_block(22)
    start = 9_000_000.0
    for key in keys[1:21]:
        assert [limiter.take(key, now=start) for _ in range(5)] == [0.0] * 5  # empty: 5 s to refill
    assert limiter.take(keys[0], now=start + 1) == 0.0  # refilled a second later, at start + 2
    assert limiter.take(keys[21], now=start + 2.5) == 0.0  # takes keys[0]'s slot, not the stalest one's
    for key in keys[1:21]:  # nobody else's count was lost: 2.5 tokens back each
        assert [limiter.take(key, now=start + 2.5) for _ in range(3)] == [0.0, 0.0, pytest.approx(0.5)]


def test_unauthenticated_requests_do_not_spend_a_credential_bucket(limited_app, alice):
    client = limited_app.test_client()
    for _ in range(10):
        assert client.post(ADD.path, json={"TrackIds": [TRACK_A]}, headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.post(ADD.path, json={"TrackIds": [TRACK_A]}, headers=alice.headers).status_code == 200


def test_no_rate_limit_when_set_to_zero(database_path, users):
    from groove_compat.app import create_app

    app = create_app({"DATABASE": str(database_path), "RATE_LIMIT_PER_MINUTE": 0, "RATE_LIMIT_BURST": 1})
    assert app.extensions["groove_compat.rate_limiter"] is None
    client = app.test_client()
    assert {client.post(ADD.path, json={"TrackIds": [TRACK_A]}, headers=users["alice"].headers).status_code for _ in range(20)} == {200}


# ---------------------------------------------------------------------------------------------------------
# Rate limit across processes: two servers (two workers each) on one database share the buckets.


def test_the_rate_limit_holds_across_worker_processes_and_servers(tmp_path):
    database = tmp_path / "groove-compat.sqlite"
    users = seeded_database(database)
    env = {"GROOVE_COMPAT_RATE_LIMIT_PER_MINUTE": "6", "GROOVE_COMPAT_RATE_LIMIT_BURST": "10"}
    with ServerProcess(database, env=env) as first, ServerProcess(database, env=env) as second:
        statuses = []
        for index in range(24):  # a new connection each time: spread over both servers and all workers
            server = (first, second)[index % 2]
            answer = requests.post(
                server.url + ADD.path, json={"TrackIds": [TRACK_A]},
                headers=dict(users["alice"].headers, Connection="close"), timeout=10,
            )
            statuses.append(answer.status_code)
            if answer.status_code == 429:
                assert int(answer.headers["Retry-After"]) >= 1
                assert answer.json()["Error"]["ErrorCode"] == "TOO-MANY-REQUESTS"
        # 6 a minute refills 0.1 token/s: in the second or two this takes, at most one more token.
        assert statuses[:10] == [200] * 10
        assert statuses.count(200) <= 11
        assert post_add(first.url, users["bob"], [TRACK_A]).status_code == 200
        assert post_add(second.url, users["bob"], [TRACK_A]).status_code == 200


# ---------------------------------------------------------------------------------------------------------
# Id length.


def test_an_id_longer_than_the_bound_fails_alone_unread(client, store, alice):
    """``music.isrc.`` + an ISRC + hyphens is a valid id (hyphens are dropped) while it fits the bound;
    past it, the same id fails as COLLECTION-INVALID-ID, so it was not parsed."""
    isrc_id = "music.isrc.USQX92274821"
    fits = isrc_id + "-" * (256 - len(isrc_id))
    too_long = fits + "-"
    answer = client.post(ADD.path, json={"TrackIds": [too_long, fits]}, headers=alice.headers).get_json()
    assert answer["TrackActionResults"][0]["Error"]["ErrorCode"] == "COLLECTION-INVALID-ID"
    assert answer["TrackActionResults"][0]["InputId"] == too_long
    assert "Id" in answer["TrackActionResults"][1]
    assert answer["Error"]["ErrorCode"] == "COLLECTION-SOME-OPERATIONS-FAILED"
    assert len(store.collection_track_ids(store.user(alice.user_id)["library_id"])) == 1


# ---------------------------------------------------------------------------------------------------------
# Request time: slow clients.


DEADLINE = 3.0


@pytest.fixture(scope="module")
def deadline_server(tmp_path_factory):
    database = tmp_path_factory.mktemp("deadline") / "groove-compat.sqlite"
    users = seeded_database(database)
    # 3 s: long enough that the slow clients are still held while others are timed (1 s) on a loaded machine.
    with ServerProcess(database, env={"GROOVE_COMPAT_REQUEST_TIMEOUT": str(DEADLINE)}) as server:
        server.users = users
        yield server


def request_head(server, body_length, *, path=ADD.path):
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {server.users['alice'].token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {body_length}\r\n\r\n"
    ).encode()


class SlowClient(threading.Thread):
    """Sends ``chunks`` with ``pause`` seconds between them (stopping once answered), then reads the answer."""

    def __init__(self, server, chunks, *, pause=0.25):
        super().__init__(daemon=True)
        self.server, self.chunks, self.pause = server, chunks, pause
        self.response = None

    def run(self):
        self.response = raw_http(self.server.url, None, chunks=self.chunks, pause=self.pause, timeout=10)


def served_while(server, busy, *, seconds=1.0):
    """Latencies of normal adds made while ``busy`` threads hold their connections."""
    latencies = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.monotonic()
        answer = post_add(server.url, server.users["bob"], [UNKNOWN_TRACK])
        assert answer.status_code == 200
        latencies.append(time.monotonic() - started)
    assert all(thread.is_alive() for thread in busy), "the slow clients finished too early to prove anything"
    return latencies


def check_408(response, elapsed):
    assert response.status == 408, response
    assert parse_groove_answer(response.header("content-type"), response.body, ADD.response_type)[1] == "INVALID_INPUT_PARAMETER"
    assert elapsed < DEADLINE + 1.5


def one_byte_at_a_time(data):
    return [bytes([byte]) for byte in data]


SLOW_CASES = [
    # The head at once, then the body one byte every 0.25 s: the request would take 25 s.
    ("trickled-body", lambda server: [request_head(server, 100)] + one_byte_at_a_time(b" " * 100)),
    # The head itself one byte every 0.25 s.
    ("trickled-head", lambda server: one_byte_at_a_time(request_head(server, 2) + b"{}")),
    # The head, then nothing at all.
    ("stalled-body", lambda server: [request_head(server, 100)]),
    # Half a request line, then nothing.
    ("stalled-head", lambda server: [b"POST /1/content/mus"]),
]


@pytest.mark.parametrize("case, chunks", SLOW_CASES, ids=[case[0] for case in SLOW_CASES])
def test_a_slow_client_is_cut_off_at_the_deadline_and_others_are_served(deadline_server, case, chunks):
    before = snapshot(deadline_server.database)
    # More slow clients than there are worker processes: sync workers would all be held.
    slow_clients = [SlowClient(deadline_server, chunks(deadline_server)) for _ in range(3)]
    started = time.monotonic()
    for client in slow_clients:
        client.start()
    latencies = served_while(deadline_server, slow_clients, seconds=1.0)
    for client in slow_clients:
        client.join(timeout=10)
        check_408(client.response, time.monotonic() - started)
    assert max(latencies) < 1.5, f"other clients waited {max(latencies):.2f}s"  # held workers: the deadline
    assert snapshot(deadline_server.database) == before
    print(
        f"figures: {case}: 3 slow clients cut off after {time.monotonic() - started:.2f}s; "
        f"{len(latencies)} other requests served meanwhile, slowest {max(latencies) * 1000:.0f} ms"
    )


class CountingSocket:
    """A real socket whose settimeout calls are counted."""

    def __init__(self, sock):
        self.sock, self.settimeouts = sock, 0

    def settimeout(self, value):
        self.settimeouts += 1
        self.sock.settimeout(value)

    def __getattr__(self, name):
        return getattr(self.sock, name)


@pytest.fixture
def deadline_pair():
    from groove_compat.server import DeadlineSocket

    ours, theirs = socket.socketpair()
    counting = CountingSocket(ours)
    yield DeadlineSocket(counting, timeout=0.3), counting, theirs
    ours.close()
    theirs.close()


def test_a_timeout_kept_from_before_does_not_end_the_wait_before_the_deadline(deadline_pair):
    from groove_compat.server import RequestHeadTimeout

    sock, counting, _ = deadline_pair
    sock.setblocking(True)
    counting.sock.settimeout(0.26)  # within the slack of the 0.3 s wanted: kept
    sock.start_request()
    started = time.monotonic()
    with pytest.raises(RequestHeadTimeout):
        sock.recv(10)
    assert time.monotonic() - started >= 0.29  # the deadline, not the kept timeout
    assert time.monotonic() - started < 0.3 + sock.TIMEOUT_SLACK + 0.2


def test_reads_set_the_socket_timeout_only_when_it_is_off_by_more_than_the_slack(deadline_pair):
    sock, counting, theirs = deadline_pair
    for _ in range(5):  # five requests of two reads each, in quick succession
        sock.setblocking(True)
        sock.start_request()
        theirs.sendall(b"ab")
        assert sock.recv(1) == b"a" and sock.recv(1) == b"b"
    assert counting.settimeouts == 1
    sock.start_request()
    sock.deadline -= 0.2  # 0.1 s left: the 0.3 s timeout is too long by more than the slack
    theirs.sendall(b"c")
    assert sock.recv(1) == b"c"
    assert counting.settimeouts == 2 and counting.sock.gettimeout() <= 0.1


def test_the_closing_drain_keeps_its_own_cap_and_raises_nothing(deadline_pair):
    """gunicorn half-closes a finished connection and drains it for a bounded time (2 s; 0.2 here): the
    request's deadline neither stretches that wait nor ends it with a request timeout."""
    from gunicorn import util

    sock, _, _ = deadline_pair
    sock._timeout = 5.0
    sock.setblocking(True)
    sock.start_request()
    started = time.monotonic()
    util.close_graceful(sock, timeout=0.2)  # the client sends nothing and does not close
    assert time.monotonic() - started < 1.0


def test_a_drain_after_the_deadline_raises_nothing(deadline_pair):
    from gunicorn import util

    sock, _, _ = deadline_pair
    sock.setblocking(True)
    sock.start_request()
    sock.in_application = True
    sock.deadline = time.monotonic() - 1  # the request's deadline has passed
    util.close_graceful(sock, timeout=0.2)


def test_a_request_read_ahead_is_answered_with_a_whole_timeout(deadline_pair):
    """The timeout a request's last read left (here almost nothing) is not the next request's when that
    request needs no read (it was read ahead): switching to blocking mode sets a whole one."""
    sock, counting, _ = deadline_pair
    counting.sock.settimeout(0.01)
    sock.setblocking(True)
    assert counting.sock.gettimeout() == pytest.approx(0.3)


def test_a_client_that_sends_slowly_but_within_the_deadline_is_served(deadline_server):
    body = json.dumps({"TrackIds": [UNKNOWN_TRACK]}).encode()
    head = request_head(deadline_server, len(body))
    response = raw_http(deadline_server.url, None, chunks=[head, body[:10], body[10:]], pause=0.4, timeout=10)
    assert response.status == 200
    assert json.loads(response.body)["TrackActionResults"][0]["InputId"] == UNKNOWN_TRACK


def test_a_lying_content_length_is_cut_off_at_the_deadline(deadline_server):
    """Content-Length promises more than is sent: 408 at the deadline, nothing stored."""
    before = snapshot(deadline_server.database)
    body = json.dumps({"TrackIds": [TRACK_A]}).encode()
    started = time.monotonic()
    response = raw_http(deadline_server.url, request_head(deadline_server, len(body) + 50) + body, timeout=10)
    check_408(response, time.monotonic() - started)
    assert snapshot(deadline_server.database) == before


def test_idle_connections_do_not_starve_the_server(deadline_server):
    """Twenty connections that send nothing at all: other clients are still served at once."""
    idle = [socket.create_connection(("127.0.0.1", deadline_server.port)) for _ in range(20)]
    try:
        time.sleep(0.2)
        started = time.monotonic()
        assert post_add(deadline_server.url, deadline_server.users["bob"], [UNKNOWN_TRACK]).status_code == 200
        assert time.monotonic() - started < 2.0  # starved, it would wait for the idle ones' deadline (3 s)
    finally:
        for sock in idle:
            sock.close()


def worker_holding(server, client_port):
    """The worker process that holds the server end of the connection from ``client_port``, read from the
    kernel's socket tables (Linux)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        with open(table) as handle:
            for line in list(handle)[1:]:
                fields = line.split()
                local_port, remote_port = (int(address.rsplit(":", 1)[1], 16) for address in fields[1:3])
                if local_port == server.port and remote_port == client_port:
                    inodes.add(f"socket:[{fields[9]}]")
    holders = set()
    for pid in server.worker_pids():
        for descriptor in os.listdir(f"/proc/{pid}/fd"):
            try:
                if os.readlink(f"/proc/{pid}/fd/{descriptor}") in inodes:
                    holders.add(pid)
            except OSError:  # closed meanwhile
                pass
    assert len(holders) == 1, (client_port, inodes, holders)
    return holders.pop()


@pytest.mark.skipif(not os.path.exists("/proc/net/tcp"), reason="reads the kernel's socket tables")
def test_connections_that_hold_threads_are_spread_over_the_workers(tmp_path):
    """Four connections, one after another, each holding a thread (the request head sent, the body not yet),
    against two workers of two threads: each worker takes two. A worker whose threads are all busy leaves
    the next connection to a worker with a free thread instead of taking it to wait in its own queue (a
    client's keep-alive connections, opened together, once all went to one worker: one core serving them)."""
    database = tmp_path / "groove-compat.sqlite"
    users = seeded_database(database)
    with ServerProcess(database, workers=2, threads=2, env={"GROOVE_COMPAT_REQUEST_TIMEOUT": "20"}) as server:
        server.users = users
        time.sleep(1.0)  # both workers in their accept loop (started only says their processes exist)
        body = json.dumps({"TrackIds": [UNKNOWN_TRACK]}).encode()
        connections = []
        try:
            for _ in range(4):
                connection = socket.create_connection(("127.0.0.1", server.port), timeout=10)
                connection.sendall(request_head(server, len(body)))
                connections.append(connection)
                time.sleep(0.5)  # accepted, and read by a thread that now waits for the body
            holders = collections.Counter(worker_holding(server, c.getsockname()[1]) for c in connections)
            assert sorted(holders.values()) == [2, 2], holders
            for connection in connections:
                connection.sendall(body)
            for connection in connections:
                answer = read_raw_answer(connection)
                assert answer.status == 200, answer
        finally:
            for connection in connections:
                connection.close()


def accepting_worker(listener, *, threads, in_flight):
    """A threaded worker's accept switch over a real listening socket, without running the worker."""
    worker = object.__new__(GrooveThreadWorker)
    worker.sockets = [listener]
    worker.poller = selectors.DefaultSelector()
    worker.cfg = types.SimpleNamespace(threads=threads)
    worker.alive, worker.nr_conns, worker.worker_connections = True, 0, 1000
    worker._accepting = False
    worker._in_flight = in_flight
    return worker


def listening(worker):
    return any(key.fileobj in worker.sockets for key in worker.poller.get_map().values())


@contextlib.contextmanager
def listener_and_worker(*, in_flight, threads=2):
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.setblocking(False)
        worker = accepting_worker(listener, threads=threads, in_flight=in_flight)
        clients = []

        def connect():
            clients.append(socket.create_connection(listener.getsockname()))
            time.sleep(0.05)  # the handshake is done: the connection is in the listen queue

        try:
            yield listener, worker, connect
        finally:
            for client in clients:
                client.close()
            worker.poller.close()


@pytest.mark.parametrize("in_flight, queued, accepting_at_once, accepting_later", [
    (1, True, True, True),  # a free thread: accept
    (2, False, False, False),  # busy, nobody waiting: stay out of the way
    (2, True, False, True),  # busy, a connection left waiting by every other worker: take it after the delay
])
def test_a_busy_worker_takes_a_connection_only_once_it_has_waited(in_flight, queued, accepting_at_once, accepting_later):
    with listener_and_worker(in_flight=in_flight) as (listener, worker, connect):
        if queued:
            connect()
        worker.set_accept_enabled(True)
        assert worker._accepting is accepting_at_once
        time.sleep(worker.accept_delay * 2)
        worker.set_accept_enabled(True)
        assert worker._accepting is accepting_later
        assert listening(worker) is accepting_later


def test_a_connection_arriving_later_waits_afresh():
    """Having once seen the queue wait does not let a busy worker take the next connection at once."""
    with listener_and_worker(in_flight=2) as (listener, worker, connect):
        connect()
        worker.set_accept_enabled(True)  # busy: the first connection starts to wait
        worker._in_flight = 1
        worker.set_accept_enabled(True)  # a free thread: accepts the usual way
        assert worker._accepting is True
        listener.accept()[0].close()
        worker._in_flight = 2
        time.sleep(worker.accept_delay * 2)
        connect()
        worker.set_accept_enabled(True)
        assert worker._accepting is False


def test_a_busy_worker_stops_listening_when_another_took_the_connection():
    """The gate is decided again before every wait: a busy worker opened by a waiting connection that
    another worker then took goes back to leaving the queue alone."""
    with listener_and_worker(in_flight=2) as (listener, worker, connect):
        connect()
        worker.set_accept_enabled(True)
        time.sleep(worker.accept_delay * 2)
        worker.set_accept_enabled(True)
        assert worker._accepting is True
        listener.accept()[0].close()  # another worker's accept
        worker.wait_for_and_dispatch_events(0)
        assert worker._accepting is False and not listening(worker)


def test_a_busy_worker_looks_again_after_the_delay_not_after_the_loop_timeout():
    with listener_and_worker(in_flight=2) as (listener, worker, connect):
        connect()
        started = time.monotonic()
        worker.wait_for_and_dispatch_events(1.0)  # the queue waits: back after accept_delay, not 1 s
        assert time.monotonic() - started < 0.5
        assert worker._accepting is False
        accepted = []
        worker.accept = lambda listener: accepted.append(listener.accept()[0])  # what the poller calls back
        time.sleep(worker.accept_delay)
        worker.wait_for_and_dispatch_events(1.0)
        assert len(accepted) == 1
        accepted[0].close()


def test_a_busy_worker_sees_a_connection_that_arrives_while_it_waits():
    """Its threads may keep their connections for many requests (the keep-alive linger), so nothing else
    wakes a busy worker's loop: it looks at the queue every accept_delay, not once a second."""
    with listener_and_worker(in_flight=2) as (listener, worker, connect):
        accepted = []
        worker.accept = lambda listener: accepted.append(listener.accept()[0])
        arrival = threading.Timer(0.05, connect)
        arrival.start()
        started = time.monotonic()
        while not accepted and time.monotonic() - started < 3.0:
            worker.wait_for_and_dispatch_events(1.0)
        elapsed = time.monotonic() - started
        arrival.join()
        assert len(accepted) == 1
        accepted[0].close()
        assert elapsed < 0.5  # 1 s and more when the loop waited out gunicorn's timeout


def test_a_worker_whose_master_is_gone_stops_accepting_for_good():
    """gunicorn leaves the run loop when the master is gone without clearing ``alive``; the stopping loop
    after it must not turn accepting back on and take new connections it is about to cut."""
    with listener_and_worker(in_flight=0) as (listener, worker, connect):
        worker.ppid = -1  # not our parent: the master is gone
        worker.log = types.SimpleNamespace(info=lambda *arguments: None)
        assert worker.is_parent_alive() is False
        assert worker.alive is False
        connect()
        worker.wait_for_and_dispatch_events(0)
        assert worker._accepting is False and not listening(worker)


def test_a_worker_at_its_connection_limit_does_not_wake_to_look_at_the_queue():
    """It could not accept anyway: it waits for its own events, not every accept_delay."""
    with listener_and_worker(in_flight=2) as (listener, worker, connect):
        worker.nr_conns = worker.worker_connections
        started = time.monotonic()
        worker.wait_for_and_dispatch_events(0.3)
        assert time.monotonic() - started >= 0.25


def test_sync_workers_also_cut_a_slow_client_off_at_the_deadline(tmp_path):
    """With ``--threads 1`` (sync workers) the deadline holds too, though each slow client then holds a
    whole worker process until it passes: threaded workers are the default for that reason."""
    database = tmp_path / "groove-compat.sqlite"
    users = seeded_database(database)
    with ServerProcess(database, threads=1, env={"GROOVE_COMPAT_REQUEST_TIMEOUT": "1"}) as server:
        server.users = users
        started = time.monotonic()
        response = raw_http(server.url, None, chunks=[request_head(server, 100)] + one_byte_at_a_time(b" " * 100), pause=0.25)
        assert response.status == 408
        assert time.monotonic() - started < 4.0  # the trickle alone would take 25 s
        assert "GrooveSyncWorker" in server.log_text()
