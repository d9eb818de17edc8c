"""Profile one add request in-process: the WSGI app called in a loop, no HTTP server, no load generator.

    python bench/profile_add.py [--kind json|xml|readd] [--requests 2000] [--profiler none|cprofile|pyinstrument]

Prints the mean wall time per request (microseconds; the median of several passes) and, with a profiler, where
it goes. The database is a fresh copy of the benchmark's ``main`` template (durability FULL), so every new-add
request stores 100 rows and commits, as under load. Seeds the templates first if they are missing.
"""

import argparse
import io
import os
import statistics
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
# --root DIR profiles the groove_compat package of another checkout (A/B against an older commit).
if "--root" in sys.argv:
    ROOT = os.path.abspath(sys.argv[sys.argv.index("--root") + 1])
sys.path.insert(0, ROOT)
sys.path.insert(0, BENCH)

import seed  # noqa: E402

from groove_compat.app import create_app, get_store  # noqa: E402

ADD_PATH = "/1/content/music/collection/add"


def environ_for(token, body, content_type):
    return {
        "REQUEST_METHOD": "POST",
        "SCRIPT_NAME": "",
        "PATH_INFO": ADD_PATH,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_AUTHORIZATION": f"Bearer {token}",
        "HTTP_USER_AGENT": "wrk",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kind", choices=("json", "xml", "readd"), default="json")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--profiler", choices=("none", "cprofile", "pyinstrument"), default="none")
    parser.add_argument("--workdir", default=os.path.join(BENCH, ".work"))
    parser.add_argument("--synchronous", default="FULL")
    parser.add_argument("--sort", default="cumulative", help="cProfile sort key (cumulative, tottime)")
    parser.add_argument("--sql", action="store_true", help="time every SQL statement of the last pass, by statement")
    parser.add_argument("--template", choices=("main", "empty", "grown"), default="main",
                        help="the benchmark database to copy (grown: 1M collection rows, 1M-track catalog)")
    parser.add_argument("--root", default=ROOT, help="checkout whose groove_compat is profiled (default: this one)")
    arguments = parser.parse_args()

    templates, users = seed.build_templates(os.path.join(arguments.workdir, "templates"))
    database = seed.copy_template(templates[arguments.template], os.path.join(arguments.workdir, f"profile-{os.getpid()}.sqlite"))
    all_ids = seed.catalog_ids()
    content_type = "application/xml" if arguments.kind == "xml" else "application/json"
    total = arguments.requests * (arguments.passes + 1)
    prepared = []
    for index in range(total):
        token, body = seed.request_for(index, kind=arguments.kind, all_ids=all_ids, users=users)
        prepared.append((token, body.encode()))

    import logging

    app = create_app({"DATABASE": database, "SQLITE_SYNCHRONOUS": arguments.synchronous})
    # The access log goes where gunicorn's stderr would go; here, nowhere, but formatted all the same.
    handler = logging.StreamHandler(open(os.devnull, "w"))
    logger = logging.getLogger("groove_compat")
    logger.handlers[:] = [handler]

    statuses = []

    def start_response(status, headers, exc_info=None):
        statuses.append(status)

    def run(batch):
        for token, body in batch:
            for chunk in app(environ_for(token, body, content_type), start_response):
                pass

    run(prepared[: arguments.requests])  # warm-up pass
    sql_times = {}
    if arguments.sql:
        get_store(app).close()
        connect = get_store(app)._connect

        class TimedConnection:
            """Times each statement's execute and fetch together (a cursor is read out at once)."""

            def __init__(self, connection):
                self._connection = connection

            def __getattr__(self, name):
                return getattr(self._connection, name)

            def execute(self, sql, *parameters):
                started = time.perf_counter()
                rows = self._connection.execute(sql, *parameters).fetchall()
                key = " ".join(sql.split())[:70]
                total, count = sql_times.get(key, (0.0, 0))
                sql_times[key] = (total + time.perf_counter() - started, count + 1)
                return _Rows(rows)

        class _Rows(list):
            def fetchone(self):
                return self[0] if self else None

            def fetchall(self):
                return list(self)

        get_store(app)._connect = lambda: TimedConnection(connect())
    timings = []
    cpu_timings = []
    profiler = None
    if arguments.profiler == "cprofile":
        import cProfile

        profiler = cProfile.Profile()
    elif arguments.profiler == "pyinstrument":
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0002)
    for number in range(1, arguments.passes + 1):
        batch = prepared[number * arguments.requests:(number + 1) * arguments.requests]
        if profiler is not None and number == arguments.passes:
            profiler.enable() if arguments.profiler == "cprofile" else profiler.start()
        started, started_cpu = time.perf_counter(), time.process_time()
        run(batch)
        timings.append((time.perf_counter() - started) / len(batch) * 1e6)
        cpu_timings.append((time.process_time() - started_cpu) / len(batch) * 1e6)
        if profiler is not None and number == arguments.passes:
            profiler.disable() if arguments.profiler == "cprofile" else profiler.stop()
    bad = [status for status in statuses if not status.startswith("200")]
    counts = get_store(app).table_counts()
    print(f"{arguments.kind}: wall {statistics.median(timings):.0f} us/request, CPU {min(cpu_timings):.0f} us/request"
          f" (best pass; passes: " + ", ".join(f"{value:.0f}" for value in cpu_timings)
          + f"); non-200: {len(bad)}; entries {counts['entries']:,}")
    if sql_times:
        per_request = arguments.requests * arguments.passes
        for key, (total, count) in sorted(sql_times.items(), key=lambda item: -item[1][0]):
            print(f"{total / per_request * 1e6:8.0f} us/request {count / per_request:5.1f}x  {key}")
    if arguments.profiler == "cprofile":
        import pstats

        pstats.Stats(profiler).sort_stats(arguments.sort).print_stats(45)
    elif arguments.profiler == "pyinstrument":
        print(profiler.output_text(unicode=False, color=False, show_all=False))
    get_store(app).close()
    for suffix in ("", "-wal", "-shm", ".writer-lock", ".buckets", ".buckets.writer-lock"):
        if os.path.exists(database + suffix):
            os.remove(database + suffix)


if __name__ == "__main__":
    main()
