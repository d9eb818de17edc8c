"""Browse page time at the start, middle and end of a 50,000-track collection.

Builds a throw-away database (a 60,000-track catalog, one user with 50,000 of them in the library, seeded
through the store), then times ``GET /1/content/music/collection/{type}/browse`` through the Flask test
client (routing, auth, the query, the JSON encoding) for every list and order:

- ``token``: the page after a continuation token taken at the start, the middle and the end of the list
  (the token is the one the server writes there: made from the key of the item just before);
- ``page=``: the same places asked for with the ``page`` parameter, which has to skip the items before.

Each figure is the median of REPEATS requests; ratios are middle/start and end/start of the same run.
Also walks the whole track list once by continuation tokens and checks it saw every track exactly once.

    python bench/browse_bench.py [--tracks 50000] [--catalog 60000] [--repeats 15] [--output bench/BROWSE_REPORT.md]
"""

import argparse
import datetime
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from groove_compat import browse, ids  # noqa: E402
from groove_compat.app import create_app, get_store  # noqa: E402
from groove_compat.auth import Caller  # noqa: E402
from groove_compat.groove import paging  # noqa: E402

WORDS = (
    "atlas lantern echo drift willow canyon meridian neon signal river static orbit glass tide ember hollow "
    "paper harbor velvet salt brisa winter lumen cobalt quiet engine north light ferry gear"
).split()
GENRES = ("Indie", "Rock", "Folk", "Latin", "Pop", "Jazz", "Electronic", "Classical", "Hip-Hop", "Soul")

LISTS = {
    "tracks": ("TrackTitle", "AlbumTitle", "ArtistName", "GenreName", "ReleaseDate", "CollectionDate", "TrackNumber"),
    "albums": ("AlbumTitle", "ArtistName", "GenreName", "ReleaseDate", "CollectionDate"),
    "artists": ("ArtistName", "CollectionDate"),
}
ORDER_OF = {
    "TrackTitle": "title", "AlbumTitle": "album", "ArtistName": "artist", "GenreName": "genre",
    "ReleaseDate": "release", "CollectionDate": "added", "TrackNumber": "number",
}
PAGE = 25


def seed(store, *, tracks, catalog, rng):
    """A catalog of ``catalog`` tracks (albums of 8 to 14 tracks, 2 to 6 albums per artist) and a user whose
    library holds ``tracks`` of them, added in random order."""
    rows = []
    artist_number = 0
    while len(rows) < catalog:
        artist_number += 1
        artist = f"{rng.choice(WORDS).title()} {rng.choice(WORDS).title()} {artist_number}"
        genre = rng.choice(GENRES)
        for album_number in range(rng.randint(2, 6)):
            album = f"{rng.choice(WORDS).title()} {rng.choice(WORDS).title()} {album_number}"
            released = datetime.date(1960, 1, 1) + datetime.timedelta(days=rng.randrange(60 * 365))
            for number in range(1, rng.randint(8, 14) + 1):
                rows.append((
                    1, uuid.UUID(int=rng.getrandbits(128)).bytes, f"{rng.choice(WORDS).title()} {rng.choice(WORDS)}",
                    artist, album, rng.randint(90, 600), number, None, genre, released.isoformat(), rng.random() < 0.1,
                ))
    store.upsert_tracks(rows[:catalog])
    user_id = store.create_user(name="bench", organization_id=1)
    library_id = store.user(user_id)["library_id"]
    track_ids = [row[0] for row in store.connection.execute("SELECT id FROM tracks")]
    chosen = rng.sample(track_ids, tracks)
    with store.transaction():
        for start in range(0, len(chosen), 1000):
            store.append_entries(
                collection_id=library_id, user_id=user_id, track_ids=chosen[start:start + 1000], capacity=tracks
            )
    token = ids.new_token()
    store.add_credential(user_id=user_id, token_hash=ids.token_hash(token))
    return Caller(1, user_id, 1, library_id), token, chosen


def seed_by_album(store, track_ids, rng):
    """A second user holding the same tracks, added album by album (albums in random order), as a library
    filled from albums is."""
    rows = store.connection.execute("SELECT id, album_key, artist_key FROM tracks").fetchall()
    group_of = {row[0]: (row[1], row[2]) for row in rows}
    groups = sorted({group_of[track_id] for track_id in track_ids})
    rng.shuffle(groups)
    rank = {group: number for number, group in enumerate(groups)}
    ordered = sorted(track_ids, key=lambda track_id: (rank[group_of[track_id]], track_id))
    user_id = store.create_user(name="bench-albums", organization_id=1)
    library_id = store.user(user_id)["library_id"]
    with store.transaction():
        for start in range(0, len(ordered), 1000):
            store.append_entries(
                collection_id=library_id, user_id=user_id, track_ids=ordered[start:start + 1000], capacity=len(ordered)
            )
    token = ids.new_token()
    store.add_credential(user_id=user_id, token_hash=ids.token_hash(token))
    return Caller(2, user_id, 1, library_id), token


def token_at(store, codec, caller, list_name, order, index):
    """The continuation token the server writes after the item at ``index - 1`` of the list."""
    core = {"tracks": browse.browse_tracks, "albums": browse.browse_albums, "artists": browse.browse_artists}[list_name]
    page = core(store, caller, order=order, limit=1, offset=index - 1)
    return paging.encode(
        codec.key, collection_id=caller.library_id, list_name=list_name, order=order, page_size=PAGE,
        position=page.items[0]["key"],
    )


def median_ms(client, url, headers, repeats):
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.data[:300]
    return statistics.median(times)


def walk(client, headers, url):
    """Every item of a list by continuation tokens: (ids, pages, seconds)."""
    seen = []
    pages = 0
    started = time.perf_counter()
    token = None
    while True:
        response = client.get(url + (f"?continuationToken={token}" if token else f"?maxItems={PAGE}"), headers=headers)
        body = response.get_json()["Tracks"]
        seen.extend(item["Id"] for item in body["Items"])
        pages += 1
        token = body.get("ContinuationToken")
        if token is None:
            return seen, pages, time.perf_counter() - started


def measure(store, codec, client, caller, headers, list_name, groove_order, arguments):
    """One row of the table: token and page= timings at the start, middle and end of one list in one order."""
    order = ORDER_OF[groove_order]
    core = {"tracks": browse.browse_tracks, "albums": browse.browse_albums, "artists": browse.browse_artists}[list_name]
    if list_name == "tracks":
        count = store.collection(caller.library_id)["track_count"]
    else:  # count the groups once, outside the timing
        count, after = 0, None
        while True:
            page = core(store, caller, order=order, after=after, limit=1000)
            count += len(page.items)
            after = page.after
            if after is None:
                break
    base = f"/1/content/music/collection/{list_name}/browse"
    places = {"start": 0, "middle": count // 2, "end": max(count - PAGE, 0)}
    by_token, by_page = {}, {}
    for place, index in places.items():
        if index == 0:
            url = f"{base}?orderBy={groove_order}&maxItems={PAGE}"
        else:
            url = f"{base}?continuationToken={token_at(store, codec, caller, list_name, order, index)}"
        by_token[place] = median_ms(client, url, headers, arguments.repeats)
        page_number = index // PAGE
        by_page[place] = median_ms(
            client, f"{base}?orderBy={groove_order}&maxItems={PAGE}&page={page_number}", headers, arguments.repeats
        )
    ratio_middle = by_token["middle"] / by_token["start"]
    ratio_end = by_token["end"] / by_token["start"]
    row = (
        f"| {list_name} | {groove_order} | {count:,} | {by_token['start']:.2f} | {by_token['middle']:.2f} |"
        f" {by_token['end']:.2f} | {ratio_middle:.2f} | {ratio_end:.2f} | {by_page['start']:.2f} |"
        f" {by_page['middle']:.2f} | {by_page['end']:.2f} | {by_page['end'] / by_page['start']:.1f} |"
    )
    return row, (ratio_middle, ratio_end)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=50_000)
    parser.add_argument("--catalog", type=int, default=60_000)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--output", default=None)
    arguments = parser.parse_args()
    rng = random.Random(arguments.seed)

    with tempfile.TemporaryDirectory() as folder:
        app = create_app({
            "DATABASE": os.path.join(folder, "bench.sqlite"), "SQLITE_SYNCHRONOUS": "NORMAL",
            # One credential makes thousands of requests here: the rate limit would answer 429 mid-walk.
            "RATE_LIMIT_PER_MINUTE": 0,
        })
        store = get_store(app)
        store.migrate()
        started = time.perf_counter()
        caller, token, chosen = seed(store, tracks=arguments.tracks, catalog=arguments.catalog, rng=rng)
        album_caller, album_token = seed_by_album(store, chosen, rng)
        seeded = time.perf_counter() - started
        codec = ids.IdCodec(store.id_key())
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}

        lines = []
        lines.append("# Browse page time along a large collection\n")
        lines.append(
            f"Generated by `python bench/browse_bench.py` on {datetime.date.today().isoformat()}: Python "
            f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}, {os.cpu_count()} CPUs (shared). A catalog "
            f"of {arguments.catalog:,} tracks, one library of {arguments.tracks:,} of them (seeded through the store "
            f"in {seeded:.1f} s). Each figure is the median of {arguments.repeats} requests through the Flask test "
            f"client (auth, query, JSON encoding), page size {PAGE}. *start*, *middle* and *end* are the first page, "
            "the page after item n/2 and the last full page.\n"
        )
        lines.append("| list | orderBy | items | token: start ms | middle ms | end ms | middle/start | end/start |"
                     " page=: start ms | middle ms | end ms | end/start |")
        lines.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        worst = worst_by_index = 0.0
        for list_name, groove_orders in LISTS.items():
            for groove_order in groove_orders:
                row, ratios = measure(store, codec, client, caller, headers, list_name, groove_order, arguments)
                worst = max(worst, *ratios)
                if not (list_name != "tracks" and groove_order == "CollectionDate"):
                    worst_by_index = max(worst_by_index, *ratios)
                lines.append(row)
                print(row, flush=True)

        lines.append("")
        lines.append(
            f"The same {arguments.tracks:,} tracks in a second library, added album by album (albums in random "
            "order), as a library filled from albums is; the orders by CollectionDate of albums and artists:\n"
        )
        lines.append(lines[2])
        lines.append(lines[3])
        album_headers = {"Authorization": f"Bearer {album_token}"}
        for list_name, groove_order in (("albums", "CollectionDate"), ("artists", "CollectionDate")):
            row, _ = measure(store, codec, client, album_caller, album_headers, list_name, groove_order, arguments)
            lines.append(row)
            print(row, flush=True)

        seen, pages, seconds = walk(client, headers, "/1/content/music/collection/tracks/browse")
        lines.append("")
        lines.append(
            f"Largest token ratio in this run: {worst:.2f}; {worst_by_index:.2f} without the orders by "
            f"CollectionDate of albums and artists in the first library. A full walk of the track list by continuation tokens "
            f"took {pages:,} pages in {seconds:.1f} s ({seconds / pages * 1000:.2f} ms a page) and returned "
            f"{len(seen):,} items, {len(set(seen)):,} distinct (the library holds {arguments.tracks:,})."
        )
        lines.append("")
        lines.append(
            "Reading: with a continuation token a page is a keyset seek (the sort key and tie-breaker of the last "
            "item sent), so its time does not depend on where it is. Track pages walk the catalog index of the "
            "order and keep the tracks in the library; album and artist pages by name skip from group to group on "
            "the same indexes; albums by genre or release date walk the index of that value and keep an album "
            "where the walk meets its least value in the library. Albums and artists by CollectionDate (the newest "
            "latest track first) walk the library's positions from the newest: when each group's tracks are spread "
            "over the whole library, as in the first library here (tracks added one by one in random order), pages "
            "late in the list meet mostly groups of earlier pages, and past a budget the walk gives way to "
            "aggregating the library, so the last pages of those two orders cost one pass over the library; "
            "in a library filled album by album the albums keep the cost of the first page (second table), while an "
            "artist whose albums came at different times is still spread out, so the last artist pages still cost "
            "that pass. "
            "The `page` parameter is answered too, but it has to skip the items before the page, so its cost grows "
            "with the page number: clients page with tokens (the SDK's BrowseContinuationAsync does)."
        )
        report = "\n".join(lines) + "\n"
        print(report)
        if arguments.output:
            with open(arguments.output, "w", encoding="utf-8") as handle:
                handle.write(report)
        store.close()


if __name__ == "__main__":
    main()
