#!/usr/bin/env bash
# The v1 API with curl: list your collections, create a playlist, add a track to it, list its tracks.
#
#   BASE_URL=http://127.0.0.1:8000 TOKEN=<token> ORG=org_... examples/v1/playlist.sh mtrack_... [NAME]
#
# Every answer is printed as it comes (one JSON document per line); the playlist id is taken from the
# create answer's "id". Track ids (mtrack_...) are in the "data" of GET .../collections/{id}/tracks.
# Needs curl and python3 (to read one member of a JSON answer). Exits non-zero on the first HTTP error.
set -euo pipefail
: "${BASE_URL:?set BASE_URL, e.g. http://127.0.0.1:8000}"
: "${TOKEN:?set TOKEN to a token (groove-compat tokens issue USER)}"
: "${ORG:?set ORG to your organization id (org_...)}"
track="${1:?give the mtrack_ id of a track to add}"
name="${2:-Road trip}"
collections="${BASE_URL%/}/v1/music/${ORG}/collections"

v1() {  # v1 METHOD URL [JSON]: print the answer; fail (curl --fail-with-body) on an HTTP error
  curl -sS --fail-with-body -X "$1" "$2" -H "X-API-Key: ${TOKEN}" \
    ${3:+-H "Content-Type: application/json" --data-binary "$3"} --write-out '\n'
}
member() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

v1 GET "$collections"
created="$(v1 POST "$collections" "$(python3 -c 'import json, sys; print(json.dumps({"name": sys.argv[1]}))' "$name")")"
echo "$created"
playlist="$(echo "$created" | member id)"
v1 POST "$collections/$playlist/tracks" "{\"track_id\": \"$track\"}"
v1 GET "$collections/$playlist/tracks?limit=50"
