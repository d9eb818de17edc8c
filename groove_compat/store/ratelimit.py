"""Per-credential token buckets shared by every worker process, in a small file of their own.

The buckets live beside the main database, not in it, so taking a token never waits for the main
database's write lock. The file is throw-away state, read and written in place: a header, then blocks of
fixed-size slots, one slot per credential whose bucket is in use. A take reads the credential's block and
writes back one slot, both inside a ``WriterQueue`` turn (a thread lock, and an ``flock`` across
processes): two system calls for the data, where an SQLite UPSERT made a transaction on a file of its own.
A take costs 4.8 us instead of 10.9 (``bench/rate_limit_cost.py``); over HTTP (c8 new adds, alternated) the
SQLite limiter cost 5% of the rate (686 vs 722/s with the limit off), this one 2% (709/s).

Nothing is synced to disk: a crash may forget recent takes, which only makes the limit briefly more
lenient (as does a file system without ``flock``, where two processes' takes can overwrite each other). A
missing or empty file, one of ours cut short (also by a crash while it was being laid out), and the SQLite
bucket file of earlier releases are laid out afresh, every bucket full. Any other file is left as it is,
and the limiter fails open (and logs) rather than overwrite what may be someone's data.
"""

import logging
import math
import os
import sqlite3
import struct
import time
import urllib.parse

from .queue import WriterQueue

log = logging.getLogger("groove_compat.errors")

_MAGIC = b"groove-compat token buckets v1\n\0"
_HEADER = 64  # bytes before the first block
_SLOT = struct.Struct("<qdd")  # credential key, tokens, when they were counted (0.0: an empty slot)
_SLOTS_PER_BLOCK = 21  # 504 bytes: a block is read in one 512-byte pread
_BLOCK = 512
_BLOCKS = 1024  # 21,504 slots in a 512 KiB file
_BLOCK_SLOTS = struct.Struct("<" + "qdd" * _SLOTS_PER_BLOCK)
_FILE_SIZE = _HEADER + _BLOCKS * _BLOCK


class NotABucketFile(OSError):
    """The file at the limiter's path holds something else: it is not touched."""


if hasattr(os, "pread"):
    _read_at, _write_at = os.pread, os.pwrite
else:  # Windows. Every read and write runs inside the turn, so seeking first is safe.

    def _read_at(descriptor, size, offset):
        os.lseek(descriptor, offset, os.SEEK_SET)
        return os.read(descriptor, size)

    def _write_at(descriptor, data, offset):
        os.lseek(descriptor, offset, os.SEEK_SET)
        return os.write(descriptor, data)


def _block_of(key):
    # Credential ids are consecutive: a multiplicative hash spreads neighbours over the blocks.
    return ((key * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF) >> 54  # the top 10 bits: 0 to 1023


class RateLimiter:
    """``take(key)``: 0 when the request may go ahead, else the seconds until a token is back."""

    def __init__(self, path, *, per_minute, burst, busy_timeout=1.0):
        self.path = str(path)
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.busy_timeout = busy_timeout
        self._state = None  # (pid, file descriptor): one per process, opened anew after a fork
        self._writers = WriterQueue(self.path, timeout=busy_timeout)

    def _file(self):
        """This process's descriptor of the bucket file, laid out if it is not yet. Only ``take`` calls it,
        inside the turn."""
        state = self._state
        if state is None or state[0] != os.getpid():
            descriptor = os.open(
                self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0), 0o600
            )
            try:
                size = os.fstat(descriptor).st_size
                header = _read_at(descriptor, len(_MAGIC), 0)
                if header == _MAGIC:
                    if size != _FILE_SIZE:
                        _lay_out(descriptor)
                elif _laid_out_in_part(header, size) or _is_earlier_bucket_file(self.path, header):
                    _lay_out(descriptor)
                else:
                    raise NotABucketFile(f"{self.path} is not a rate-limit bucket file (left as it is)")
            except OSError:
                os.close(descriptor)
                raise
            state = (os.getpid(), descriptor)
            self._state = state
        return state[1]

    def take(self, key, *, now=None):
        now = time.time() if now is None else now
        try:
            with self._writers.turn():  # one take at a time, across the threads and the processes
                descriptor = self._file()
                try:
                    allowed, tokens = self._take(descriptor, key, now)
                except OSError:
                    self._drop(descriptor)  # the next take opens the file again
                    raise
        except (OSError, sqlite3.Error) as error:
            # The limiter protects the service; it must not take it down. Fail open, and say so. (A turn
            # not had in time lands here too.)
            log.warning("rate limiter unavailable (%s): request allowed", error)
            return 0.0
        if allowed:
            return 0.0
        return (1.0 - tokens) / self.rate if self.rate > 0 else 60.0

    def _take(self, descriptor, key, now):
        block_offset = _HEADER + _block_of(key) * _BLOCK
        block = _read_at(descriptor, _BLOCK, block_offset)
        if len(block) != _BLOCK:  # cut short under us: lay the file out again, every bucket full
            _lay_out(descriptor)
            block = bytes(_BLOCK)
        values = _BLOCK_SLOTS.unpack_from(block)
        burst, rate = self.burst, self.rate
        slot = tokens = None
        stalest = stalest_time = None
        for index in range(_SLOTS_PER_BLOCK):
            slot_key, slot_tokens, counted = values[3 * index:3 * index + 3]
            # Empty, or unreadable (a torn or foreign write): as good as a full bucket. Tokens are never
            # below 0, and a time must be a time, or a corrupt slot could make a wait of infinity.
            if not (0.0 < counted < math.inf and 0.0 <= slot_tokens < math.inf):  # NaN compares false
                if slot is None:
                    slot, tokens = index, burst  # an empty (or unreadable) slot: a full bucket
                continue
            if slot_key == key:
                slot, tokens = index, min(burst, slot_tokens + max(now - counted, 0.0) * rate)
                break
            if slot is None and slot_tokens + max(now - counted, 0.0) * rate >= burst:
                slot, tokens = index, burst  # refilled by now: as good as empty
            elif stalest_time is None or counted < stalest_time:
                stalest, stalest_time = index, counted
        if slot is None:
            # Every slot holds a bucket still refilling: the one counted longest ago is forgotten (its
            # credential gets a full bucket early). It takes more than 21 busy credentials in one block.
            slot, tokens = stalest, burst
        allowed = tokens >= 1.0
        if allowed:
            tokens -= 1.0
        _write_at(descriptor, _SLOT.pack(key, tokens, now), block_offset + slot * _SLOT.size)
        return allowed, tokens

    def _drop(self, descriptor):
        if self._state is not None and self._state[1] == descriptor:
            self._state = None
        try:
            os.close(descriptor)
        except OSError:
            pass


def _lay_out(descriptor):
    """Write the header and empty blocks over what the file held (nothing, or buckets)."""
    os.ftruncate(descriptor, 0)
    _write_at(descriptor, _MAGIC, 0)
    os.ftruncate(descriptor, _FILE_SIZE)  # zeros: every slot empty


def _laid_out_in_part(header, size):
    """Whether the file is empty or a lay-out cut short: the header's first bytes alone, or our size all
    zeros where the header goes (nothing is synced, so a crash may keep the size and lose the header)."""
    if size < len(_MAGIC):
        return _MAGIC.startswith(header)
    return size == _FILE_SIZE and not any(header)


def _is_earlier_bucket_file(path, header):
    """Whether ``path`` (which begins with ``header``) is an SQLite file holding nothing but the ``buckets``
    table of earlier releases."""
    if not header.startswith(b"SQLite format 3\0"):
        return False
    try:
        connection = sqlite3.connect(f"file:{urllib.parse.quote(path)}?mode=ro", uri=True)
        try:
            names = [row[0] for row in connection.execute("SELECT name FROM sqlite_master")]
        finally:
            connection.close()
    except (OSError, sqlite3.Error):
        return False
    return names == ["buckets"]
