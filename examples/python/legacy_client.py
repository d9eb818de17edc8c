#!/usr/bin/env python3
"""A legacy Groove client, as the .NET Groove SDK (GrooveApiClient) talks to the service: add tracks, browse
the collection page by page with the continuation token, read the user profile.

    BASE_URL=http://127.0.0.1:8000 TOKEN=<bearer token> python3 examples/python/legacy_client.py [--page-size N] [TRACK_ID ...]

It sends byte for byte what the SDK sends (contract section 8): the path built from the action enum name
(``/1/content/music/collection/Add``), ``Accept: application/json``, ``X-Client-Name: GrooveClientSDK``,
``X-Client-Version: 1.0``, the SDK's User-Agent, ``Accept-Encoding: gzip, deflate`` (answers of 1 KiB and more
arrive gzip-compressed and are decompressed here), compact JSON without charset. Like the SDK, it reads the ``Error``
member of the body, whatever the HTTP status. Only the standard library is used.

Without track ids, seed 003's ids are added (one of them is in no catalog). Output:

    added   <InputId> -> <Id>
    failed  <InputId> <ErrorCode>: <Description>
    page 1  <n> tracks, continuation token: yes|no, gzip: yes|no
      <collection id> <Name> - <Artist>
    profile tracks=<TrackCount> playlists=<PlaylistCount> token=<Collection.Token>

Exit status: 0 when everything succeeded, 1 when some tracks were not added, 2 when a request failed as a whole.
"""

import argparse
import gzip
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
import zlib

SEED_IDS = ["music.9bb2c5c5-455c-4c15-827c-f9bfd759a458", "music.A83EB907-0100-11DB-89CA-0019B92A3933"]
SDK_HEADERS = {
    "Accept": "application/json",
    "User-Agent": "Microsoft.Groove.Api.Client/1.0.0.0",
    "X-Client-Name": "GrooveClientSDK",
    "X-Client-Version": "1.0",
    "Accept-Encoding": "gzip, deflate",
}


class RequestFailed(Exception):
    pass


def groove(method, path, query=None, body=None):
    """One SDK call: the decoded body (the SDK parses error answers as the same type) and whether it was gzip."""
    url = os.environ["BASE_URL"].rstrip("/") + path
    if query:
        # The SDK does not URL-escape query values: Groove tokens and ids are URL-safe by design.
        url += "?" + "&".join(f"{name}={value}" for name, value in query.items())
    headers = dict(SDK_HEADERS, Authorization=f"Bearer {os.environ['TOKEN']}")
    data = None
    if body is not None:
        data = json.dumps(body, separators=(",", ":")).encode("utf-8")  # Json.NET: compact, UTF-8, no BOM
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw, encoding = response.read(), response.headers.get("Content-Encoding", "")
    except urllib.error.HTTPError as error:  # 4xx/5xx: the body is still a Groove object
        raw, encoding = error.read(), error.headers.get("Content-Encoding", "")
    if encoding == "gzip":
        raw = gzip.decompress(raw)
    elif encoding == "deflate":
        raw = zlib.decompress(raw)
    document = json.loads(raw)
    return document, encoding == "gzip"


def whole_request_error(document):
    error = document.get("Error")
    # A partial failure of an add carries results next to its Error; anything else is a failed request.
    if error and not document.get("TrackActionResults"):
        raise RequestFailed(f"{error['ErrorCode']}: {error['Description']}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--page-size", type=int, default=25, help="maxitems of the first browse request (1..25).")
    parser.add_argument("track_ids", nargs="*", help="Catalog ids to add (default: seed 003's).")
    arguments = parser.parse_args()
    for name in ("BASE_URL", "TOKEN"):
        if not os.environ.get(name):
            sys.exit(f"set {name} (BASE_URL=http://127.0.0.1:8000, TOKEN from `groove-compat tokens issue USER`)")

    status = 0
    try:
        # CollectionOperationAsync(TrackActionType.Add, ...): the enum name is the path segment.
        added, _ = groove("POST", "/1/content/music/collection/Add", body={"TrackIds": arguments.track_ids or SEED_IDS})
        whole_request_error(added)
        for result in added["TrackActionResults"]:
            if "Error" in result:
                status = 1
                print(f"failed  {result['InputId']} {result['Error']['ErrorCode']}: {result['Error']['Description']}")
            else:
                print(f"added   {result['InputId']} -> {result['Id']}")

        # BrowseAsync(Collection, Tracks, orderBy: TrackTitle, maxItems), then BrowseContinuationAsync(token),
        # which sends nothing but the token.
        query = {"orderby": "TrackTitle", "maxitems": arguments.page_size}
        page_number = 0
        while query is not None:
            page_number += 1
            content, compressed = groove("GET", "/1/content/music/Collection/Tracks/browse", query=query)
            whole_request_error(content)
            tracks = content.get("Tracks", {})
            token = tracks.get("ContinuationToken")
            print(f"page {page_number}  {len(tracks.get('Items', []))} tracks, continuation token: "
                  f"{'yes' if token else 'no'}, gzip: {'yes' if compressed else 'no'}")
            for track in tracks.get("Items", []):
                artists = ", ".join(contributor["Artist"]["Name"] for contributor in track.get("Artists", []))
                print(f"  {track['Id']} {track['Name']} - {artists}")
            query = {"continuationToken": token} if token else None

        # GetUserProfileAsync(language, country)
        profile, _ = groove("GET", "/1/user/music/profile", query={"language": "en", "country": "US"})
        whole_request_error(profile)
        collection = profile.get("Collection", {})
        print(f"profile tracks={collection.get('TrackCount', 0)} playlists={collection.get('PlaylistCount', 0)} "
              f"token={collection.get('Token')}")
    except RequestFailed as failure:
        print(f"error   {failure}")
        return 2
    return status


if __name__ == "__main__":
    sys.exit(main())
