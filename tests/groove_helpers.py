"""Plain helpers shared by the Groove feature tests: the sample catalog, adding tracks, walking a list by its
continuation tokens, building large collections straight through the store, and sort keys written here
independently of the server's."""

import csv
import datetime
import unicodedata
import uuid

from groove_schemas import call

from conftest import SAMPLE_CATALOG

BROWSE = "/1/content/music/collection/{}/browse"


def sample_catalog():
    """The rows of the sample catalog, as dicts of its CSV columns."""
    with open(SAMPLE_CATALOG, encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def fold(text):
    """A name as a person compares it: no case, no accents."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(character for character in decomposed if not unicodedata.combining(character)).casefold()


def add(client, user, track_ids):
    response, body = call(
        client, "POST", "/1/content/music/collection/add", "TrackActionResponse", headers=user.headers,
        json_body={"TrackIds": list(track_ids)},
    )
    assert response.status_code == 200, body
    return [result.get("Id") for result in body["TrackActionResults"]]


def browse(client, user, list_type, query="", *, url=None, check_schema=True):
    """One browse page (JSON); returns the body, validated against the ContentResponse schema unless
    ``check_schema`` is false (long walks, where the schema check would cost more than the server)."""
    path = (url or BROWSE.format(list_type)) + query
    if check_schema:
        response, body = call(client, "GET", path, "ContentResponse", headers=user.headers)
    else:
        response = client.get(path, headers=user.headers)
        body = response.get_json()
    assert response.status_code == 200, body
    return body


def walk(client, user, list_type, *, member, order=None, size=25, url=None, between=None, check_schema=True):
    """Every item of a list, page by page through continuation tokens (the token alone, as the SDK does).
    ``between(page_number)`` runs after each page (to change the collection while paging). Without
    ``check_schema`` only the first page is checked against the schema."""
    query = f"?maxItems={size}" + (f"&orderBy={order}" if order else "")
    items, pages = [], 0
    while True:
        body = browse(client, user, list_type, query, url=url, check_schema=check_schema or pages == 0)
        listed = body[member]
        items.extend(listed.get("Items", []))
        pages += 1
        token = listed.get("ContinuationToken")
        if token is None:
            return items, pages
        assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), token
        if between is not None:
            between(pages)
        query = f"?continuationToken={token}"


def seed_catalog(store, count, *, start=0, organization_id=1, rng=None, ties=False):
    """``count`` catalog tracks written straight through the store; returns their GUIDs. With ``ties``,
    names, numbers and dates repeat a lot and some are missing, to exercise tie-breaking."""
    guids = []
    rows = []
    for number in range(start, start + count):
        guid = uuid.UUID(int=(0xABCD << 112) | number).bytes
        guids.append(guid)
        if ties:
            title = f"Song {number % 7}" if number % 5 else f"song {number % 7}"
            artist = None if number % 11 == 0 else f"Artist {number % 13}"
            album = None if number % 17 == 0 else f"Album {number % 19}"
            genre = None if number % 3 == 0 else ("Rock", "Jazz", "Folk")[number % 3]
            released = None if number % 4 == 0 else datetime.date(2000 + number % 5, 1, 1).isoformat()
            track_number = None if number % 9 == 0 else number % 4 + 1
        else:
            title = f"Track {number:06d}"
            artist = f"Artist {number % 997:03d}"
            album = f"Album {number % 4999:04d}"
            genre = ("Rock", "Jazz", "Folk", "Pop")[number % 4]
            released = datetime.date(1970 + number % 50, 1 + number % 12, 1).isoformat()
            track_number = number % 12 + 1
        rows.append((organization_id, guid, title, artist, album, 200, track_number, None, genre, released, False))
    store.upsert_tracks(rows)
    return guids


def seed_library(store, user, guids, *, organization_id=1):
    """Put the tracks of ``guids`` in the user's library, in that order, straight through the store."""
    track_of = store.tracks_by_guid(organization_id=organization_id, guids=guids)
    library_id = store.user(user.user_id)["library_id"]
    track_ids = [track_of[guid] for guid in guids]
    with store.transaction():
        for start in range(0, len(track_ids), 1000):
            store.append_entries(
                collection_id=library_id, user_id=user.user_id, track_ids=track_ids[start:start + 1000],
                capacity=10**9,
            )
    return library_id, track_ids
