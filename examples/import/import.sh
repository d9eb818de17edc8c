#!/usr/bin/env bash
# A batch import with the operators' client: add every id of a file to the token's user's collection and show
# what failed.
#
#   BASE_URL=http://127.0.0.1:8000 TOKEN=<bearer token> examples/import/import.sh [IDS_FILE]
#
# IDS_FILE (default: ids.txt next to this script) holds one track id per line; the sample mixes catalog ids,
# a repeated id (sent once), an id in no catalog and a malformed line. groove-compat import writes its failure
# report (CSV: line,id,error_code,description,message) and its checkpoint into a scratch folder here, so the
# example leaves nothing behind. Exit status: that of groove-compat import (0 all added or already present,
# 1 some ids failed, 2 usage or file error, 3 stopped by the server, e.g. a bad token, 4 gave up retrying).
set -uo pipefail
: "${BASE_URL:?set BASE_URL, e.g. http://127.0.0.1:8000}"
: "${TOKEN:?set TOKEN to a bearer token (groove-compat tokens issue USER)}"
ids="${1:-$(dirname "$0")/ids.txt}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

status=0
groove-compat import --url "$BASE_URL" --token "$TOKEN" \
  --report "$work/failures.csv" --checkpoint "$work/checkpoint.json" --progress none \
  "$ids" || status=$?

case "$status" in
  0) echo "import: every id was added or already present" ;;
  1) echo "import: some ids failed; failure report:"
     cat "$work/failures.csv" ;;
  *) echo "import: stopped with exit status $status (nothing more to report)" >&2 ;;
esac
exit "$status"
