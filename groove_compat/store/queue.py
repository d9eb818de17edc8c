"""Writers of one SQLite file wait for each other in line.

SQLite's busy handler polls for a lock with sleeps that grow to 100 ms, so under a steady write load a
waiting writer sleeps on long after the lock is free (tail latencies of hundreds of milliseconds). A
``WriterQueue`` makes writers wait instead on a thread lock within a process and on an ``flock`` of a
sidecar file across processes, and wakes the next one as soon as the lock is released. The busy handler
still covers writers that do not queue (an operator's command opened by other code, say).
"""

import contextlib
import os
import sqlite3
import threading

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
        if not self._lock.acquire(timeout=self.timeout):
            raise sqlite3.OperationalError("database is locked (waited for this process's other writers)")
        try:
            if self._file is not None:
                fcntl.flock(self._file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                if self._file is not None:
                    fcntl.flock(self._file, fcntl.LOCK_UN)
        finally:
            self._lock.release()
