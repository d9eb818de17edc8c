#!/usr/bin/env bash
# Add tracks to a user's collection with a DataContract XML TrackActionRequest and print the XML answer.
#
#   BASE_URL=http://127.0.0.1:8000 TOKEN=<bearer token> examples/curl/add-xml.sh [REQUEST.xml]
#
# The request body defaults to seed 003's XML example (examples/groove/add-request-2013.xml, the 2013
# namespace with <d2p1:string> items); examples/groove/add-request-2016.xml is the SDK's 2016 form. The
# answer comes back in the namespace of the request, its elements in DataContract order.
set -euo pipefail
: "${BASE_URL:?set BASE_URL, e.g. http://127.0.0.1:8000}"
: "${TOKEN:?set TOKEN to a bearer token (groove-compat tokens issue USER)}"
body="${1:-$(dirname "$0")/../groove/add-request-2013.xml}"

curl -sS -X POST "${BASE_URL%/}/1/content/music/collection/add" \
  -H "Authorization: Bearer ${TOKEN}" \
  -H "Content-Type: application/xml" \
  --data-binary "@${body}" \
  --write-out '\n'
