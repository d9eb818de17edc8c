#!/usr/bin/env python3
"""A v1 API tour with requests: list your collections, create a playlist, add a track, list its tracks.

    BASE_URL=http://127.0.0.1:8000 TOKEN=<token> ORG=org_... python3 examples/v1/playlist.py [--name NAME] [mtrack_...]

Without a track id, the first track of your library is used (add one first, e.g. with
examples/curl/add-json.sh). Prints one line per step:

    collection mcoll_... library (3 tracks)
    created    mcoll_... "NAME"
    added      mtrack_... to mcoll_...
    track 0    mtrack_... music.{GUID} TITLE - ARTIST

A failure prints ``HTTP <status> <code>: <message> (<system_message>)`` and exits with status 1.
"""

import argparse
import os
import sys

import requests


class Failed(Exception):
    pass


def call(session, method, url, **arguments):
    """The decoded v1 answer; a ``{"success": false, "error": ...}`` envelope raises Failed."""
    response = session.request(method, url, timeout=30, **arguments)
    body = response.json()
    if not body.get("success"):
        error = body["error"]
        raise Failed(f"HTTP {response.status_code} {error['code']}: {error['message']} ({error['system_message']})")
    return body


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--name", default="Road trip", help="Name of the playlist to create.")
    parser.add_argument("track_id", nargs="?", help="mtrack_ id to add (default: the first of your library).")
    arguments = parser.parse_args()
    for name in ("BASE_URL", "TOKEN", "ORG"):
        if not os.environ.get(name):
            sys.exit(f"set {name} (BASE_URL=http://127.0.0.1:8000, TOKEN from `groove-compat tokens issue`, ORG=org_...)")
    collections = f"{os.environ['BASE_URL'].rstrip('/')}/v1/music/{os.environ['ORG']}/collections"

    session = requests.Session()
    session.headers["X-API-Key"] = os.environ["TOKEN"]
    try:
        listed = call(session, "GET", collections)["data"]
        for collection in listed:
            label = "library" if collection["kind"] == "library" else f'playlist "{collection["name"]}"'
            print(f"collection {collection['id']} {label} ({collection['track_count']} tracks)")

        track_id = arguments.track_id
        if track_id is None:
            library = next(collection for collection in listed if collection["kind"] == "library")
            first = call(session, "GET", f"{collections}/{library['id']}/tracks", params={"limit": 1})["data"]
            if not first:
                sys.exit("your library is empty: give an mtrack_ id, or add a track with examples/curl/add-json.sh")
            track_id = first[0]["id"]

        playlist = call(session, "POST", collections, json={"name": arguments.name})["id"]
        print(f'created    {playlist} "{arguments.name}"')
        call(session, "POST", f"{collections}/{playlist}/tracks", json={"track_id": track_id})
        print(f"added      {track_id} to {playlist}")

        cursor = None
        while True:  # every page, following next_cursor
            parameters = {"limit": 50} if cursor is None else {"limit": 50, "cursor": cursor}
            page = call(session, "GET", f"{collections}/{playlist}/tracks", params=parameters)
            for entry in page["data"]:
                print(f"track {entry['position']:<4} {entry['id']} {entry['groove_catalog_id']} "
                      f"{entry['title']} - {entry['artist'] or '(unknown artist)'}")
            cursor = page["next_cursor"]
            if cursor is None:
                break
    except Failed as failure:
        print(failure)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
