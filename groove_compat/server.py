"""The production WSGI server: gunicorn, embedded, so ``groove-compat serve`` needs no other command.

gunicorn's own access log is off: it would print query strings, which may hold a legacy accessToken.
The application writes one JSON access line per request instead (request id, route, status, caller).

Two things are added to gunicorn's workers:

- a request deadline: the request line, headers and body must arrive within ``REQUEST_TIMEOUT`` seconds of
  the request's start, and no single read may stall longer than that. A client that trickles its request
  (slowloris) holds one thread for at most that long and then gets 408; gunicorn alone would let it hold a
  sync worker until the worker is killed, or a thread forever.
- answers in the dialect's error body for what gunicorn refuses before the application runs (an oversized
  header or request line, a malformed request, the deadline): legacy clients parse every body as the
  endpoint's response type, and gunicorn's HTML page would make them throw.
"""

import ctypes
import gc
import select
import socket
import time

from gunicorn.app.base import BaseApplication
from gunicorn.http import errors as http_errors
from gunicorn.workers.gthread import _DEFER, ThreadWorker
from gunicorn.workers.sync import SyncWorker
from werkzeug.exceptions import RequestTimeout


class RequestHeadTimeout(Exception):
    """The request line and headers did not arrive before the deadline (raised outside the application)."""


class DeadlineSocket:
    """A client socket whose reads share one deadline per request.

    Inside the application a late read raises werkzeug's ``RequestTimeout`` (an HTTP 408 the application
    answers itself); before it, ``RequestHeadTimeout``, which the worker answers. Later reads (gunicorn's
    closing drain) raise ``socket.timeout``, which gunicorn handles quietly.
    """

    # How much of a request's first bytes is kept: enough for the method and the path of a request line
    # gunicorn refuses as too long, so that the refusal is answered by the dialect that owns the path.
    HEAD_KEPT = 512

    def __init__(self, sock, *, timeout):
        self._sock = sock
        self._timeout = timeout
        self.deadline = None
        self.in_application = False
        self.expired = False
        self.head = b""
        self._holding = False
        self._held = None

    def start_request(self):
        self.deadline = time.monotonic() + self._timeout
        self.in_application = False
        self.expired = False
        self.head = b""
        self._holding = False
        self._held = None

    # gunicorn writes a response's head and its body with a ``sendall`` each: two system calls, two
    # releases of the GIL and two TCP segments for the client to read. Held here, the head leaves with the
    # body's first write. Measured (benchmark server and wrk load, c8, alternated in one invocation): new adds
    # 731 vs 709/s (4 rounds), re-adds 1,333 vs 1,260/s, server CPU per re-add 1.40 vs 1.47 ms.
    def hold_first_write(self):
        """Keep the next ``sendall`` (a response's head) and send it with the one after it (the body)."""
        self._holding = True

    def sendall(self, data, *args):
        if self._holding:
            if data[:10] == b"HTTP/1.1 1":  # an interim answer (103 Early Hints) goes at once
                return self._sock.sendall(data, *args)
            self._holding = False
            self._held = data
            return None
        if self._held is not None:
            data, self._held = self._held + data, None
        return self._sock.sendall(data, *args)

    def flush(self):
        """Send what is held (a response with no body: its head alone)."""
        self._holding = False
        if self._held is not None:
            held, self._held = self._held, None
            self._sock.sendall(held)

    def drop_held(self):
        """Forget what is held: the response failed before its body, and the connection is closing (or
        gets an error response of its own)."""
        self._holding = False
        self._held = None

    def __getattr__(self, name):
        return getattr(self._sock, name)

    def fileno(self):
        if self._held is not None:  # a file sent by os.sendfile must follow the head
            self.flush()
        return self._sock.fileno()

    def sendfile(self, *args, **kwargs):
        self.flush()  # gunicorn sends a file_wrapper's file after writing the head
        return self._sock.sendfile(*args, **kwargs)

    def shutdown(self, how):
        # gunicorn half-closes a connection it is done with, then drains what the client still sends for
        # at most 2 s: those reads are past the request, and its deadline must neither stretch that wait
        # nor raise a request timeout out of the drain.
        self.deadline = None
        return self._sock.shutdown(how)

    # Every settimeout is a system call (and a release of the GIL): a timeout already within this much of
    # the one wanted is kept. A read that times out early waits out the rest; one may end this much late.
    TIMEOUT_SLACK = 0.05

    def setblocking(self, flag):
        # gunicorn switches a socket to blocking mode to read a request: a read must never block forever.
        # Every read then sets the timeout its deadline leaves; a request read ahead needs no read, and its
        # answer is written with the timeout set here.
        if flag:
            self._keep_or_set_timeout(self._timeout, self._sock.gettimeout())
        else:
            self._sock.setblocking(False)

    def _keep_or_set_timeout(self, wanted, applied):
        """Set ``wanted`` as the socket's timeout unless ``applied`` (a timeout, not None or 0: blocking or
        non-blocking mode) is already within TIMEOUT_SLACK of it."""
        if applied is None or applied <= 0 or abs(applied - wanted) > self.TIMEOUT_SLACK:
            self._sock.settimeout(wanted)

    def _expire(self):
        if self.expired:
            raise socket.timeout("request deadline passed")
        self.expired = True
        if self.in_application:
            raise RequestTimeout(f"The request did not arrive within {self._timeout:g} seconds")
        raise RequestHeadTimeout(f"The request head did not arrive within {self._timeout:g} seconds")

    def _read(self, method, *args):
        while True:
            applied = self._sock.gettimeout()
            if self.deadline is not None and applied != 0.0:
                remaining = self.deadline - time.monotonic()
                if remaining <= 0:
                    self._expire()
                self._keep_or_set_timeout(min(remaining, self._timeout), applied)
            try:
                return method(*args)
            except socket.timeout:
                if self.deadline is None:
                    raise
                if time.monotonic() < self.deadline:
                    continue  # a kept timeout ended a little before the deadline
                self._expire()

    def recv(self, *args):
        data = self._read(self._sock.recv, *args)
        if len(self.head) < self.HEAD_KEPT and not self.in_application:
            self.head += data[: self.HEAD_KEPT - len(self.head)]
        return data

    def recv_into(self, buffer, *args):
        count = self._read(self._sock.recv_into, buffer, *args)
        if len(self.head) < self.HEAD_KEPT and not self.in_application and count:
            self.head += bytes(memoryview(buffer)[: min(count, self.HEAD_KEPT - len(self.head))])
        return count

    def request_target(self):
        """``(method, path)`` read from the first bytes of the request, or ``(None, None)``."""
        parts = self.head.split(b"\r\n", 1)[0].split(b" ", 2)
        # The path counts only when it is whole: followed by its query or by the space before the version.
        if len(parts) < 2 or not parts[1].startswith(b"/") or (len(parts) == 2 and b"?" not in parts[1]):
            return None, None
        return parts[0].decode("latin-1"), parts[1].split(b"?", 1)[0].decode("latin-1")


# What gunicorn refuses before the application runs: (status, message) by exception class.
_CLIENT_ERRORS = (
    (RequestHeadTimeout, 408, None),
    (http_errors.LimitRequestLine, 414, "The request line is too long"),
    (http_errors.LimitRequestHeaders, 431, "The request headers are too large or too many"),
    (http_errors.ExpectationFailed, 417, "Unsupported Expect header"),
    (http_errors.UnsupportedTransferCoding, 400, "Unsupported Transfer-Encoding"),
    (
        (
            http_errors.InvalidRequestLine,
            http_errors.InvalidRequestMethod,
            http_errors.InvalidHTTPVersion,
            http_errors.InvalidHeader,
            http_errors.InvalidHeaderName,
            http_errors.ObsoleteFolding,
            http_errors.InvalidChunkSize,
            http_errors.ChunkMissingTerminator,
            http_errors.InvalidChunkExtension,
            http_errors.InvalidSchemeHeaders,
        ),
        400,
        "The request is not valid HTTP/1.1",
    ),
)


def _client_error(exception):
    for kinds, status, message in _CLIENT_ERRORS:
        if isinstance(exception, kinds) and not isinstance(
            exception, (http_errors.InvalidResponseHeader, http_errors.InvalidResponseHeaderName)
        ):
            return status, message or str(exception)
    return None


def _request_target(request, exception):
    request = request or getattr(exception, "req", None)
    method = getattr(request, "method", None)
    path = getattr(request, "path", None)
    return (method if isinstance(method, str) else "GET"), (path if isinstance(path, str) else None)


class _GrooveWorkerMixin:
    """Deadlines on client sockets, and dialect error bodies for gunicorn's own refusals."""

    request_timeout = 10.0
    render_refusal = None  # (method, path, status, message) -> (head bytes, body bytes)

    def _deadline_socket(self, sock):
        if not isinstance(sock, DeadlineSocket):
            sock = DeadlineSocket(sock, timeout=self.request_timeout)
        sock.start_request()
        return sock

    def handle_error(self, req, client, addr, exc):
        refusal = _client_error(exc)
        render = type(self).render_refusal
        if refusal is None or render is None:
            return super().handle_error(req, client, addr, exc)
        status, message = refusal
        method, path = _request_target(req, exc)
        if path is None and isinstance(client, DeadlineSocket):
            # A request line too long to parse: its first bytes still tell whose path it is.
            method, path = (value or default for value, default in zip(client.request_target(), (method, None)))
        self.log.info("refused a request from %s: %s %s", (addr or ("",))[0], status, message)
        try:
            head, body = render(method=method, path=path, status=status, message=message)
            raw = getattr(client, "_sock", client)
            raw.settimeout(2.0)
            raw.sendall(head + body)
        except Exception:  # the client may be gone: nothing more to do for it
            self.log.debug("could not send the refusal")


class GrooveSyncWorker(_GrooveWorkerMixin, SyncWorker):
    def handle(self, listener, client, addr):
        return super().handle(listener, self._deadline_socket(client), addr)

    def handle_request(self, listener, req, client, addr):
        if isinstance(client, DeadlineSocket):
            client.in_application = True
        return super().handle_request(listener, req, client, addr)


class GrooveThreadWorker(_GrooveWorkerMixin, ThreadWorker):
    # How long a thread waits for the first bytes of a new connection before handing it back to the
    # poller. gunicorn waits 5 s, so a handful of connections that send nothing held every thread.
    first_data_wait = 0.05

    # A busy worker leaves new connections to a worker with a free thread. gunicorn's threaded worker
    # accepts while it holds fewer than worker_connections (1,000), so a client that opens several
    # keep-alive connections at once (a batch importer's pool, a load generator) could have them all
    # accepted by one worker and served by one core, its threads contending for one GIL: measured, eight
    # connections all on one of two workers in 5 runs of 12, at a third of the throughput. But when every
    # worker is busy, the listen queue must not wait behind the kept-alive connections' next requests for
    # ever: once the queue has held a connection for ``accept_delay`` since this worker last accepted (no
    # free thread anywhere took it), a busy worker takes one too, and the next waits afresh. The gate is
    # decided before every wait of the run loop, and a busy worker wakes every ``accept_delay`` to look at
    # the queue. Only the worker's main thread runs these methods: no lock needed.
    accept_delay = 0.005
    _in_flight = 0
    _queue_seen_at = None

    def enqueue_req(self, conn):
        self._in_flight += 1
        super().enqueue_req(conn)
        if self._in_flight >= self.cfg.threads:
            self.set_accept_enabled(False)

    def finish_request(self, conn, fs):
        self._in_flight -= 1
        super().finish_request(conn, fs)

    def accept(self, listener):
        self._queue_seen_at = None  # whoever is next in the listen queue waits afresh
        super().accept(listener)

    def wait_for_and_dispatch_events(self, timeout):
        if self.alive:  # stopping: run() has turned accepting off for good
            room = self.nr_conns < self.worker_connections
            self.set_accept_enabled(room)
            if room and not self._accepting and self._in_flight >= self.cfg.threads:
                # Every thread busy, and they may keep their connections for many requests (see
                # keepalive_linger): nothing else need wake this loop, so it looks at the listen queue
                # every accept_delay itself.
                timeout = min(timeout, self.accept_delay)
        super().wait_for_and_dispatch_events(timeout)

    def is_parent_alive(self):
        # gunicorn leaves its run loop without clearing ``alive`` when the master is gone; cleared here, so
        # that the stopping loop after it does not turn accepting back on (see wait_for_and_dispatch_events).
        if super().is_parent_alive():
            return True
        self.alive = False
        return False

    def set_accept_enabled(self, enabled):
        if enabled and self._in_flight >= self.cfg.threads:
            enabled = self._listen_queue_has_waited()
        elif enabled:
            self._queue_seen_at = None  # a free thread: nothing waits on this worker's account
        super().set_accept_enabled(enabled)

    def _listen_queue_has_waited(self):
        try:
            waiting = bool(select.select(self.sockets, [], [], 0)[0])
        except (OSError, ValueError):  # a listener closed while stopping
            waiting = False
        if not waiting:
            self._queue_seen_at = None
            return False
        now = time.monotonic()
        if self._queue_seen_at is None:
            self._queue_seen_at = now
        return now - self._queue_seen_at >= self.accept_delay

    # After answering on a kept-alive connection, a thread waits this long for the connection's next request
    # and serves it itself, instead of handing the connection back to the main thread's poller, which hands
    # it to a thread again once the request arrives: two trips through the main thread per request (a pipe
    # write, a wake-up, a poller registration each way). A client that sends its requests back to back (a
    # batch importer, a load generator) mostly has its next request in by then. Not while other connections
    # wait for a thread, and not once the worker is stopping. Measured (benchmark server, c8, 3 rounds
    # alternated): new adds 722 vs 689/s, re-adds 1,328 vs 1,269/s, server CPU per new add 2.28 vs 2.41 ms;
    # c32 alike (connections wait there, so threads do not linger).
    keepalive_linger = 0.001

    def handle(self, conn):
        if not conn.initialized and not conn.data_ready and not conn.wait_for_data(self.first_data_wait):
            return _DEFER
        while True:
            conn.sock = self._deadline_socket(conn.sock)
            keepalive = super().handle(conn)
            if keepalive is not True or not self._next_request_is_mine(conn):
                return keepalive

    def _next_request_is_mine(self, conn):
        """Whether this thread serves the connection's next request itself: it is already read ahead or
        arrives within ``keepalive_linger``, no other connection waits for a thread, the worker is not
        stopping. Runs on a request thread; ``_in_flight`` is the main thread's count, read without a lock
        (an int: at worst one hand-off more or fewer)."""
        if not self.alive or self._in_flight > self.cfg.threads:
            return False
        if conn.parser.unreader.buf.getvalue():
            return True
        try:
            poll = select.poll()  # not select(): descriptors past 1023 are possible with many connections
            poll.register(conn.sock.fileno(), select.POLLIN)
            return bool(poll.poll(self.keepalive_linger * 1000))
        except (OSError, ValueError):  # a socket closed meanwhile: the poller's path closes it
            return False

    def handle_request(self, req, conn):
        sock = conn.sock
        if not isinstance(sock, DeadlineSocket):
            return super().handle_request(req, conn)
        sock.in_application = True
        sock.hold_first_write()
        try:
            keepalive = super().handle_request(req, conn)
        except BaseException:
            sock.drop_held()
            raise
        sock.flush()
        return keepalive


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


def _steady_memory():
    """Settle the master's heap before the workers fork: glibc's mmap threshold fixed at 128 KiB, at most
    two malloc arenas, the heap collected and trimmed (best effort; glibc only).

    glibc raises the threshold each time a large block is freed, after which request bodies of up to a
    megabyte and their parsed forms come from the heap and stay resident once freed: a worker's RSS then
    wanders by several MB from one request to the next. With the threshold fixed they are mapped and
    returned on free (measured: RSS after the hostile suites' rounds varies by about 1 MB instead of 6).
    At most two malloc arenas: glibc gives each request thread its own, where what the thread frees stays
    resident (measured after the benchmark's load: 39.4 vs 39.8 MiB per worker, rates alike).
    Then the garbage of loading the application is collected and the heap's free pages handed back, so
    that the workers do not inherit them resident (measured: 0.3 MiB less per worker).
    """
    gc.collect()
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(ctypes.c_int(-3), ctypes.c_int(128 * 1024))  # M_MMAP_THRESHOLD
        libc.mallopt(ctypes.c_int(-8), ctypes.c_int(2))  # M_ARENA_MAX
        libc.malloc_trim(ctypes.c_size_t(0))
    except (OSError, AttributeError):
        pass


def serve(
    application,
    *,
    bind,
    workers,
    threads=1,
    timeout=30,
    graceful_timeout=30,
    request_timeout=10.0,
    render_refusal=None,
    on_starting=None,
):
    """Run ``application`` under gunicorn until stopped (SIGTERM finishes the requests in flight).

    ``threads`` > 1 selects threaded workers (each thread serves one connection at a time, so a slow client
    holds one thread, not a process); ``request_timeout`` bounds how long a request may take to arrive.
    ``render_refusal(method=, path=, status=, message=)`` gives the bytes answering what gunicorn refuses.
    """
    _steady_memory()  # before the workers fork: they inherit it
    base = GrooveThreadWorker if threads > 1 else GrooveSyncWorker
    worker_class = type(
        base.__name__,
        (base,),
        {"request_timeout": float(request_timeout), "render_refusal": staticmethod(render_refusal) if render_refusal else None},
    )
    options = {
        "bind": bind,
        "workers": workers,
        "threads": threads,
        "worker_class": worker_class,
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
        # gunicorn's control socket (27.x) is one fixed path per user: several servers on one machine would
        # take it from each other, and the service needs no management interface beside its signals.
        "control_socket_disable": True,
    }
    if on_starting is not None:
        options["when_ready"] = on_starting
    GunicornServer(application, options).run()
