"""Writers of one SQLite file wait for each other in line.

SQLite's busy handler polls for a lock with sleeps that grow to 100 ms, so under a steady write load a
waiting writer sleeps on long after the lock is free (tail latencies of hundreds of milliseconds). A
``WriterQueue`` makes writers wait instead on a thread lock within a process (woken at once on release)
and on an ``flock`` of a sidecar file across processes, polled every 0.1 to 2 ms (one thread per process
polls, the others wait on the thread lock). A writer that waits longer than the timeout gets SQLite's own
"database is locked" error, as it would from the busy handler, never an endless wait. The busy handler
still covers writers that do not queue (an operator's command opened by other code, say).
"""

import contextlib
import os
import sqlite3
import threading
import time

try:
    import fcntl
except ImportError:  # not on Windows: writers there rely on SQLite's busy handler alone
    fcntl = None


class WriterQueue:
    """``with queue.turn():`` runs the block once every earlier writer of ``path`` is done."""

    def __init__(self, path, *, timeout):
        self.lock_path = str(path) + ".writer-lock"
        self.timeout = timeout
        self._pid = None

    def _for_this_process(self):
        # Made per process: a forked worker must not share its parent's lock state or file description
        # (flock belongs to the open file description, so a shared one would exclude nobody).
        if self._pid != os.getpid():
            self._lock = threading.Lock()
            self._file = None
            if fcntl is not None:
                try:
                    self._file = open(self.lock_path, "ab")
                except OSError:
                    pass  # a read-only folder: SQLite's busy handler still serialises the writers
            self._pid = os.getpid()

    @contextlib.contextmanager
    def turn(self):
        self._for_this_process()
        deadline = time.monotonic() + self.timeout
        if not self._lock.acquire(timeout=self.timeout):
            raise sqlite3.OperationalError("database is locked (waited for this process's other writers)")
        try:
            if self._file is not None:
                self._lock_file(deadline)
            try:
                yield
            finally:
                if self._file is not None:
                    fcntl.flock(self._file, fcntl.LOCK_UN)
        finally:
            self._lock.release()

    def _lock_file(self, deadline):
        pause = 0.0001
        while True:
            try:
                fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                pass
            if time.monotonic() >= deadline:
                raise sqlite3.OperationalError("database is locked (waited for other processes' writers)")
            time.sleep(pause)
            pause = min(pause * 2, 0.002)
