"""Per-credential token buckets shared by every worker process, in a small SQLite file of their own.

The buckets live beside the main database, not in it, so taking a token never waits for the main
database's write lock. The file is throw-away state: ``synchronous = OFF`` (a crash may forget a few
recent takes, which only makes the limit briefly more lenient) and no migrations (it is recreated when
missing). One take is one UPSERT statement in autocommit mode: atomic across processes.
"""

import logging
import os
import sqlite3
import time

from .queue import WriterQueue

log = logging.getLogger("groove_compat.errors")

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS buckets ("
    " key INTEGER PRIMARY KEY, tokens REAL NOT NULL, updated REAL NOT NULL, allowed INTEGER NOT NULL)"
)

# A bucket holds at most ``burst`` tokens and refills at ``rate`` tokens per second; a request takes one.
# ``refilled`` is written out twice because SQLite's UPDATE sees only the old row in every SET expression.
_TAKE = """
INSERT INTO buckets (key, tokens, updated, allowed) VALUES (:key, :burst - 1, :now, 1)
ON CONFLICT (key) DO UPDATE SET
    tokens = min(:burst, tokens + max(:now - updated, 0) * :rate)
             - (min(:burst, tokens + max(:now - updated, 0) * :rate) >= 1),
    allowed = (min(:burst, tokens + max(:now - updated, 0) * :rate) >= 1),
    updated = :now
RETURNING allowed, tokens
"""


class RateLimiter:
    """``take(key)``: 0 when the request may go ahead, else the seconds until a token is back."""

    def __init__(self, path, *, per_minute, burst, busy_timeout=1.0):
        self.path = str(path)
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.busy_timeout = busy_timeout
        self._state = None  # (pid, connection): one per process, made anew after a fork
        self._writers = WriterQueue(self.path, timeout=busy_timeout)

    @property
    def connection(self):
        """This process's connection. Every take runs inside the writer queue's turn, one thread of the
        process at a time, so the threads share one connection instead of opening one each (measured: a
        worker of four threads 0.4 MiB smaller). Only ``take`` uses it, inside the turn."""
        state = self._state
        if state is None or state[0] != os.getpid():
            connection = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False)
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = OFF")
            connection.execute(_SCHEMA)
            state = (os.getpid(), connection)
            self._state = state
        return state[1]

    def take(self, key, *, now=None):
        now = time.time() if now is None else now
        try:
            with self._writers.turn():  # queued: SQLite's busy handler would sleep up to 100 ms per retry
                connection = self.connection
                try:
                    allowed, tokens = connection.execute(
                        _TAKE, {"key": key, "burst": self.burst, "rate": self.rate, "now": now}
                    ).fetchone()
                except sqlite3.Error:
                    self._drop(connection)  # the next take opens a new one
                    raise
        except sqlite3.Error as error:
            # The limiter protects the service; it must not take it down. Fail open, and say so. (A turn
            # not had in time lands here too, and leaves the connection to the threads that have it.)
            log.warning("rate limiter unavailable (%s): request allowed", error)
            return 0.0
        if allowed:
            return 0.0
        return (1.0 - tokens) / self.rate if self.rate > 0 else 60.0

    def _drop(self, connection):
        if self._state is not None and self._state[1] is connection:
            self._state = None
        try:
            connection.close()
        except sqlite3.Error:
            pass
