"""Writers of one database wait in line (threads and processes) instead of polling SQLite's busy handler."""

import contextlib
import fcntl
import multiprocessing
import threading
import time
import types

import pytest

from groove_compat.store import Store
from groove_compat.store.queue import WriterQueue

from conftest import run_in_threads


def _hold_a_turn(path, acquired, released_at, hold):
    queue = WriterQueue(path, timeout=10)
    with queue.turn():
        acquired.set()
        time.sleep(hold)
        released_at.value = time.time()


@contextlib.contextmanager
def another_process_holding_a_turn(path, hold):
    """Yields once another process holds a turn of ``path`` (for ``hold`` seconds); yields the shared value
    that process sets to the time it gave its turn back, and checks it ended well."""
    context = multiprocessing.get_context("spawn")
    acquired, released_at = context.Event(), context.Value("d", 0.0)
    other = context.Process(target=_hold_a_turn, args=(path, acquired, released_at, hold))
    other.start()
    try:
        assert acquired.wait(30)
        yield released_at
    finally:
        other.join(30)
    assert other.exitcode == 0


def test_a_writer_waits_for_another_process_holding_its_turn(tmp_path):
    path = str(tmp_path / "db.sqlite")
    with another_process_holding_a_turn(path, 0.5) as released_at:
        with WriterQueue(path, timeout=10).turn():
            started = time.time()
        assert released_at.value and started >= released_at.value


def test_threads_of_a_process_take_turns_one_at_a_time(tmp_path):
    queue = WriterQueue(str(tmp_path / "db.sqlite"), timeout=10)
    inside, most, lock = [0], [0], threading.Lock()

    def write():
        for _ in range(50):
            with queue.turn():
                with lock:
                    inside[0] += 1
                    most[0] = max(most[0], inside[0])
                time.sleep(0.0005)
                with lock:
                    inside[0] -= 1

    run_in_threads(write, 6)
    assert most[0] == 1


def test_a_writer_that_cannot_get_its_turn_in_time_is_refused_not_hung(tmp_path):
    queue = WriterQueue(str(tmp_path / "db.sqlite"), timeout=0.2)
    holding, release = threading.Event(), threading.Event()

    def hold():
        with queue.turn():
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(10)
        with pytest.raises(Exception, match="database is locked"):
            with queue.turn():
                pass
    finally:
        release.set()
        holder.join()


def test_a_failed_transaction_gives_its_turn_back(tmp_path):
    store = Store(str(tmp_path / "db.sqlite"), busy_timeout=1)
    store.migrate()
    with pytest.raises(RuntimeError):
        with store.transaction():
            raise RuntimeError("boom")
    with store.transaction() as connection:  # not refused: the failed writer left the queue
        connection.execute("SELECT 1")


def test_a_writer_held_up_by_another_process_past_the_timeout_is_refused_not_hung(tmp_path):
    path = str(tmp_path / "db.sqlite")
    with another_process_holding_a_turn(path, 3.0):
        started = time.monotonic()
        with pytest.raises(Exception, match="database is locked"):
            with WriterQueue(path, timeout=0.3).turn():
                pass
        assert time.monotonic() - started < 2.0


def test_threads_starting_their_first_write_together_share_one_queue(tmp_path):
    """The per-process state is made once even when many threads ask for it at the same moment."""
    queue = WriterQueue(str(tmp_path / "db.sqlite"), timeout=10)
    start = threading.Barrier(8)
    states = []

    def first_write():
        start.wait()
        states.append(queue._for_this_process())

    run_in_threads(first_write, 8)
    assert len({id(state) for state in states}) == 1


def test_the_flock_is_polled_every_50_us_for_5_ms_then_less_and_less_often(tmp_path, monkeypatch):
    """A turn elsewhere lasts about a millisecond, so the first 5 ms are polled closely; a long one (an
    import) is polled at most every 2 ms. A fake clock and flock: no timing."""
    from groove_compat.store import queue as queue_module

    clock = [1000.0]
    pauses = []
    attempts = []

    def fake_sleep(seconds):
        pauses.append(seconds)
        clock[0] += seconds

    def fake_flock(handle, operation):
        attempts.append(operation)
        if len(attempts) < 150:
            raise BlockingIOError

    # The module's own names, not the time and fcntl modules: other threads of the test run keep theirs.
    monkeypatch.setattr(queue_module, "time", types.SimpleNamespace(monotonic=lambda: clock[0], sleep=fake_sleep))
    monkeypatch.setattr(
        queue_module, "fcntl", types.SimpleNamespace(flock=fake_flock, LOCK_EX=fcntl.LOCK_EX, LOCK_NB=fcntl.LOCK_NB)
    )
    with open(tmp_path / "lock", "ab") as handle:
        assert queue_module._lock_file(handle, deadline=clock[0] + 10) is True
    short = [pause for pause in pauses if pause == 0.00005]
    assert pauses[: len(short)] == short and 0.005 <= len(short) * 0.00005 < 0.0052
    later = pauses[len(short):]
    assert later[:6] == pytest.approx([0.0001, 0.0002, 0.0004, 0.0008, 0.0016, 0.002])
    assert max(later) == 0.002 and set(later[6:]) == {0.002}
