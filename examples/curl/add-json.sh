#!/usr/bin/env bash
# Add tracks to a user's collection with a JSON TrackActionRequest and print the TrackActionResponse.
#
#   BASE_URL=http://127.0.0.1:8000 TOKEN=<bearer token> examples/curl/add-json.sh [REQUEST.json]
#
# The request body defaults to seed 003's first example (examples/groove/add-request.json: one unknown
# id and one catalog id), so the answer shows a success and a per-item COLLECTION-INVALID-ID.
set -euo pipefail
: "${BASE_URL:?set BASE_URL, e.g. http://127.0.0.1:8000}"
: "${TOKEN:?set TOKEN to a bearer token (groove-compat tokens issue USER)}"
body="${1:-$(dirname "$0")/../groove/add-request.json}"

curl -sS -X POST "${BASE_URL%/}/1/content/music/collection/add" \
  -H "Authorization: Bearer ${TOKEN}" \
  -H "Content-Type: application/json" \
  -H "Accept: application/json" \
  --data-binary "@${body}" \
  --write-out '\n'
