"""A response's head leaves with its body's first write: one system call and one TCP segment, not two.

First the held write itself, on a socket that records its calls; then the threaded worker's use of it,
with gunicorn's request handling replaced by a writer; then end to end, responses with and without a body
on one kept-alive connection of a live server.
"""

import socket
import tempfile
import types

import pytest

from gunicorn.http import wsgi
from gunicorn.workers import gthread

from groove_compat.server import DeadlineSocket, GrooveThreadWorker

from conftest import seeded_database
from reliability import ServerProcess


class RecordingSocket:
    def __init__(self):
        self.sent = []

    def sendall(self, data, *args):
        self.sent.append(bytes(data))

    def fileno(self):
        return 99


def held_socket(*, holding=None):
    """A socket over a RecordingSocket; with ``holding``, asked to hold and already holding those bytes."""
    sock = DeadlineSocket(RecordingSocket(), timeout=5.0)
    sock.start_request()
    if holding is not None:
        sock.hold_first_write()
        sock.sendall(holding)
    return sock


def test_the_head_leaves_with_the_first_body_write():
    sock = held_socket(holding=b"HEAD\r\n\r\n")
    assert sock._sock.sent == []
    sock.sendall(b"body 1")
    sock.sendall(b"body 2")
    sock.flush()
    assert sock._sock.sent == [b"HEAD\r\n\r\nbody 1", b"body 2"]


def test_a_head_without_a_body_leaves_at_the_flush():
    sock = held_socket(holding=b"HEAD\r\n\r\n")
    sock.flush()
    sock.flush()
    assert sock._sock.sent == [b"HEAD\r\n\r\n"]


def test_writes_are_not_held_unless_asked():
    sock = held_socket()
    sock.sendall(b"refusal")
    assert sock._sock.sent == [b"refusal"]


def test_a_dropped_head_is_never_sent_and_later_writes_go_straight_out():
    sock = held_socket(holding=b"HEAD\r\n\r\n")
    sock.drop_held()
    sock.sendall(b"error answer")
    sock.flush()
    assert sock._sock.sent == [b"error answer"]


def test_asking_for_the_descriptor_sends_the_head_first():
    """gunicorn before 27 sent files with os.sendfile on the descriptor, after writing the head."""
    sock = held_socket(holding=b"HEAD\r\n\r\n")
    assert sock.fileno() == 99
    assert sock._sock.sent == [b"HEAD\r\n\r\n"]


def test_a_new_request_starts_with_nothing_held():
    sock = held_socket(holding=b"stale head")
    sock.start_request()
    sock.sendall(b"next")
    assert sock._sock.sent == [b"next"]


def gunicorn_response(sock):
    """gunicorn's own Response writing to ``sock``, as its threaded worker makes it."""
    request = types.SimpleNamespace(version=(1, 1), method="GET", should_close=lambda: False)
    config = types.SimpleNamespace(sendfile=None, is_ssl=False, protocol="http")
    return wsgi.Response(request, sock, config)


@pytest.fixture
def held_pair():
    ours, theirs = socket.socketpair()
    theirs.settimeout(2)
    sock = DeadlineSocket(ours, timeout=5.0)
    sock.start_request()
    sock.hold_first_write()
    yield sock, theirs
    ours.close()
    theirs.close()


def received(theirs, count):
    data = b""
    while len(data) < count:
        data += theirs.recv(65536)
    return data


def test_a_file_sent_by_sendfile_follows_the_head(held_pair):
    sock, theirs = held_pair
    response = gunicorn_response(sock)
    response.start_response("200 OK", [("Content-Length", "9")])
    with tempfile.TemporaryFile() as file:
        file.write(b"FILEBYTES")
        file.seek(0)
        response.write_file(wsgi.FileWrapper(file))
    response.close()
    sock.flush()
    data = received(theirs, 9)
    while not data.endswith(b"FILEBYTES"):
        data += theirs.recv(65536)
    assert data.startswith(b"HTTP/1.1 200 OK\r\n") and data.index(b"\r\n\r\n") + 4 == len(data) - 9


def test_an_early_hints_answer_goes_at_once_and_the_head_still_waits_for_the_body(held_pair):
    sock, theirs = held_pair
    response = gunicorn_response(sock)
    sock.sendall(b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n")
    assert theirs.recv(4096).startswith(b"HTTP/1.1 103 ")
    response.start_response("200 OK", [("Content-Length", "2")])
    response.write(b"ok")
    data = theirs.recv(4096)
    assert data.startswith(b"HTTP/1.1 200 OK\r\n") and data.endswith(b"\r\n\r\nok")


class Connection:
    def __init__(self, sock):
        self.sock = sock


def worker():
    """A threaded worker that is not running: only what handle_request reads."""
    instance = GrooveThreadWorker.__new__(GrooveThreadWorker)
    return instance


@pytest.mark.parametrize(
    "writes, expected",
    [
        ([b"HEAD\r\n\r\n", b"body"], [b"HEAD\r\n\r\nbody"]),
        ([b"HEAD\r\n\r\n"], [b"HEAD\r\n\r\n"]),  # no body: a HEAD request, a 204
        ([b"HEAD\r\n\r\n", b"a", b"b"], [b"HEAD\r\n\r\na", b"b"]),
    ],
)
def test_the_threaded_worker_sends_a_response_head_with_its_body(monkeypatch, writes, expected):
    def respond(self, req, conn):
        for data in writes:
            conn.sock.sendall(data)
        return True

    monkeypatch.setattr(gthread.ThreadWorker, "handle_request", respond)
    connection = Connection(held_socket())
    assert worker().handle_request(object(), connection) is True
    assert connection.sock._sock.sent == expected
    assert connection.sock.in_application


def test_a_response_that_fails_after_its_head_sends_nothing_and_leaves_the_socket_unheld(monkeypatch):
    def respond(self, req, conn):
        conn.sock.sendall(b"HEAD\r\n\r\n")
        raise StopIteration()  # gunicorn's way out once a head is (as it thinks) sent

    monkeypatch.setattr(gthread.ThreadWorker, "handle_request", respond)
    connection = Connection(held_socket())
    with pytest.raises(StopIteration):
        worker().handle_request(object(), connection)
    assert connection.sock._sock.sent == []
    connection.sock.sendall(b"refusal")  # an error answer written afterwards goes out at once
    assert connection.sock._sock.sent == [b"refusal"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    database = tmp_path_factory.mktemp("writes") / "groove-compat.sqlite"
    seeded_database(database)
    with ServerProcess(database) as live:
        yield live


def read_answer(connection, received, *, with_body):
    """``(status, headers, body, rest)`` of the next answer on ``connection``, after ``received``."""
    while b"\r\n\r\n" not in received:
        part = connection.recv(65536)
        assert part, "the connection closed before a whole head came"
        received += part
    head, _, received = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
    length = int(headers["content-length"]) if with_body else 0
    while len(received) < length:
        part = connection.recv(65536)
        assert part, "the connection closed before the whole body came"
        received += part
    return int(lines[0].split()[1]), headers, received[:length], received[length:]


def test_answers_with_and_without_a_body_on_one_connection(server):
    """HEAD answers carry no body: their head is sent alone, and the next answer still follows it."""
    host, port = server.url.split("//")[1].split(":")
    received = b""
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        for method in ("GET", "HEAD", "HEAD", "GET", "HEAD", "GET"):
            connection.sendall(f"{method} /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
            status, headers, body, received = read_answer(connection, received, with_body=method == "GET")
            assert status == 200
            assert headers.get("connection", "").lower() != "close"
            assert len(body) == (int(headers["content-length"]) if method == "GET" else 0)
        assert received == b""  # nothing sent that was not asked for
