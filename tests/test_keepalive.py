"""Kept-alive connections: a thread serves a connection's next request itself when it arrives at once.

End to end over real sockets against a live server: requests sent back to back and requests sent with
pauses are all answered on one connection, another client is not starved by two that never pause, and a
next request that trickles in is cut off at the deadline like any other. Then the decision itself, on a
worker that is not running, over a real socket pair.
"""

import json
import socket
import threading
import time
import types

import pytest

from groove_compat.server import GrooveThreadWorker

from conftest import TRACK_A, TRACK_B, UNKNOWN_TRACK, seeded_database
from reliability import ROUTES, ServerProcess, parse_groove_answer, read_raw_answer, snapshot

ADD = ROUTES[0]
DEADLINE = 2.0


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    database = tmp_path_factory.mktemp("keepalive") / "groove-compat.sqlite"
    users = seeded_database(database)
    # One worker of two threads: the starvation test needs every thread held by clients that never pause.
    with ServerProcess(database, workers=1, threads=2, env={"GROOVE_COMPAT_REQUEST_TIMEOUT": str(DEADLINE)}) as live:
        live.users = users
        yield live


def add_request(server, user, track_ids):
    body = json.dumps({"TrackIds": track_ids}).encode()
    head = (
        f"POST {ADD.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {server.users[user].token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    return head, body


def results_of(answer):
    assert answer.status == 200, answer
    assert answer.header("connection") != "close"
    document = json.loads(answer.body)
    return [result.get("Id") is not None for result in document["TrackActionResults"]]


@pytest.mark.parametrize("pause", [0.0, 0.05], ids=["back to back", "with pauses past the linger"])
def test_every_request_on_one_connection_is_answered(server, pause):
    """Twenty adds on one connection, sent as soon as the previous answer is read, or 50 ms later (the
    connection then goes back to the poller between requests): every one answered, in order."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        for number in range(20):
            track_ids = [TRACK_A, UNKNOWN_TRACK] if number % 2 else [UNKNOWN_TRACK]
            connection.sendall(b"".join(add_request(server, "alice", track_ids)))
            assert results_of(read_raw_answer(connection)) == ([True, False] if number % 2 else [False])
            time.sleep(pause)


def test_requests_pipelined_in_one_write_are_all_answered(server):
    """Three requests in one write: the later two are read ahead with the first and answered in turn."""
    requests = [b"".join(add_request(server, "alice", [track])) for track in (TRACK_A, UNKNOWN_TRACK, TRACK_B)]
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        connection.sendall(b"".join(requests))
        received = b""
        deadline = time.monotonic() + 10
        while received.count(b"HTTP/1.1 200") < 3 or not received.endswith(b"}"):
            assert time.monotonic() < deadline, received
            received += connection.recv(65536)
    answers = [part for part in received.split(b"HTTP/1.1 ")[1:]]
    assert [b'"Id"' in answer for answer in answers] == [True, False, True]


def test_clients_that_never_pause_do_not_starve_another(server):
    """Two clients hold both threads with requests back to back; a third client's request, queued behind
    them, is answered within a fraction of a second: a thread gives its connection back to the poller as
    soon as another connection waits for one."""
    stop = threading.Event()
    served = [0, 0]

    def hammer(index):
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
            request = b"".join(add_request(server, "alice", [UNKNOWN_TRACK]))
            while not stop.is_set():
                connection.sendall(request)
                assert read_raw_answer(connection).status == 200
                served[index] += 1

    hammers = [threading.Thread(target=hammer, args=(index,), daemon=True) for index in range(2)]
    for thread in hammers:
        thread.start()
    try:
        time.sleep(0.5)
        latencies = []
        for _ in range(5):
            started = time.monotonic()
            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
                connection.sendall(b"".join(add_request(server, "bob", [UNKNOWN_TRACK])))
                assert read_raw_answer(connection).status == 200
            latencies.append(time.monotonic() - started)
        assert all(thread.is_alive() for thread in hammers)
    finally:
        stop.set()
        for thread in hammers:
            thread.join(timeout=10)
    assert min(served) > 10, served  # both kept being served meanwhile
    # Starved, it would wait until a hammering client stops (never, here): 10 s and the client's timeout.
    assert max(latencies) < 1.0, latencies


def test_a_next_request_that_trickles_in_is_cut_off_at_the_deadline(server):
    """The first request answered, the next one's head arrives at once but its body never does: 408 at the
    deadline, in the Groove body, and nothing stored."""
    before = snapshot(server.database)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        connection.sendall(b"".join(add_request(server, "alice", [UNKNOWN_TRACK])))
        assert read_raw_answer(connection).status == 200
        head, body = add_request(server, "alice", [TRACK_A])
        started = time.monotonic()
        connection.sendall(head + body[:5])
        answer = read_raw_answer(connection)
    elapsed = time.monotonic() - started
    assert answer.status == 408, answer
    assert parse_groove_answer(answer.header("content-type"), answer.body, ADD.response_type)[1] == "INVALID_INPUT_PARAMETER"
    assert DEADLINE - 0.5 < elapsed < DEADLINE + 1.5
    assert snapshot(server.database) == before


# ---------------------------------------------------------------------------------------------------------
# The decision, on a worker that is not running.


def lingering_worker(*, threads=2, in_flight=1, alive=True):
    worker = object.__new__(GrooveThreadWorker)
    worker.cfg = types.SimpleNamespace(threads=threads)
    worker.alive = alive
    worker._in_flight = in_flight
    return worker


class Connection:
    """What the decision reads of gunicorn's connection: its socket and its parser's read-ahead buffer."""

    def __init__(self, sock, read_ahead=b""):
        self.sock = sock
        self.parser = types.SimpleNamespace(unreader=types.SimpleNamespace(buf=types.SimpleNamespace(getvalue=lambda: read_ahead)))


@pytest.fixture
def socket_pair():
    server_end, client_end = socket.socketpair()
    yield server_end, client_end
    server_end.close()
    client_end.close()


def test_a_next_request_already_sent_is_served_here(socket_pair):
    server_end, client_end = socket_pair
    client_end.sendall(b"POST /")
    assert lingering_worker()._next_request_is_mine(Connection(server_end)) is True


def test_a_next_request_arriving_within_the_linger_is_served_here(socket_pair):
    server_end, client_end = socket_pair
    worker = lingering_worker()
    worker.keepalive_linger = 0.5
    threading.Timer(0.05, client_end.sendall, args=(b"POST /",)).start()
    started = time.monotonic()
    assert worker._next_request_is_mine(Connection(server_end)) is True
    assert time.monotonic() - started < 0.4


def test_a_quiet_connection_goes_back_after_the_linger(socket_pair):
    server_end, _ = socket_pair
    worker = lingering_worker()
    started = time.monotonic()
    assert worker._next_request_is_mine(Connection(server_end)) is False
    assert worker.keepalive_linger <= time.monotonic() - started < 0.5


def test_bytes_read_ahead_are_served_here_without_waiting(socket_pair):
    server_end, _ = socket_pair
    assert lingering_worker()._next_request_is_mine(Connection(server_end, read_ahead=b"POST /")) is True


@pytest.mark.parametrize("worker", [
    lingering_worker(threads=2, in_flight=3),  # a connection waits for a thread
    lingering_worker(alive=False),  # stopping: the connection goes back, to be answered "Connection: close"
], ids=["others waiting", "stopping"])
def test_no_lingering_when_others_wait_or_the_worker_stops(socket_pair, worker):
    server_end, client_end = socket_pair
    client_end.sendall(b"POST /")
    assert worker._next_request_is_mine(Connection(server_end, read_ahead=b"POST /")) is False


def test_a_closed_client_is_left_to_the_usual_path(socket_pair):
    """The client hung up: the socket reads as ready (end of file), and the thread's next read closes it."""
    server_end, client_end = socket_pair
    client_end.close()
    assert lingering_worker()._next_request_is_mine(Connection(server_end)) is True
