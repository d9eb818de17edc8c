"""What the per-credential rate limit costs per request.

1. ``RateLimiter.take`` alone, on a bucket file in a temporary folder (one block read, one slot written).
2. The add endpoint in process (Flask test client, an add of a track already present, so no main-database
   write): with the limiter on (a limit too high to refuse anything) and off, interleaved.

    python bench/rate_limit_cost.py [REQUESTS]
"""

import os
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests")]

from conftest import TRACK_A, seeded_database  # noqa: E402
from groove_compat.app import create_app  # noqa: E402
from groove_compat.store.ratelimit import RateLimiter  # noqa: E402


def take_cost(count):
    folder = tempfile.mkdtemp()
    limiter = RateLimiter(os.path.join(folder, "bench.buckets"), per_minute=10**9, burst=10**9)
    limiter.take(1)
    started = time.perf_counter()
    for index in range(count):
        limiter.take(index % 64)
    return (time.perf_counter() - started) / count * 1e6


def endpoint_cost(count, rounds=5):
    folder = tempfile.mkdtemp()
    database = os.path.join(folder, "groove-compat.sqlite")
    users = seeded_database(database)
    clients = {}
    for name, per_minute in (("on", 10**9), ("off", 0)):
        app = create_app({"DATABASE": database, "RATE_LIMIT_PER_MINUTE": per_minute, "RATE_LIMIT_BURST": 10**9})
        clients[name] = app.test_client()
    headers = users["alice"].headers
    clients["on"].post("/1/content/music/collection/add", json={"TrackIds": [TRACK_A]}, headers=headers)
    timings = {"on": [], "off": []}
    for _ in range(rounds):
        for name, client in clients.items():
            started = time.perf_counter()
            for _ in range(count):
                client.post("/1/content/music/collection/add", json={"TrackIds": [TRACK_A]}, headers=headers)
            timings[name].append((time.perf_counter() - started) / count * 1e6)
    return {name: statistics.median(values) for name, values in timings.items()}


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    print(f"RateLimiter.take: {take_cost(count * 5):.1f} us per call")
    medians = endpoint_cost(count)
    print(
        f"add (already present), in process: limiter on {medians['on']:.0f} us, off {medians['off']:.0f} us,"
        f" difference {medians['on'] - medians['off']:.0f} us per request (median of 5 rounds of {count})"
    )
