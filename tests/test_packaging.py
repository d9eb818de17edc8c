"""A non-editable ``pip install .`` into a fresh virtualenv gives a working ``groove-compat`` that reads no file
from the source tree: the source copy it was installed from is deleted before anything runs."""

import filecmp
import json
import os
import queue
import shutil
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from conftest import ROOT, free_port, stop_server, wait_for_http
from contract_schemas import assert_entry_id_shape

IGNORED = shutil.ignore_patterns(".git", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", "instance")


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """``(virtualenv folder, clean environment, working folder outside any source tree)``."""
    base = tmp_path_factory.mktemp("packaging")
    source = base / "source"
    shutil.copytree(ROOT, source, ignore=IGNORED)
    venv = base / "venv"
    # System site-packages provide the dependencies, so nothing is downloaded; the project itself is
    # installed into the virtualenv, whose site-packages come first on its path.
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True, timeout=120)
    install = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
         "--disable-pip-version-check", "--quiet", str(source)],
        capture_output=True, text=True, timeout=300,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    shutil.rmtree(source)
    environment = {
        key: value for key, value in os.environ.items()
        if key not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV") and not key.startswith("GROOVE_COMPAT_")
    }
    environment["PATH"] = str(venv / "bin") + os.pathsep + environment.get("PATH", "")
    workdir = base / "elsewhere"
    workdir.mkdir()
    return venv, environment, workdir


def run(installed, *args):
    venv, environment, workdir = installed
    return subprocess.run(
        [str(venv / "bin" / "groove-compat"), *args], capture_output=True, text=True, cwd=workdir, env=environment, timeout=120
    )


def test_the_package_is_imported_from_the_virtualenv(installed):
    venv, environment, workdir = installed
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import groove_compat, sys; print(groove_compat.__file__)"],
        capture_output=True, text=True, cwd=workdir, env=environment, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith(str(venv))
    packaged = os.path.join(os.path.dirname(result.stdout.strip()), "data", "sample_catalog.csv")
    # The packaged sample catalog is the one examples/ publishes.
    assert filecmp.cmp(packaged, os.path.join(ROOT, "examples", "sample_catalog.csv"), shallow=False)


def test_version_and_operators_commands(installed):
    venv, environment, workdir = installed
    version = run(installed, "--version")
    assert version.returncode == 0 and "0.1.0" in version.stdout

    database = workdir / "operators.sqlite"
    init = run(installed, "db", "init", "--db", str(database))
    assert init.returncode == 0, init.stderr
    assert "schema version 0 ->" in init.stdout
    user = run(installed, "users", "create", "erin", "--db", str(database))
    assert user.returncode == 0 and user.stdout.strip().startswith("usr_")
    token = run(installed, "tokens", "issue", "erin", "--db", str(database))
    assert token.returncode == 0 and len(token.stdout.strip().splitlines()[-1]) >= 32


def test_db_init_without_a_path_uses_the_instance_folder_of_the_installation(installed):
    venv, environment, workdir = installed
    init = run(installed, "db", "init")
    assert init.returncode == 0, init.stderr
    path = init.stdout.split(":", 1)[0]
    assert path.startswith(str(venv)) and os.path.exists(path)


def _lines(stream, lines):
    for line in iter(stream.readline, b""):
        lines.put(line.decode("utf-8", "replace").rstrip("\n"))


def test_demo_runs_outside_the_source_tree(installed):
    venv, environment, workdir = installed
    port = free_port()
    database = workdir / "demo.sqlite"
    process = subprocess.Popen(
        [str(venv / "bin" / "groove-compat"), "demo", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--db", str(database)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=workdir, env=environment,
    )
    lines = queue.Queue()
    threading.Thread(target=_lines, args=(process.stdout, lines), daemon=True).start()
    try:
        printed = []
        deadline = time.monotonic() + 30
        while not (printed and printed[-1].startswith("curl ")):
            printed.append(lines.get(timeout=max(deadline - time.monotonic(), 0.1)))
        fields = {key.strip(): value.strip() for key, value in (line.split(":", 1) for line in printed[:-2])}
        sample_rows = sum(1 for _ in open(os.path.join(ROOT, "examples", "sample_catalog.csv"), encoding="utf-8")) - 1
        assert fields["database"] == f"{database} ({sample_rows} sample tracks)"
        wait_for_http(f"http://127.0.0.1:{port}/healthz", process)
        result = subprocess.run(["bash", "-c", printed[-1]], capture_output=True, text=True, cwd=workdir, timeout=30)
        assert result.returncode == 0, result.stderr
        (added,) = json.loads(result.stdout)["TrackActionResults"]
        assert added["InputId"] == fields["track id"]
        assert_entry_id_shape(added["Id"], fields["track id"])
    finally:
        stop_server(process)
    connection = sqlite3.connect(database)
    try:
        assert connection.execute("SELECT COUNT(*) FROM tracks").fetchone() == (sample_rows,)
        assert connection.execute("SELECT COUNT(*) FROM entries").fetchone() == (1,)
    finally:
        connection.close()
