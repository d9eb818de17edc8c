#!/usr/bin/env bash
# The benchmark's one command: bash bench/run.sh [--quick] [other options of bench/run.py]
# Installs what is missing (Debian's wrk; granian and pyinstrument in bench/.venv, which sees the system's
# packages so the project's own dependencies come from where the project is installed), then runs bench/run.py.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq wrk
fi
if [ ! -x bench/.venv/bin/python ]; then
    python3 -m venv --system-site-packages bench/.venv
fi
bench/.venv/bin/python -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt 2>/dev/null \
    || echo "note: could not install bench/requirements.txt; the servers that need it are skipped" >&2
bench/.venv/bin/python -c 'import flask, gunicorn, marshmallow, lxml, sqlite_utils' 2>/dev/null \
    || bench/.venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
exec bench/.venv/bin/python bench/run.py "$@"
