"""``groove-compat import``: move a large list of track ids into a user's collection, safely.

What it guarantees (the command's documentation, ``groove-compat import --help``, says the same):

- Input: a text file (one id per line; blank lines and lines starting with ``#`` skipped), a CSV file (a named
  column: ``--column``, or ``--isrc-column`` for ISRCs sent as ``music.isrc.{ISRC}``; default column ``id``) or
  JSON Lines (``--key``, default ``id``). Ids are deduplicated keeping the first occurrence (GUID ids compared
  case-insensitively, ISRC ids after normalisation). A row that yields no id (empty value, missing column or
  key, not JSON, an id with spaces or control characters) is not sent: it goes to the report as INPUT-INVALID-ROW.
- Batches of at most 100 ids (``--batch-size``); when the server refuses a batch as too large (400
  COLLECTION-INVALID-OPERATION "Number of tracks for this operation is limited to N") the importer learns N,
  splits the batch and sends the parts. ``--concurrency`` requests in flight (default 4), one connection each.
- Retries: 429 (waiting at least ``Retry-After``), 5xx, 409, timeouts and connection errors, with exponential
  backoff, full jitter and a cap (``--max-attempts`` per batch). Never retried: 400, 401, 403, 404 and other
  4xx (the run stops: a fatal answer), nor per-item failures such as COLLECTION-INVALID-ID (reported).
- Checkpoint: ``FILE.import-checkpoint.json`` beside the input (``--checkpoint``) records every finished batch,
  written atomically (temporary file, fsync, rename, fsync of the folder) after each round of answers;
  per-item failures go to ``.journal`` (appended and fsynced before the checkpoint names their batch). The same
  command resumes an interrupted run (Ctrl-C, SIGTERM, crash, reboot) and sends no finished batch again. Only
  batches in flight or answered but not yet checkpointed when the process died without warning (at most twice
  ``--concurrency``) can be sent twice (adds are idempotent).
  A complete run deletes its checkpoint files.
- "Already present": Groove's add answers a new and an existing track alike, so before the first batch the
  importer lists the user's collection (a tracks browse, kept in ``.present`` beside the checkpoint for a
  resumed run) and counts an id whose entry id was listed as already present. With ``--no-count-present``, or
  when the server cannot list the collection, "added" includes already-present ids and the summary says so.
  Two input ids naming the same track (a GUID and its ISRC) both count as added.
- The summary (stdout) gives added, already present, failed by error code, retried requests, elapsed time and
  rate; the failure report (CSV ``line,id,error_code,description,message``, sorted by line, ``\\n`` line ends,
  written on every ending) goes to ``FILE.failures.csv`` or ``--report``.

Exit statuses: 0 every id added or already present; 1 the run completed but some ids or rows failed;
2 usage or input-file error (nothing sent); 3 stopped by a fatal server answer (e.g. 401): the checkpoint is
kept; 4 gave up after ``--max-attempts`` on a retryable failure (server unreachable or overloaded): the
checkpoint is kept; 130 interrupted (Ctrl-C or SIGTERM): the checkpoint is kept.
"""

from __future__ import annotations

import collections
import csv
import hashlib
import io
import itertools
import json
import os
import queue
import random
import re
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

from . import ids as id_forms
from .client import GrooveApiError, GrooveClient, GrooveConnectionError

EXIT_OK = 0
EXIT_SOME_FAILED = 1
EXIT_USAGE = 2
EXIT_FATAL = 3
EXIT_GAVE_UP = 4
EXIT_INTERRUPTED = 130

INPUT_INVALID_ROW = "INPUT-INVALID-ROW"
INPUT_INVALID_ROW_DESCRIPTION = "The input row holds no id that can be sent"
CHECKPOINT_VERSION = 1
MAX_ID_LENGTH = 1024
REPORT_COLUMNS = ("line", "id", "error_code", "description", "message")
_LIMIT_MESSAGE = re.compile(r"limited to (\d+)")
_UNUSABLE_CHARACTERS = re.compile(r"[\s\x00-\x1f\x7f-\x9f\ufeff\ufffe\uffff]")


class InputFileError(Exception):
    """A usage or input-file problem: nothing is sent; exit status 2."""


class _Interrupted(Exception):
    """Raised where waiting ends because the run was interrupted."""


# ---------------------------------------------------------------------------------------------------------
# Reading the input


@dataclass
class InputIds:
    """The ids to send, deduplicated in file order, with the line each came from; rows without an id."""

    kind: str
    ids: list = field(default_factory=list)
    lines: list = field(default_factory=list)
    bad_rows: list = field(default_factory=list)  # (line, raw value or "", reason)
    rows_read: int = 0
    duplicates: int = 0
    sha256: str = ""
    size: int = 0


def input_kind(path, *, column=None, key=None, isrc_column=None):
    """``text``, ``csv`` or ``jsonl``: from the options first, then the file extension."""
    if sum(option is not None for option in (column, key, isrc_column)) > 1:
        raise InputFileError("give at most one of --column, --isrc-column and --key")
    extension = os.path.splitext(path)[1].lower()
    if column is not None or isrc_column is not None:
        if extension in (".jsonl", ".ndjson"):
            raise InputFileError(f"{path} is JSON Lines: name the key with --key, not a CSV column")
        return "csv"
    if key is not None:
        if extension == ".csv":
            raise InputFileError(f"{path} is CSV: name the column with --column or --isrc-column, not --key")
        return "jsonl"
    if extension == ".csv":
        return "csv"
    if extension in (".jsonl", ".ndjson"):
        return "jsonl"
    return "text"


def dedupe_key(track_id):
    """Two ids naming the same thing the same way compare equal: GUIDs case-insensitively, ISRC ids
    after normalisation; other forms byte for byte."""
    normalised = id_forms.normalise_input_id(track_id)
    if normalised is track_id and track_id[:11].lower() == "music.isrc.":
        isrc = id_forms.normalise_isrc(track_id[11:])
        if isrc is not None:
            return "music.isrc." + isrc
    return normalised


def _usable_id(value):
    """The reason ``value`` cannot be sent as an id, or None when it can."""
    if not value:
        return "the id is empty"
    if len(value) > MAX_ID_LENGTH:
        return f"the id is longer than {MAX_ID_LENGTH} characters"
    if _UNUSABLE_CHARACTERS.search(value):
        return "the id holds spaces or control characters"
    return None


def read_input(path, *, column=None, key=None, isrc_column=None):
    """Read and validate the input file; raise InputFileError for a file that cannot be read at all."""
    kind = input_kind(path, column=column, key=key, isrc_column=isrc_column)
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as error:
        raise InputFileError(f"cannot read {path}: {error.strerror}") from None
    result = InputIds(kind=kind, sha256=hashlib.sha256(raw).hexdigest(), size=len(raw))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise InputFileError(f"{path}:{line}: the file is not UTF-8") from None
    if kind == "text":
        rows = _text_rows(text)
    elif kind == "csv":
        rows = _csv_rows(path, text, column=isrc_column or column or "id", isrc=isrc_column is not None)
    else:
        rows = _json_lines_rows(text, key=key or "id")
    seen = set()
    for line, value, reason in rows:
        result.rows_read += 1
        if reason is None:
            reason = _usable_id(value)
        if reason is not None:
            result.bad_rows.append((line, value or "", reason))
            continue
        dedupe = dedupe_key(value)
        if dedupe in seen:
            result.duplicates += 1
            continue
        seen.add(dedupe)
        result.ids.append(value)
        result.lines.append(line)
    return result


def _text_rows(text):
    for number, line in enumerate(io.StringIO(text, newline=None), start=1):
        value = line.strip()
        if not value or value.startswith("#"):
            continue
        yield number, value, None


def _csv_rows(path, text, *, column, isrc):
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise InputFileError(f"{path}: the CSV file is empty: it needs a header row") from None
    except csv.Error as error:
        raise InputFileError(f"{path}:1: the CSV header is malformed: {error}") from None
    names = [name.strip() for name in header]
    matches = [index for index, name in enumerate(names) if name == column]
    if not matches:
        matches = [index for index, name in enumerate(names) if name.lower() == column.lower()]
    if len(matches) != 1:
        found = ", ".join(repr(name) for name in names)
        what = "no" if not matches else "more than one"
        raise InputFileError(f"{path}: the CSV header has {what} column {column!r} (columns: {found})")
    index = matches[0]
    start = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise InputFileError(f"{path}:{start}: the CSV file is malformed: {error}") from None
        line, start = start, reader.line_num + 1
        if not row or (len(row) == 1 and not row[0].strip()):
            continue  # a blank line
        if index >= len(row):
            yield line, "", f"the row has no {column!r} column"
            continue
        value = row[index].strip()
        if isrc and value:
            isrc_value = id_forms.normalise_isrc(value)
            # A malformed ISRC is still sent: the server's per-item answer says what is wrong with it.
            value = "music.isrc." + (isrc_value or value)
        yield line, value, None if value else f"column {column!r} is empty"


def _json_lines_rows(text, *, key):
    for number, line in enumerate(io.StringIO(text, newline=None), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as error:
            yield number, "", f"not valid JSON: {error.msg}"
            continue
        if not isinstance(row, dict):
            yield number, "", "the line is not a JSON object"
            continue
        if key not in row:
            yield number, "", f"the object has no {key!r} member"
            continue
        value = row[key]
        if not isinstance(value, str):
            yield number, "", f"member {key!r} is not a string"
            continue
        value = value.strip()
        yield number, value, None if value else f"member {key!r} is empty"


# ---------------------------------------------------------------------------------------------------------
# Ranges of finished work: sorted, disjoint [start, end) intervals over the deduplicated ids.


def add_range(ranges, start, end):
    """Insert [start, end) into sorted disjoint ranges, merging neighbours."""
    merged = []
    placed = False
    for low, high in ranges:
        if high < start:
            merged.append([low, high])
        elif end < low:
            if not placed:
                merged.append([start, end])
                placed = True
            merged.append([low, high])
        else:
            start, end = min(low, start), max(high, end)
    if not placed:
        merged.append([start, end])
    merged.sort()
    return merged


def missing_ranges(ranges, total):
    """The complement of ``ranges`` in [0, total)."""
    missing = []
    position = 0
    for low, high in ranges:
        if low > position:
            missing.append([position, low])
        position = max(position, high)
    if position < total:
        missing.append([position, total])
    return missing


def in_ranges(ranges, index):
    return any(low <= index < high for low, high in ranges)


# ---------------------------------------------------------------------------------------------------------
# Checkpoint


def _fsync_directory(path):
    try:
        descriptor = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass  # some file systems cannot fsync a directory
    finally:
        os.close(descriptor)


def write_atomically(path, data: bytes):
    """Replace ``path`` with ``data`` so that a crash leaves either the old or the new file, never a mix."""
    directory = os.path.dirname(os.path.abspath(path))
    descriptor, temporary = tempfile.mkstemp(prefix=os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
    _fsync_directory(path)


class Checkpoint:
    """The durable state of one import: which batches finished, what they counted, which items failed.

    ``path`` holds a small JSON object rewritten atomically; ``path + .journal`` the failed items, one JSON
    line per finished batch that had failures, fsynced before the checkpoint names the batch (lines of
    batches the checkpoint does not name, or a torn last line, are ignored on loading); ``path + .present``
    the collection's entry ids before the first batch.
    """

    def __init__(self, path):
        self.path = path
        self.journal_path = path + ".journal"
        self.present_path = path + ".present"
        self.state = None
        self._journal = None

    def exists(self):
        return os.path.exists(self.path)

    def fresh(self, *, fingerprint, total, batch_limit):
        self.state = {
            "version": CHECKPOINT_VERSION,
            "input": fingerprint,
            "ids": total,
            "done": [],
            "batch_limit": batch_limit,
            "count_present": None,
            "added": 0,
            "already_present": 0,
            "failed": {},
            "retried": 0,
            "requests": 0,
            "elapsed": 0.0,
        }
        for stale in (self.journal_path, self.present_path):
            if os.path.exists(stale):
                os.unlink(stale)

    def load(self):
        try:
            with open(self.path, "rb") as handle:
                state = json.loads(handle.read())
        except (OSError, ValueError) as error:
            raise InputFileError(f"cannot read the checkpoint {self.path}: {error}; delete it or pass --restart") from None
        if not isinstance(state, dict) or state.get("version") != CHECKPOINT_VERSION:
            raise InputFileError(f"{self.path} is not a checkpoint of this version; delete it or pass --restart")
        self.state = state
        return state

    def failures(self):
        """``{index: (code, description, message)}`` of failed items of finished batches."""
        found = {}
        if not os.path.exists(self.journal_path):
            return found
        done = self.state["done"]
        with open(self.journal_path, "rb") as handle:
            for line in handle:
                try:
                    record = json.loads(line)
                    start, _ = record["batch"]
                    items = record["failures"]
                except (ValueError, KeyError, TypeError):
                    continue  # a torn last line: its batch was never named by the checkpoint
                if not in_ranges(done, start):
                    continue
                for index, code, description, message in items:
                    found[index] = (code, description, message)
        return found

    def journal(self, records):
        """Append failure records durably (before the checkpoint that names their batches is written)."""
        if not records:
            return
        if self._journal is None:
            self._journal = open(self.journal_path, "ab")
        self._journal.write(b"".join(json.dumps(record, separators=(",", ":")).encode() + b"\n" for record in records))
        self._journal.flush()
        os.fsync(self._journal.fileno())

    def save(self):
        write_atomically(self.path, json.dumps(self.state, separators=(",", ":")).encode())

    def save_present(self, entry_ids):
        write_atomically(self.present_path, "".join(entry_id + "\n" for entry_id in sorted(entry_ids)).encode())

    def load_present(self):
        try:
            with open(self.present_path, encoding="utf-8") as handle:
                return {line.rstrip("\n") for line in handle if line.strip()}
        except OSError:
            return None

    def close(self):
        if self._journal is not None:
            self._journal.close()
            self._journal = None

    def remove(self):
        self.close()
        for path in (self.path, self.journal_path, self.present_path):
            if os.path.exists(path):
                os.unlink(path)


# ---------------------------------------------------------------------------------------------------------
# Retry policy


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter: attempt n waits uniform(0, min(cap, base * 2**n)), and at least
    the server's Retry-After. ``max_attempts`` counts the first attempt."""

    max_attempts: int = 8
    base: float = 0.5
    cap: float = 30.0

    def delay(self, attempt, retry_after=None, rng=random):
        delay = rng.uniform(0, min(self.cap, self.base * (2 ** attempt)))
        if retry_after is not None:
            # Honour Retry-After; a little jitter on top keeps parallel workers from waking together.
            delay = retry_after + rng.uniform(0, min(self.base, retry_after * 0.1 + 0.05))
        return delay


def retryable(error):
    """Whether a failed call may succeed later: 429, 5xx, 409, timeouts, connection errors."""
    if isinstance(error, GrooveConnectionError):
        return True
    if isinstance(error, GrooveApiError):
        return error.status in (409, 429) or error.status >= 500
    return False


def describe(error):
    """A short text of a failure for the terminal (never holds the token: the client's errors don't)."""
    return str(error)


# ---------------------------------------------------------------------------------------------------------
# The run


@dataclass
class Options:
    url: str | None
    token: str | None
    path: str
    column: str | None = None
    key: str | None = None
    isrc_column: str | None = None
    concurrency: int = 4
    batch_size: int = 100
    format: str = "json"
    namespace: str = "2013"
    dry_run: bool = False
    report: str | None = None
    checkpoint: str | None = None
    restart: bool = False
    count_present: bool = True
    timeout: float = 30.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    progress: str = "auto"  # auto | bar | lines | none
    progress_every: float = 10.0
    seed: int | None = None


@dataclass
class BatchOutcome:
    start: int
    end: int
    kind: str  # done | too_large | fatal | gave_up | stopped
    results: tuple = ()
    limit: int | None = None
    error: Exception | None = None
    attempts: int = 0


class Output:
    """Where the command writes: ``out`` for the summary, ``err`` for progress and notes."""

    def __init__(self, out=None, err=None):
        self.out = out or sys.stdout
        self.err = err or sys.stderr

    def say(self, text=""):
        print(text, file=self.out, flush=True)

    def note(self, text):
        print(text, file=self.err, flush=True)


class Progress:
    """A tqdm bar with rate and ETA on a terminal; otherwise a plain line every ``every`` seconds."""

    def __init__(self, mode, *, total, initial, every, output):
        self.output = output
        self.total = total
        self.done = initial
        self.initial = initial
        self.every = every
        self.started = time.monotonic()
        self.last_line = self.started
        if mode == "auto":
            mode = "bar" if output.err.isatty() else "lines"
        self.mode = mode
        self.bar = None
        if mode == "bar":
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=initial, unit="id", unit_scale=True, dynamic_ncols=True,
                            file=output.err, desc="importing", smoothing=0.1)

    def update(self, count):
        self.done += count
        if self.bar is not None:
            self.bar.update(count)
        elif self.mode == "lines":
            now = time.monotonic()
            if now - self.last_line >= self.every:
                self.last_line = now
                self.output.note(self.line(now))

    def line(self, now):
        elapsed = now - self.started
        sent = self.done - self.initial
        rate = sent / elapsed if elapsed > 0 else 0.0
        left = self.total - self.done
        eta = _clock(left / rate) if rate > 0 else "?"
        percent = 100.0 * self.done / self.total if self.total else 100.0
        return f"progress: {self.done:,}/{self.total:,} ids ({percent:.1f}%), {rate:,.0f} ids/s, ETA {eta}"

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _clock(seconds):
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}"


class Importer:
    """One run of ``groove-compat import``; ``run()`` returns the exit status."""

    def __init__(self, options: Options, output: Output | None = None):
        self.options = options
        self.output = output or Output()
        self.rng = random.Random(options.seed)
        self.stop = threading.Event()
        self.interrupted = False
        self._local = threading.local()
        self._clients = []
        self._clients_lock = threading.Lock()

    # -- clients (one per worker thread: a requests.Session is not shared between threads) -------------

    def client(self):
        client = getattr(self._local, "client", None)
        if client is None:
            client = GrooveClient(
                self.options.url, self.options.token, format=self.options.format, namespace=self.options.namespace,
                timeout=(min(10.0, self.options.timeout), self.options.timeout),
            )
            self._local.client = client
            with self._clients_lock:
                self._clients.append(client)
        return client

    def close_clients(self):
        with self._clients_lock:
            for client in self._clients:
                client.close()
            self._clients = []

    def interrupt(self):
        """Ctrl-C or SIGTERM: the first stops sending and saves the checkpoint once the requests in flight are
        answered; a second ends the process at once (the last checkpoint written stays valid)."""
        if self.interrupted:
            self.output.note("stopped at once; the checkpoint keeps every batch it names")
            os._exit(EXIT_INTERRUPTED)
        self.interrupted = True
        self.stop.set()
        self.output.note(
            "\ninterrupted: waiting for the requests in flight, then saving the checkpoint (Ctrl-C again to stop at once)"
        )

    # -- entry -------------------------------------------------------------------------------------------

    def run(self):
        options = self.options
        try:
            data = read_input(options.path, column=options.column, key=options.key, isrc_column=options.isrc_column)
        except InputFileError as error:
            self.output.note(f"error: {error}")
            return EXIT_USAGE
        self.data = data
        self.checkpoint = Checkpoint(options.checkpoint or options.path + ".import-checkpoint.json")
        self.report_path = options.report or options.path + ".failures.csv"
        fingerprint = {
            "sha256": data.sha256,
            "size": data.size,
            "kind": data.kind,
            "column": options.column,
            "key": options.key,
            "isrc_column": options.isrc_column,
        }
        resumed = False
        if self.checkpoint.exists() and not options.restart:
            try:
                state = self.checkpoint.load()
            except InputFileError as error:
                self.output.note(f"error: {error}")
                return EXIT_USAGE
            if state.get("input") != fingerprint or state.get("ids") != len(data.ids):
                self.output.note(
                    f"error: the checkpoint {self.checkpoint.path} belongs to a run with another input file or other "
                    f"--column/--isrc-column/--key options; rerun that import, or pass --restart to start over"
                )
                return EXIT_USAGE
            resumed = True
        if options.dry_run:
            return self.dry_run(resumed)
        try:
            if not resumed:
                self.checkpoint.fresh(fingerprint=fingerprint, total=len(data.ids), batch_limit=options.batch_size)
                self.checkpoint.save()
        except OSError as error:
            self.output.note(f"error: cannot write the checkpoint {self.checkpoint.path}: {error.strerror}")
            return EXIT_USAGE
        try:
            return self.send(resumed)
        finally:
            self.checkpoint.close()
            self.close_clients()

    def dry_run(self, resumed):
        data, options = self.data, self.options
        limit = options.batch_size
        ranges = [[0, len(data.ids)]]
        if resumed:
            state = self.checkpoint.state
            limit = min(limit, state.get("batch_limit") or limit)
            ranges = missing_ranges(state["done"], len(data.ids))
        pending = sum(high - low for low, high in ranges)
        batches = sum(-(-(high - low) // limit) for low, high in ranges)
        say = self.output.say
        say(f"dry run of {options.path} ({_kind_text(data, options)}): nothing sent")
        say(f"  rows read:       {data.rows_read:,}")
        say(f"  ids:             {len(data.ids):,} ({data.duplicates:,} duplicates dropped)")
        say(f"  bad rows:        {len(data.bad_rows):,}")
        if resumed:
            say(f"  checkpoint:      {self.checkpoint.path}: {len(data.ids) - pending:,} ids done, {pending:,} left")
        say(
            f"  would send:      {pending:,} ids in {batches:,} batches of at most {limit}, "
            f"{options.format.upper()} bodies, {options.concurrency} in flight"
        )
        if pending:
            pending_ids = (data.ids[index] for low, high in ranges for index in range(low, high))
            first = list(itertools.islice(pending_ids, min(3, limit)))
            say("  first ids:       " + ", ".join(first) + (" ..." if pending > len(first) else ""))
        for line, value, reason in data.bad_rows[:20]:
            self.output.note(f"{options.path}:{line}: {reason}" + (f" ({value[:80]!r})" if value else ""))
        if len(data.bad_rows) > 20:
            self.output.note(f"... and {len(data.bad_rows) - 20:,} more bad rows")
        return EXIT_SOME_FAILED if data.bad_rows else EXIT_OK

    # -- already present ---------------------------------------------------------------------------------

    def collection_before(self, resumed):
        """Entry ids in the collection before the first batch (None when unknown), and a note why not."""
        state = self.checkpoint.state
        if not self.options.count_present:
            return None, "includes ids already in the collection: --no-count-present"
        if resumed:
            if state.get("count_present") is False:
                return None, state.get("present_note") or "includes ids already in the collection"
            present = self.checkpoint.load_present()
            if present is not None:
                return present, None
            if state["done"]:
                note = "includes ids already in the collection: the listing of the first run is lost"
                return None, note
        present = set()
        try:
            listing = self.client().browse("tracks", max_items=25)
            attempt = 0
            while True:
                if self.stop.is_set():
                    raise _Interrupted
                try:
                    item = next(listing)
                except StopIteration:
                    break
                except (GrooveApiError, GrooveConnectionError) as error:
                    if not retryable(error) or attempt + 1 >= self.options.retry.max_attempts:
                        raise
                    if self.stop.wait(self.options.retry.delay(attempt, getattr(error, "retry_after", None), self.rng)):
                        raise _Interrupted from None
                    attempt += 1
                    continue
                if isinstance(item.get("Id"), str):
                    present.add(item["Id"])
        except GrooveApiError as error:
            if error.status in (401, 403):
                raise
            note = (
                f"includes ids already in the collection: the server could not list it (HTTP {error.status}"
                + (f" {error.code}" if error.code else "") + ")"
            )
            state["count_present"] = False
            state["present_note"] = note
            self.checkpoint.save()
            return None, note
        self.checkpoint.save_present(present)
        state["count_present"] = True
        self.checkpoint.save()
        return present, None

    # -- sending -----------------------------------------------------------------------------------------

    def send(self, resumed):
        data, state = self.data, self.checkpoint.state
        output = self.output
        started = time.monotonic()
        elapsed_before = state["elapsed"]
        failures = self.checkpoint.failures() if resumed else {}
        done_before = sum(high - low for low, high in state["done"])
        if resumed:
            output.note(
                f"resuming from {self.checkpoint.path}: {done_before:,} of {len(data.ids):,} ids done before"
            )
        outcome = "complete"
        status = None
        error_text = None
        try:
            try:
                present, present_note = self.collection_before(resumed)
            except GrooveApiError as error:
                outcome, status, error_text = "stopped", EXIT_FATAL, describe(error)
                present, present_note = None, None
            except GrooveConnectionError as error:
                outcome, status, error_text = "gave up", EXIT_GAVE_UP, describe(error)
                present, present_note = None, None
            if status is None:
                outcome, status, error_text = self.dispatch(state, present, failures, started)
        except _Interrupted:
            outcome, status, error_text = "interrupted", EXIT_INTERRUPTED, None
            present_note = None
        finally:
            state["elapsed"] = elapsed_before + (time.monotonic() - started)
            try:
                self.checkpoint.save()
            except OSError as error:
                output.note(f"warning: cannot write the checkpoint: {error.strerror}")
        elapsed = time.monotonic() - started
        done_now = sum(high - low for low, high in state["done"])
        complete = done_now == len(data.ids) and outcome == "complete"
        report_rows = self.report_rows(failures)
        self.write_report(report_rows)
        failed_ids = sum(state["failed"].values())
        if complete and status is None:
            status = EXIT_SOME_FAILED if (failed_ids or data.bad_rows) else EXIT_OK
        self.summary(
            outcome=outcome, complete=complete, error_text=error_text, elapsed=elapsed,
            sent_now=done_now - done_before, done=done_now, present_note=present_note,
        )
        if complete:
            self.checkpoint.remove()
        return status

    def dispatch(self, state, present, failures, started):
        """Send every pending batch with ``concurrency`` in flight; return (outcome, exit status, error text)."""
        options, data = self.options, self.data
        pending = collections.deque(tuple(pair) for pair in missing_ranges(state["done"], len(data.ids)))
        limit = min(options.batch_size, state.get("batch_limit") or options.batch_size)
        progress = Progress(
            options.progress, total=len(data.ids), initial=len(data.ids) - sum(h - l for l, h in pending),
            every=options.progress_every, output=self.output,
        )
        tasks = queue.Queue()
        answers = queue.Queue()
        workers = [
            threading.Thread(target=self.worker, args=(tasks, answers), daemon=True, name=f"import-{number}")
            for number in range(options.concurrency)
        ]
        for worker in workers:
            worker.start()
        in_flight = 0
        outcome, status, error_text = "complete", None, None
        try:

            def refill():
                nonlocal in_flight
                while pending and in_flight < options.concurrency and not self.stop.is_set():
                    start, end = pending.popleft()
                    if end - start > limit:
                        pending.appendleft((start + limit, end))
                        end = start + limit
                    tasks.put((start, end))
                    in_flight += 1

            while pending or in_flight:
                refill()
                if in_flight == 0:
                    break
                if self.interrupted and status is None:
                    outcome, status = "interrupted", EXIT_INTERRUPTED
                try:
                    answered = [answers.get(timeout=0.25)]
                except queue.Empty:
                    progress.update(0)
                    continue
                while True:  # take every answer that is ready: one checkpoint write covers them all
                    try:
                        answered.append(answers.get_nowait())
                    except queue.Empty:
                        break
                records = []
                finished = 0
                for batch in answered:
                    in_flight -= 1
                    state["requests"] += batch.attempts
                    state["retried"] += max(0, batch.attempts - 1)
                    if batch.kind == "done":
                        records.append(self.record(batch, present, failures))
                        state["done"] = add_range(state["done"], batch.start, batch.end)
                        finished += batch.end - batch.start
                    elif batch.kind == "too_large":
                        limit = self.learn_limit(batch, limit)
                        state["batch_limit"] = limit
                        pending.appendleft((batch.start, batch.end))
                    elif batch.kind == "stopped":
                        pending.appendleft((batch.start, batch.end))
                    else:
                        pending.appendleft((batch.start, batch.end))
                        if status in (None, EXIT_INTERRUPTED):
                            fatal = batch.kind == "fatal"
                            outcome = "stopped" if fatal else "gave up"
                            status = EXIT_FATAL if fatal else EXIT_GAVE_UP
                            error_text = describe(batch.error)
                            self.stop.set()
                refill()  # keep the workers busy while the checkpoint is written
                self.checkpoint.journal([record for record in records if record is not None])
                self.checkpoint.save()
                progress.update(finished)
                if self.stop.is_set() and in_flight == 0:
                    break
            if self.interrupted and status is None:
                outcome, status = "interrupted", EXIT_INTERRUPTED
        finally:
            for _ in workers:
                tasks.put(None)
            progress.close()
        return outcome, status, error_text

    def learn_limit(self, batch, limit):
        size = batch.end - batch.start
        learnt = batch.limit if batch.limit is not None else max(1, size // 2)
        if learnt >= size:  # the server refused this many whatever its message says
            learnt = max(1, size - 1) if batch.limit is not None else max(1, size // 2)
        if learnt < limit:
            self.output.note(f"the server takes at most {learnt} ids per request: sending batches of {learnt}")
        return min(limit, learnt)

    def record(self, batch, present, failures):
        """Count a finished batch; return its journal record (None without failures)."""
        state = self.checkpoint.state
        failed_items = []
        results = batch.results
        for offset in range(batch.end - batch.start):
            index = batch.start + offset
            result = results[offset] if offset < len(results) else None
            if result is not None and result.ok and result.id:
                if present is not None and result.id in present:
                    state["already_present"] += 1
                else:
                    state["added"] += 1
                continue
            if result is None:
                error = ("INVALID-ANSWER", "The server's answer holds no result for this id", None)
            elif result.error is None:
                error = ("INVALID-ANSWER", "The server's answer holds no collection id for this id", None)
            else:
                error = (result.error.code or "", result.error.description or "", result.error.message)
            failures[index] = error
            state["failed"][error[0]] = state["failed"].get(error[0], 0) + 1
            failed_items.append([index, *error])
        if not failed_items:
            return None
        return {"batch": [batch.start, batch.end], "failures": failed_items}

    def worker(self, tasks, answers):
        while True:
            task = tasks.get()
            if task is None:
                return
            start, end = task
            try:
                answers.put(self.send_batch(start, end))
            except BaseException as error:  # never lose a batch: report it as fatal
                answers.put(BatchOutcome(start, end, "fatal", error=error, attempts=1))

    def send_batch(self, start, end):
        """Send one batch, retrying what may succeed later."""
        track_ids = self.data.ids[start:end]
        policy = self.options.retry
        attempt = 0
        while True:
            if self.stop.is_set():
                return BatchOutcome(start, end, "stopped", attempts=attempt)
            try:
                outcome = self.client().add(track_ids)
            except (GrooveApiError, GrooveConnectionError) as error:
                attempt += 1
                limit = too_large_limit(error)
                if limit is not False:
                    if end - start == 1:  # nothing left to split: the server refuses this id as such
                        return BatchOutcome(start, end, "fatal", error=error, attempts=attempt)
                    return BatchOutcome(start, end, "too_large", limit=limit, error=error, attempts=attempt)
                if not retryable(error):
                    return BatchOutcome(start, end, "fatal", error=error, attempts=attempt)
                if attempt >= policy.max_attempts:
                    return BatchOutcome(start, end, "gave_up", error=error, attempts=attempt)
                delay = policy.delay(attempt - 1, getattr(error, "retry_after", None), self.rng)
                if self.stop.wait(delay):
                    return BatchOutcome(start, end, "stopped", attempts=attempt)
                continue
            attempt += 1
            if len(outcome.results) != len(track_ids):
                # Results are matched to ids by position; an answer of another length cannot be trusted.
                error = GrooveApiError(
                    status=200, error=outcome.error, retry_after=None, method="POST",
                    path="/1/content/music/collection/add",
                    detail=f"{len(outcome.results)} results for {len(track_ids)} ids",
                )
                return BatchOutcome(start, end, "fatal", error=error, attempts=attempt)
            return BatchOutcome(start, end, "done", results=outcome.results, attempts=attempt)

    # -- ending ------------------------------------------------------------------------------------------

    def report_rows(self, failures):
        data = self.data
        rows = [
            (line, value, INPUT_INVALID_ROW, INPUT_INVALID_ROW_DESCRIPTION, reason)
            for line, value, reason in data.bad_rows
        ]
        for index, (code, description, message) in failures.items():
            rows.append((data.lines[index], data.ids[index], code, description, message or ""))
        rows.sort(key=lambda row: row[0])
        return rows

    def write_report(self, rows):
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(REPORT_COLUMNS)
        writer.writerows(rows)
        try:
            write_atomically(self.report_path, buffer.getvalue().encode("utf-8"))
        except OSError as error:
            self.output.note(f"warning: cannot write the report {self.report_path}: {error.strerror}")

    def summary(self, *, outcome, complete, error_text, elapsed, sent_now, done, present_note):
        data, state, say = self.data, self.checkpoint.state, self.output.say
        total = len(data.ids)
        if complete:
            heading = "complete"
        elif outcome == "interrupted":
            heading = f"interrupted, {total - done:,} ids not sent yet: run the same command again to resume"
        else:
            heading = f"{outcome}, {total - done:,} ids not sent yet: fix the cause, then run the command again to resume"
        say(f"import of {self.options.path}: {heading}")
        if error_text:
            say(f"  reason:          {error_text}")
        say(
            f"  ids:             {total:,} (from {data.rows_read:,} rows; {data.duplicates:,} duplicates dropped, "
            f"{len(data.bad_rows):,} bad rows)"
        )
        say(f"  added:           {state['added']:,}" + (f" ({present_note})" if present_note else ""))
        if present_note is None:
            say(f"  already present: {state['already_present']:,}")
        failed = dict(state["failed"])
        if data.bad_rows:
            failed[INPUT_INVALID_ROW] = len(data.bad_rows)
        say(f"  failed:          {sum(failed.values()):,}")
        for code, count in sorted(failed.items(), key=lambda pair: (-pair[1], pair[0])):
            say(f"    {code}: {count:,}")
        say(f"  requests:        {state['requests']:,} ({state['retried']:,} retried)")
        rate = sent_now / elapsed if elapsed > 0 else 0.0
        say(f"  elapsed:         {elapsed:.1f}s this run, {state['elapsed']:.1f}s in all")
        say(f"  rate:            {rate:,.0f} ids/s")
        say(f"  report:          {self.report_path}")
        if not complete:
            say(f"  checkpoint:      {self.checkpoint.path}")


def too_large_limit(error):
    """For a batch refused as too large: the server's limit (int, or None when it named none); else False."""
    if isinstance(error, GrooveApiError):
        if error.status == 413:
            return None
        if error.status == 400 and error.canonical_code == "COLLECTION_INVALID_OPERATION":
            match = _LIMIT_MESSAGE.search((error.error.message or "") if error.error else "")
            if match:
                return max(1, int(match.group(1)))
    return False


def _kind_text(data, options):
    if data.kind == "text":
        return "text, one id per line"
    if data.kind == "csv":
        if options.isrc_column:
            return f"CSV, ISRCs of column {options.isrc_column!r} sent as music.isrc.{{ISRC}}"
        return f"CSV, column {options.column or 'id'!r}"
    return f"JSON Lines, key {options.key or 'id'!r}"
