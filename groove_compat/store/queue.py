"""Writers of one SQLite file wait for each other in line.

SQLite's busy handler polls for a lock with sleeps that grow to 100 ms, so under a steady write load a
waiting writer sleeps on long after the lock is free (tail latencies of hundreds of milliseconds). A
``WriterQueue`` makes writers wait instead on a thread lock within a process (woken at once on release)
and on an ``flock`` of a sidecar file across processes, polled every 50 us for the first 5 ms, then every
0.1 to 2 ms (one thread per process polls, the others wait on the thread lock). A writer that waits
longer than the timeout gets SQLite's own "database is locked" error, as it would from the busy handler,
never an endless wait. The busy handler still covers writers that do not queue (an operator's command
opened by other code, say).
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


# Guards the set-up of each queue's per-process state; made anew in a forked child, where a copy held by
# another thread of the parent at the fork would never be released.
_setup_lock = threading.Lock()


def _new_setup_lock():
    global _setup_lock
    _setup_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_setup_lock)


class WriterQueue:
    """``with queue.turn():`` runs the block once every earlier writer of ``path`` is done."""

    def __init__(self, path, *, timeout):
        self.lock_path = str(path) + ".writer-lock"
        self.timeout = max(0.0, float(timeout))
        self._state = None  # (pid, thread lock, lock file or None), replaced whole after a fork

    def _for_this_process(self):
        # Per process: a forked worker must not share its parent's lock state or file description (flock
        # belongs to the open file description, so a shared one would exclude nobody). Made once, under a
        # lock, and published whole, so that two threads starting their first write together share it.
        state = self._state
        if state is not None and state[0] == os.getpid():
            return state
        with _setup_lock:
            state = self._state
            if state is None or state[0] != os.getpid():
                lock_file = None
                if fcntl is not None:
                    try:
                        lock_file = open(self.lock_path, "ab")
                    except OSError:
                        pass  # a read-only folder: SQLite's busy handler still serialises the writers
                state = (os.getpid(), threading.Lock(), lock_file)
                self._state = state
        return state

    @contextlib.contextmanager
    def turn(self):
        _, lock, lock_file = self._for_this_process()
        deadline = time.monotonic() + self.timeout
        if not lock.acquire(timeout=self.timeout):
            raise sqlite3.OperationalError("database is locked (waited for this process's other writers)")
        try:
            locked = lock_file is not None and _lock_file(lock_file, deadline)
            try:
                yield
            finally:
                if locked:
                    fcntl.flock(lock_file, fcntl.LOCK_UN)
        finally:
            lock.release()


# How the flock is polled: every 50 us while the wait is short, as it is when writers take turns (a batch
# holds the lock for about a millisecond, and every late poll leaves the lock idle while writers queue),
# then backing off to 2 ms, so that a long transaction elsewhere (an import) is not polled 20,000 times
# a second. Measured against a back-off from 0.1 ms from the first poll (bench, c8, 3 rounds alternated):
# new adds 573-630 vs 498-534 per second, p99 23-27 vs 38-43 ms.
_SHORT_PAUSE = 0.00005
_SHORT_WAIT = 0.005
_LONGEST_PAUSE = 0.002


def _lock_file(lock_file, deadline):
    """Take the flock, polling until ``deadline``; False when the file system cannot lock at all (the
    writers then rely on SQLite's busy handler, as without a queue)."""
    started = time.monotonic()
    pause = _SHORT_PAUSE
    while True:
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            pass
        except OSError:  # ENOLCK and the like, e.g. on some network file systems
            return False
        now = time.monotonic()
        if now >= deadline:
            raise sqlite3.OperationalError("database is locked (waited for other processes' writers)")
        if now - started >= _SHORT_WAIT:
            pause = min(pause * 2, _LONGEST_PAUSE)
        time.sleep(pause)
