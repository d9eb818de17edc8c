"""The benchmark of ``POST /1/content/music/collection/add``: real server, real HTTP, alternated rounds.

    bash bench/run.sh            # full run (about 12 minutes), writes bench/REPORT.md
    bash bench/run.sh --quick    # a smoke run (about 3 minutes), writes bench/REPORT-quick.md

``run.sh`` installs what is missing (Debian's ``wrk``; granian and pyinstrument in ``bench/.venv``) and runs
this script. It seeds template databases through the store (cached in ``bench/.work``), starts
``groove-compat serve`` (gunicorn, the production defaults, durability FULL) on 127.0.0.1, and drives it with
wrk at concurrency 8 and 32. Every figure is the median and min-max of several rounds; every comparison is
the per-round ratio of runs alternated in the same invocation (the order flips every round).
"""

import argparse
import datetime
import json
import os
import platform
import resource
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.request

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
sys.path.insert(0, ROOT)
sys.path.insert(0, BENCH)

import seed  # noqa: E402

from groove_compat.app import create_app, get_store  # noqa: E402

ADD_PATH = "/1/content/music/collection/add"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
CORES = os.cpu_count()


def log(message):
    print(message, flush=True)


# ---------------------------------------------------------------------------------------------------------
# Installing


def ensure_wrk():
    if shutil.which("wrk"):
        return
    log("installing wrk (Debian package)")
    environment = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=environment)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, env=environment)


# ---------------------------------------------------------------------------------------------------------
# Processes and the machine


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def children(pid):
    """Every descendant process id of ``pid``."""
    found = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                for child in handle.read().split():
                    found.append(int(child))
                    found.extend(children(int(child)))
        except FileNotFoundError:
            pass
    return found


def cpu_seconds(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total / CLOCK_TICKS


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return None


def machine_busy_seconds():
    with open("/proc/stat") as handle:
        fields = [int(value) for value in handle.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / CLOCK_TICKS


class Server:
    """One server process on 127.0.0.1 with its own working copy of a database."""

    # The production defaults of ``groove-compat serve``: every server here runs them unless told otherwise,
    # so the bare Flask ceiling runs under the same gunicorn configuration as the real server.
    def __init__(self, name, kind, database, *, workers=2, threads=4, synchronous=None, workdir):
        self.name = name
        self.kind = kind  # "gunicorn" (groove-compat serve), "bare" (bench/bare_app.py), "granian"
        self.database = database
        self.workers = workers
        self.threads = threads
        self.synchronous = synchronous
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = os.path.join(workdir, f"server-{name}.log")
        self.process = None
        self.new_add_offset = 0  # how many new-add requests this database copy has been sent

    def argv(self):
        bind = f"127.0.0.1:{self.port}"
        if self.kind == "gunicorn":
            # Both always explicit: the command's defaults may change, the benchmark's configuration may not.
            return [sys.executable, "-m", "groove_compat.cli", "serve", "--bind", bind, "--db", self.database,
                    "--workers", str(self.workers), "--threads", str(self.threads)]
        if self.kind == "bare":
            return [sys.executable, os.path.join(BENCH, "bare_app.py"), "--bind", bind, "--workers", str(self.workers),
                    "--threads", str(self.threads)]
        if self.kind == "granian":
            granian = shutil.which("granian", path=os.path.dirname(sys.executable)) or shutil.which("granian")
            return [granian, "--interface", "wsgi", "--host", "127.0.0.1", "--port", str(self.port), "--workers",
                    str(self.workers), "--blocking-threads", str(self.threads), "--no-ws", "--log-level", "warning",
                    "wsgi_app:app"]
        raise ValueError(self.kind)

    def start(self):
        environment = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, BENCH]))
        environment["GROOVE_COMPAT_DATABASE"] = self.database
        if self.synchronous:
            environment["GROOVE_COMPAT_SQLITE_SYNCHRONOUS"] = self.synchronous
        self.log_handle = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            self.argv(), stdout=self.log_handle, stderr=self.log_handle, env=environment, cwd=ROOT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server {self.name} exited with {self.process.returncode}; see {self.log_path}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"server {self.name} did not answer; see {self.log_path}")
        # Wait until every worker is up, so a worker booting is never part of a measurement.
        deadline = time.monotonic() + 30
        while len(self.worker_pids()) < self.workers and time.monotonic() < deadline:
            time.sleep(0.1)
        return self

    def worker_pids(self):
        if self.process is None:
            return []
        return children(self.process.pid)

    def all_pids(self):
        return [self.process.pid, *self.worker_pids()]

    def stop(self):
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None
        self.log_handle.close()


# ---------------------------------------------------------------------------------------------------------
# Load


class Load:
    """Bodies and tokens on disk, and the wrk scripts that replay them."""

    def __init__(self, workdir, users):
        self.workdir = workdir
        self.users = users
        self.all_ids = seed.catalog_ids()
        os.makedirs(workdir, exist_ok=True)
        self.tokens_file = self._write("tokens.txt", [user["token"] for user in users])
        new_blocks = [seed.block_ids(self.all_ids, seed.NEW_BLOCK_FIRST + number) for number in range(seed.NEW_BLOCKS)]
        self.bodies = {
            "json": (self._write("bodies-json.txt", [seed.json_body(block) for block in new_blocks]), "application/json"),
            "xml": (self._write("bodies-xml.txt", [seed.xml_body(block) for block in new_blocks]), "application/xml"),
            "readd": (
                self._write("bodies-readd.txt", [seed.json_body(seed.block_ids(self.all_ids, seed.READD_BLOCK))]),
                "application/json",
            ),
        }

    def _write(self, name, lines):
        path = os.path.join(self.workdir, name)
        with open(path, "w") as handle:
            handle.write("\n".join(lines) + "\n")
        return path

    def script(self, kind, base):
        bodies, content_type = self.bodies[kind]
        path = os.path.join(self.workdir, f"load-{kind}.lua")
        with open(path, "w") as handle:
            handle.write(LUA_TEMPLATE.replace("@TOKENS@", self.tokens_file).replace("@BODIES@", bodies)
                         .replace("@BASE@", str(base)).replace("@CONTENT_TYPE@", content_type)
                         .replace("@PATH@", ADD_PATH))
        return path


LUA_TEMPLATE = r"""
-- Generated by bench/run.py: request i adds body (i // users) % #bodies for user i % users.
local function lines(path)
  local result = {}
  for line in io.lines(path) do result[#result + 1] = line end
  return result
end
local tokens = lines("@TOKENS@")
local bodies = lines("@BODIES@")
local users = #tokens
local counter = @BASE@
local headers = {["Content-Type"] = "@CONTENT_TYPE@"}

request = function()
  local i = counter
  counter = counter + 1
  headers["Authorization"] = "Bearer " .. tokens[(i % users) + 1]
  return wrk.format("POST", "@PATH@", headers, bodies[(math.floor(i / users) % #bodies) + 1])
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,' ..
    '"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


def entry_count(database):
    # Counted through the store, on its own short-lived connection (WAL: readers do not block the server).
    app = create_app({"DATABASE": database})
    store = get_store(app)
    try:
        return store.table_counts()["entries"]
    finally:
        store.close()


def settled_entry_count(database, timeout=20.0):
    """The entry count once it stops moving: requests still queued when wrk stopped have been answered."""
    deadline = time.monotonic() + timeout
    previous = entry_count(database)
    while time.monotonic() < deadline:
        time.sleep(0.3)
        current = entry_count(database)
        if current == previous:
            return current
        previous = current
    return previous


class Runner:
    def __init__(self, arguments, load):
        self.arguments = arguments
        self.load = load
        self.records = []  # every measured run

    def wrk(self, server, kind, connections, duration, *, measure=True, check=True):
        """One bounded wrk run against ``server``; returns its record (rate, latency, load, checks)."""
        if kind == "readd":
            base = 0
        else:
            base = server.new_add_offset
            if base + 2_000 * duration * 2 > seed.NEW_ADD_CAPACITY:
                raise RuntimeError(f"{server.name}: the database copy is running out of new ids; use a fresh copy")
        script = self.load.script(kind, base)
        counting = check and server.kind != "bare"
        before_rows = settled_entry_count(server.database) if counting else None
        pids = server.all_pids()
        server_cpu = cpu_seconds(pids)
        busy = machine_busy_seconds()
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()
        completed = subprocess.run(
            ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--timeout", "5s", "-s", script, server.url + ADD_PATH],
            capture_output=True, text=True, check=True,
        )
        elapsed = time.monotonic() - started
        children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        busy = machine_busy_seconds() - busy
        server_cpu = cpu_seconds(pids) - server_cpu
        wrk_cpu = (children_after.ru_utime + children_after.ru_stime) - (children_before.ru_utime + children_before.ru_stime)
        line = next((line for line in completed.stdout.splitlines() if line.startswith("WRK_JSON ")), None)
        if line is None:
            raise RuntimeError(f"wrk printed no summary:\n{completed.stdout}\n{completed.stderr}")
        result = json.loads(line[len("WRK_JSON "):])
        requests = result["requests"]
        if kind != "readd":
            server.new_add_offset += requests + 4 * connections + result["connect"] + result["read"] + result["write"]
        record = {
            "server": server.name,
            "kind": kind,
            "connections": connections,
            "rate": requests / (result["duration_us"] / 1e6),
            "p50_ms": result["p50_us"] / 1000,
            "p99_ms": result["p99_us"] / 1000,
            "max_ms": result["max_us"] / 1000,
            "requests": requests,
            "errors": {name: result[name] for name in ("connect", "read", "write", "status", "timeout")},
            "bytes_per_response": result["bytes"] / max(requests, 1),
            # CPU (in cores) of the machine that was neither this server nor wrk: other people's work.
            "other_load_cores": max(busy - server_cpu - wrk_cpu, 0.0) / elapsed,
            "server_cores": server_cpu / elapsed,
            "wrk_cores": wrk_cpu / elapsed,
        }
        if counting:
            added = settled_entry_count(server.database) - before_rows
            record["rows_added"] = added
            expected_low = 0 if kind == "readd" else 100 * requests
            expected_high = 0 if kind == "readd" else 100 * (requests + connections + sum(record["errors"].values()))
            record["rows_check"] = expected_low <= added <= expected_high
        if result["status"] or result["timeout"]:
            record["rows_check"] = False
        if measure:
            self.records.append(record)
        status = "" if record.get("rows_check", True) else "  CHECK FAILED"
        log(
            f"    {server.name:>14} {kind:>5} c{connections:<3} {record['rate']:8.1f}/s p50 {record['p50_ms']:6.2f} ms "
            f"p99 {record['p99_ms']:6.2f} ms  other load {record['other_load_cores']:.2f} cores{status}"
        )
        return record


def check_answers(server, load, kinds=("json", "xml", "readd")):
    """Send one request of each load kind (in Python) and check the answer: 100 results, no error."""
    import requests

    for kind in kinds:
        index = server.new_add_offset if kind != "readd" else 0
        token, body = seed.request_for(index, kind=kind, all_ids=load.all_ids, users=load.users)
        if kind != "readd":
            server.new_add_offset += 1
        content_type = "application/xml" if kind == "xml" else "application/json"
        response = requests.post(
            server.url + ADD_PATH,
            data=body.encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": content_type},
            timeout=10,
        )
        text = response.text
        if response.status_code != 200:
            raise RuntimeError(f"{server.name} {kind}: HTTP {response.status_code}: {text[:300]}")
        successes = text.count("<Id>") if kind == "xml" else text.count('"Id":')
        if successes != 100 or "Error" in text:
            raise RuntimeError(f"{server.name} {kind}: expected 100 successes, got {successes}: {text[:300]}")
    return True


# ---------------------------------------------------------------------------------------------------------
# Figures


def summary_of(values):
    values = list(values)
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def fmt(summary, digits=0, unit=""):
    return (f"{summary['median']:,.{digits}f}{unit} ({summary['min']:,.{digits}f}-{summary['max']:,.{digits}f}, "
            f"n={summary['n']})")


def rounds_of(records, group):
    return [record for record in records if record.get("group") == group]


def ratio_summary(records, group, numerator, denominator):
    """Per-round ratios of two series of the same group; keys are (server, kind, connections)."""
    by_round = {}
    for record in rounds_of(records, group):
        by_round.setdefault(record["round"], {})[(record["server"], record["kind"], record["connections"])] = record["rate"]
    ratios = [rates[numerator] / rates[denominator] for rates in by_round.values() if numerator in rates and denominator in rates]
    return summary_of(ratios) if ratios else None


def series(records, group, key, field="rate"):
    values = [record[field] for record in rounds_of(records, group)
              if (record["server"], record["kind"], record["connections"]) == key]
    return summary_of(values) if values else None


# ---------------------------------------------------------------------------------------------------------
# Groups of alternated runs


def alternate(runner, group, rounds, plan):
    """Run ``plan`` (a list of (server, kind, connections)) ``rounds`` times, reversing the order every round."""
    duration = runner.arguments.duration
    for round_number in range(rounds):
        log(f"  {group}: round {round_number + 1}/{rounds}")
        order = plan if round_number % 2 == 0 else list(reversed(plan))
        for server, kind, connections in order:
            record = runner.wrk(server, kind, connections, duration)
            record["group"] = group
            record["round"] = round_number


def warm(runner, servers, kinds=("json",)):
    for server in servers:
        for kind in kinds:
            if server.kind == "bare" and kind != "json":
                continue
            runner.wrk(server, kind, 8, 1, measure=False, check=False)


def group_main(runner, templates, workdir, results):
    """New adds JSON and XML, re-adds, the bare Flask ceiling, at c8 and c32; then worker memory."""
    groove = Server("groove", "gunicorn", seed.copy_template(templates["main"], os.path.join(workdir, "main.sqlite")),
                    workdir=workdir)
    bare = Server("bare-flask", "bare", "", workdir=workdir)
    servers = [groove, bare]
    try:
        for server in servers:
            server.start()
        check_answers(groove, runner.load)
        results["response_size"] = response_sizes(groove, bare, runner.load)
        warm(runner, servers, ("json", "xml", "readd"))
        plan = [
            (groove, "json", 8), (bare, "json", 8), (groove, "xml", 8), (groove, "readd", 8),
            (groove, "json", 32), (bare, "json", 32), (groove, "xml", 32), (groove, "readd", 32),
        ]
        alternate(runner, "main", runner.arguments.rounds, plan)
        results["rss_mib"] = {pid: rss_mib(pid) for pid in groove.worker_pids()}
        results["rss_mib_bare"] = {pid: rss_mib(pid) for pid in bare.worker_pids()}
    finally:
        for server in servers:
            server.stop()


def response_sizes(groove, bare, load):
    import requests

    token, body = seed.request_for(groove.new_add_offset, kind="json", all_ids=load.all_ids, users=load.users)
    groove.new_add_offset += 1
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    real = requests.post(groove.url + ADD_PATH, data=body, headers=headers, timeout=10).content
    ceiling = requests.post(bare.url + ADD_PATH, data=body, headers=headers, timeout=10).content
    return {"groove": len(real), "bare": len(ceiling)}


def group_growth(runner, templates, workdir, results):
    """An empty store against one holding 1,000,000 rows and a 1,000,000-track catalog; fresh copies per round."""
    for round_number in range(runner.arguments.rounds):
        log(f"  growth: round {round_number + 1}/{runner.arguments.rounds} (fresh copies)")
        empty = Server("empty-store", "gunicorn",
                       seed.copy_template(templates["empty"], os.path.join(workdir, "growth-empty.sqlite")), workdir=workdir)
        grown = Server("grown-store", "gunicorn",
                       seed.copy_template(templates["grown"], os.path.join(workdir, "growth-grown.sqlite")), workdir=workdir)
        servers = [empty, grown] if round_number % 2 == 0 else [grown, empty]
        try:
            for server in servers:
                server.start()
            if round_number == 0:
                check_answers(grown, runner.load, kinds=("json",))
            warm(runner, servers)
            # One measured run per store and round: a store's second run would not be on the store the
            # figure names (a 5 s run adds about 370,000 rows, so the "empty" store would hold 40% of the
            # grown one's).
            for server in servers:
                record = runner.wrk(server, "json", 8, runner.arguments.duration)
                record["group"], record["round"] = "growth", round_number
        finally:
            for server in servers:
                server.stop()


def group_durability(runner, templates, workdir, results):
    full = Server("full", "gunicorn", seed.copy_template(templates["main"], os.path.join(workdir, "full.sqlite")),
                  workdir=workdir)
    normal = Server("normal", "gunicorn", seed.copy_template(templates["main"], os.path.join(workdir, "normal.sqlite")),
                    synchronous="NORMAL", workdir=workdir)
    servers = [full, normal]
    try:
        for server in servers:
            server.start()
        warm(runner, servers)
        alternate(runner, "durability", runner.arguments.rounds, [(full, "json", 8), (normal, "json", 8)])
    finally:
        for server in servers:
            server.stop()


WSGI_SERVERS = [
    # (name, kind, workers, threads)
    ("gunicorn-sync", "gunicorn", 2, 1),
    ("gunicorn-sync-w3", "gunicorn", 3, 1),
    ("gunicorn-gthread", "gunicorn", 2, 4),  # the serve default
    # Faster than 4 threads, but it fails the slow-client test of tests/test_limits.py (a worker whose two
    # threads are held by slow clients still accepts connections, and they wait).
    ("gunicorn-gthread-t2", "gunicorn", 2, 2),
    ("granian", "granian", 2, 1),
]


def group_wsgi(runner, templates, workdir, results):
    servers = []
    try:
        for name, kind, workers, threads in WSGI_SERVERS:
            if kind == "granian" and not shutil.which("granian", path=os.path.dirname(sys.executable)):
                log("  granian is not installed: skipped")
                continue
            server = Server(name, kind, seed.copy_template(templates["main"], os.path.join(workdir, f"{name}.sqlite")),
                            workers=workers, threads=threads, workdir=workdir)
            servers.append(server)
            server.start()
            check_answers(server, runner.load, kinds=("json",))
        warm(runner, servers)
        plan = [(server, "json", connections) for connections in (8, 32) for server in servers]
        # Three rounds (two with --quick): four servers at two concurrencies is the longest group.
        alternate(runner, "wsgi", min(runner.arguments.rounds, 3), plan)
    finally:
        for server in servers:
            server.stop()


def group_storage(runner, templates, workdir, results, users_file):
    rounds = max(runner.arguments.rounds, 3)
    batches = 100 if runner.arguments.quick else 300
    for synchronous in ("FULL", "NORMAL"):
        completed = subprocess.run(
            [sys.executable, os.path.join(BENCH, "storage.py"), "--template", templates["main"], "--users", users_file,
             "--workdir", workdir, "--rounds", str(rounds), "--batches", str(batches), "--synchronous", synchronous],
            capture_output=True, text=True, check=True, cwd=ROOT,
        )
        line = next(line for line in completed.stdout.splitlines() if line.startswith("STORAGE_JSON "))
        key = "storage" if synchronous == "FULL" else "storage_normal"
        results[key] = json.loads(line[len("STORAGE_JSON "):])
        for number, item in enumerate(results[key]["rounds"]):
            log(f"    {synchronous} round {number + 1}: store {item['store_batches_per_s']:.0f}/s "
                f"raw {item['raw_batches_per_s']:.0f}/s ratio {item['ratio']:.3f}")


# ---------------------------------------------------------------------------------------------------------
# The report


def machine_description():
    model = "unknown"
    with open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as handle:
        memory_kib = int(handle.readline().split()[1])
    wrk_version = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.splitlines()[0:1]
    import importlib.metadata

    import gunicorn

    try:
        import orjson

        orjson_version = orjson.__version__
    except ImportError:
        orjson_version = "not installed"
    with open("/proc/loadavg") as handle:
        loadavg = " ".join(handle.read().split()[:3])
    return {
        "cpu": model,
        "nproc": CORES,
        "memory_gib": round(memory_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "flask": importlib.metadata.version("flask"),
        "gunicorn": gunicorn.__version__,
        "orjson": orjson_version,
        "wrk": (wrk_version[0] if wrk_version else "").split(" [")[0],
        "loadavg_at_start": loadavg,
    }


def write_report(path, arguments, machine, records, results, started, finished):
    records_main = "main"
    json8 = series(records, records_main, ("groove", "json", 8))
    json8_p99 = series(records, records_main, ("groove", "json", 8), "p99_ms")
    json32 = series(records, records_main, ("groove", "json", 32))
    json32_p99 = series(records, records_main, ("groove", "json", 32), "p99_ms")
    lines = []
    add = lines.append
    add("# Benchmark: `POST /1/content/music/collection/add`, 100 ids per request")
    add("")
    add(f"Generated by `bash bench/run.sh{' --quick' if arguments.quick else ''}` on "
        f"{started:%Y-%m-%d %H:%M} UTC ({(finished - started).total_seconds() / 60:.1f} minutes). "
        "Do not edit by hand: rerun it.")
    add("")
    add("## Machine")
    add("")
    for key, value in machine.items():
        add(f"- {key.replace('_', ' ')}: {value}")
    add(f"- rounds per figure: {arguments.rounds}, {arguments.duration} s per run, wrk with 1 thread on the same machine")
    if records:  # none when only the storage group ran
        other = summary_of(record["other_load_cores"] for record in records)
        add(f"- other people's load during the runs (machine CPU that was neither the server nor wrk, in cores of "
            f"{CORES}): median {other['median']:.2f}, range {other['min']:.2f}-{other['max']:.2f}")
    add("")
    add("Absolute rates move with that load; the ratios compare runs alternated within one invocation and are the "
        "figures to trust.")
    add("")

    add("## Targets")
    add("")
    add("| figure | target | median (min-max) | met |")
    add("| --- | --- | --- | --- |")

    def target_row(label, summary, target, passes, digits=2, unit=""):
        if summary is None:
            add(f"| {label} | {target} | not measured | - |")
            return
        add(f"| {label} | {target} | {fmt(summary, digits, unit)} | {'yes' if passes(summary['median']) else 'NO'} |")

    target_row("new adds, JSON, c8: batches/s", json8, ">= 1,000", lambda value: value >= 1000, 0)
    target_row("new adds, JSON, c8: p99 latency", json8_p99, "<= 16 ms", lambda value: value <= 16, 2, " ms")
    ceiling = ratio_summary(records, "main", ("groove", "json", 8), ("bare-flask", "json", 8))
    target_row("ceiling ratio (groove / bare Flask), c8", ceiling, ">= 0.45", lambda value: value >= 0.45, 3)
    xml = ratio_summary(records, "main", ("groove", "xml", 8), ("groove", "json", 8))
    target_row("XML (2013 namespace) / JSON, c8", xml, ">= 0.90", lambda value: value >= 0.90, 3)
    growth = ratio_summary(records, "growth", ("grown-store", "json", 8), ("empty-store", "json", 8))
    target_row("growth (1M rows + 1M-track catalog / empty), c8", growth, ">= 0.95", lambda value: value >= 0.95, 3)
    readd = ratio_summary(records, "main", ("groove", "readd", 8), ("groove", "json", 8))
    target_row("idempotent re-adds / new adds, c8", readd, ">= 1.5", lambda value: value >= 1.5, 3)
    storage = results.get("storage")
    storage_summary = summary_of(item["ratio"] for item in storage["rounds"]) if storage else None
    target_row("storage: Store / raw sqlite3 time", storage_summary, "<= 1.15", lambda value: value <= 1.15, 3)
    rss = results.get("rss_mib")
    if rss:
        rss_summary = summary_of(rss.values())
        add(f"| worker RSS after the load (per worker) | <= 40 MiB | {fmt(rss_summary, 1, ' MiB')} | "
            f"{'yes' if rss_summary['max'] <= 40 else 'NO'} |")
    add("")
    add("Every ratio is computed per round from runs alternated in that round, then summarised (median, min-max, "
        "n rounds). The response of the bare app is the same size as the real one: "
        f"{results.get('response_size')} bytes.")
    add("")

    add("## All runs, by figure")
    add("")
    add("| group | server | body | connections | batches/s | p50 ms | p99 ms |")
    add("| --- | --- | --- | --- | --- | --- | --- |")
    keys = []
    for record in records:
        key = (record["group"], record["server"], record["kind"], record["connections"])
        if key not in keys:
            keys.append(key)
    for group, server, kind, connections in keys:
        rate = series(records, group, (server, kind, connections))
        p50 = series(records, group, (server, kind, connections), "p50_ms")
        p99 = series(records, group, (server, kind, connections), "p99_ms")
        add(f"| {group} | {server} | {kind} | {connections} | {fmt(rate, 0)} | {fmt(p50, 2)} | {fmt(p99, 2)} |")
    add("")
    add("## Comparisons (per-round ratios)")
    add("")
    comparisons = [
        ("c32: groove / bare Flask", "main", ("groove", "json", 32), ("bare-flask", "json", 32)),
        ("c32: XML / JSON", "main", ("groove", "xml", 32), ("groove", "json", 32)),
        ("c32: re-adds / new adds", "main", ("groove", "readd", 32), ("groove", "json", 32)),
        ("c32 / c8 new adds", "main", ("groove", "json", 32), ("groove", "json", 8)),
        ("durability NORMAL / FULL, c8", "durability", ("normal", "json", 8), ("full", "json", 8)),
    ]
    for name, _, workers, threads in WSGI_SERVERS[1:]:
        for connections in (8, 32):
            comparisons.append((f"{name} / gunicorn-sync, c{connections}", "wsgi", (name, "json", connections),
                                ("gunicorn-sync", "json", connections)))
    for label, group, numerator, denominator in comparisons:
        summary = ratio_summary(records, group, numerator, denominator)
        if summary:
            add(f"- {label}: {fmt(summary, 3)}")
    add("")
    if rss:
        add("## Memory")
        add("")
        add("Resident set of each gunicorn worker of the groove server after all its load: "
            + ", ".join(f"{value:.1f} MiB" for value in rss.values())
            + "; the bare Flask app's workers: "
            + ", ".join(f"{value:.1f} MiB" for value in results.get("rss_mib_bare", {}).values()) + ".")
        add("")
    if storage:
        add("## Storage microbenchmark")
        add("")
        add("`bench/storage.py`: per batch `BEGIN IMMEDIATE`, `Store.tracks_by_guid` (100 GUIDs), "
            "`Store.append_entries` (100 new tracks), `COMMIT`, against the same statements written by hand on a "
            "plain `sqlite3` connection; each side on its own copy, alternating. With FULL (the target figure) the "
            "fsync of every commit dominates both sides; NORMAL shows the store's own overhead more sharply.")
        add("")
        add("| durability | round | Store batches/s | raw sqlite3 batches/s | time ratio |")
        add("| --- | --- | --- | --- | --- |")
        for label, key in (("FULL", "storage"), ("NORMAL", "storage_normal")):
            for number, item in enumerate(results.get(key, {}).get("rounds", [])):
                add(f"| {label} | {number + 1} | {item['store_batches_per_s']:.0f} | {item['raw_batches_per_s']:.0f} | "
                    f"{item['ratio']:.3f} |")
        normal = results.get("storage_normal")
        if normal:
            add("")
            add(f"NORMAL time ratio: {fmt(summary_of(item['ratio'] for item in normal['rounds']), 3)}.")
        add("")
    add("## Checks")
    add("")
    failed = [record for record in records if record.get("rows_check") is False]
    errors = sum(sum(record["errors"].values()) for record in records)
    add(f"- Before each group, one request of each kind was sent from Python and its answer checked (100 results, "
        f"no error). After each run the entries table was counted: new adds stored 100 rows per completed "
        f"request (up to the requests still in flight when wrk stopped) and re-adds stored none. Runs failing that "
        f"check: {len(failed)}. Socket errors, non-2xx answers and timeouts over all runs: {errors}.")
    add("")
    notes = os.path.join(BENCH, "NOTES.md")
    if os.path.exists(notes):
        with open(notes) as handle:
            add(handle.read().rstrip())
        add("")
    with open(path, "w") as handle:
        handle.write("\n".join(lines))
    with open(os.path.splitext(path)[0] + ".json", "w") as handle:
        json.dump({"machine": machine, "records": records, "results": results}, handle, indent=1, default=str)


# ---------------------------------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2 rounds of 2 s runs: a smoke test of the harness")
    parser.add_argument("--rounds", type=int, default=None, help="rounds per figure (default 5, quick 2)")
    parser.add_argument("--duration", type=int, default=None, help="seconds per run (default 5, quick 2)")
    parser.add_argument("--only", default="main,growth,durability,wsgi,storage",
                        help="comma-separated groups to run (main, growth, durability, wsgi, storage)")
    parser.add_argument("--fresh-seed", action="store_true", help="rebuild the template databases")
    parser.add_argument("--workdir", default=os.path.join(BENCH, ".work"))
    parser.add_argument("--report", default=None, help="default bench/REPORT.md (bench/REPORT-quick.md with --quick)")
    arguments = parser.parse_args()
    arguments.rounds = arguments.rounds or (2 if arguments.quick else 5)
    arguments.duration = arguments.duration or (2 if arguments.quick else 5)
    report = arguments.report or os.path.join(BENCH, "REPORT-quick.md" if arguments.quick else "REPORT.md")

    ensure_wrk()
    started = datetime.datetime.now(datetime.timezone.utc)
    machine = machine_description()
    templates, users = seed.build_templates(os.path.join(arguments.workdir, "templates"), log=log,
                                            fresh=arguments.fresh_seed)
    users_file = seed.users_path(os.path.join(arguments.workdir, "templates"))
    run_dir = os.path.join(arguments.workdir, "run")
    shutil.rmtree(run_dir, ignore_errors=True)
    os.makedirs(run_dir)
    load = Load(run_dir, users)
    runner = Runner(arguments, load)
    results = {}
    groups = arguments.only.split(",")
    for name, function in (("main", group_main), ("growth", group_growth), ("durability", group_durability),
                           ("wsgi", group_wsgi)):
        if name in groups:
            log(f"group {name}")
            function(runner, templates, run_dir, results)
    if "storage" in groups:
        log("group storage")
        group_storage(runner, templates, run_dir, results, users_file)
    finished = datetime.datetime.now(datetime.timezone.utc)
    write_report(report, arguments, machine, runner.records, results, started, finished)
    log(f"wrote {report}")
    shutil.rmtree(run_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
