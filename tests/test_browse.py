"""GET /1/content/{ns}/collection/{type}/browse (contract 1.3, 2.9, 3.4): tracks, albums, artists, playlists and
playlistsforyou; maxItems, orderBy, page and continuation tokens; keyset paging of a large collection while it
changes; the schema migration that browse needs."""

import base64
import datetime
import random

import pytest

from groove_compat import ids
from groove_compat.app import create_app, get_store
from groove_compat.store import Store, schema
from groove_helpers import BROWSE, add, browse, fold, sample_catalog, seed_catalog, seed_library, walk
from groove_schemas import NS_2013, NS_2016, call, children, find, find_all, validate

from conftest import group_latest_rows, make_user, recounted_group_rows

CATALOG = sample_catalog()
ALL_IDS = [row["id"] for row in CATALOG]
TOKEN_ALPHABET = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
NO_NUMBER = 2**31 - 1


@pytest.fixture
def app(database_path, users):
    """The app without a rate limit: paging a large collection takes more requests than one credential's
    burst, and the rate limit has its own tests (test_limits.py)."""
    app = create_app({"DATABASE": str(database_path), "TESTING": True, "RATE_LIMIT_PER_MINUTE": 0})
    yield app
    get_store(app).close()


@pytest.fixture
def track_row_ids(store):
    guids = {row["id"]: ids.parse_catalog_guid(row["id"]) for row in CATALOG}
    found = store.tracks_by_guid(organization_id=1, guids=list(guids.values()))
    return {catalog_id: found[guid] for catalog_id, guid in guids.items()}


@pytest.fixture
def full_library(client, alice):
    """Alice's library holds the whole sample catalog, added in catalog order."""
    add(client, alice, ALL_IDS)
    return ALL_IDS


def release_key(text):
    return -datetime.date.fromisoformat(text).toordinal() if text else 1


def number(row):
    return int(row["track_number"]) if row.get("track_number") else NO_NUMBER


# The orders of contract 1.3 written out independently of the server: names alphabetically without case or
# accents, dates newest first, ties broken by the catalog row.
TRACK_ORDERS = {
    "TrackTitle": lambda row, row_id: (fold(row["title"]), row_id),
    "AlbumTitle": lambda row, row_id: (fold(row["album"]), fold(row["artist"]), number(row), row_id),
    "ArtistName": lambda row, row_id: (fold(row["artist"]), fold(row["album"]), number(row), row_id),
    "GenreName": lambda row, row_id: (fold(row["genre"]), fold(row["artist"]), fold(row["album"]), number(row), row_id),
    "ReleaseDate": lambda row, row_id: (release_key(row["release_date"]), fold(row["album"]), fold(row["artist"]),
                                        number(row), row_id),
    "TrackNumber": lambda row, row_id: (number(row), fold(row["title"]), row_id),
}


def expected_titles(order, track_row_ids, rows=CATALOG):
    key = TRACK_ORDERS[order]
    return [row["title"] for row in sorted(rows, key=lambda row: key(row, track_row_ids[row["id"]]))]


# ---------------------------------------------------------------------------------------------------------
# Empty collection, auth, unknown type


@pytest.mark.parametrize(
    "list_type,member",
    [("tracks", "Tracks"), ("albums", "Albums"), ("artists", "Artists"), ("playlists", "Playlists"),
     ("playlistsforyou", "Playlists"), ("Tracks", "Tracks"), ("PlaylistsForYou", "Playlists")],
)
def test_an_empty_collection_answers_an_empty_list(client, alice, store, list_type, member):
    before = store.snapshot()
    response, _ = call(client, "GET", BROWSE.format(list_type), "ContentResponse", headers=alice.headers)
    assert response.status_code == 200
    assert response.get_data() == b'{"%s":{"Items":[]}}' % member.encode()
    response, root = call(client, "GET", BROWSE.format(list_type) + "?contentType=xml", "ContentResponse",
                          headers=alice.headers)
    assert response.get_data() == (
        f'<ContentResponse xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="{NS_2013}">'
        f"<{member}><Items></Items></{member}></ContentResponse>"
    ).encode()
    assert store.snapshot() == before


@pytest.mark.parametrize("list_type", ["tracks", "albums", "artists", "playlists", "playlistsforyou"])
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer gct_unknown"}, {"Authorization": "Basic eDp5"}])
def test_browse_needs_a_user_token(client, list_type, headers):
    response, body = call(client, "GET", BROWSE.format(list_type), "ContentResponse", headers=headers)
    assert response.status_code == 401
    assert body == {"Error": {
        "ErrorCode": "INVALID-AUTHORIZATION-HEADER", "Description": "Missing or invalid authorization header",
        "Message": "You need user authentication to use this API"}}


@pytest.mark.parametrize("url", [BROWSE.format("songs"), "/1/content/video/collection/tracks/browse"])
def test_unknown_type_or_namespace_is_404(client, alice, url):
    response, body = call(client, "GET", url, "ContentResponse", headers=alice.headers)
    assert response.status_code == 404
    assert body["Error"]["ErrorCode"] == "INVALID-INPUT-PARAMETER"


# ---------------------------------------------------------------------------------------------------------
# Tracks: the objects


def test_a_track_is_written_as_groove_wrote_it(client, alice, store, codec, full_library, track_row_ids):
    library_id = store.user(alice.user_id)["library_id"]
    atlas_echo = next(row for row in CATALOG if row["title"] == "Atlas Echo")
    first_of_album = track_row_ids["music.D2477D9F-0100-11DB-89CA-0019B92A3933"]  # Static Orbit, track 1
    entry_id = codec.entry_id(library_id, track_row_ids[atlas_echo["id"]], ids.parse_catalog_guid(atlas_echo["id"]))
    album_id = codec.album_id(library_id, first_of_album)
    artist_id = codec.artist_id(library_id, first_of_album)
    response, body = call(client, "GET", BROWSE.format("tracks") + "?maxItems=1", "ContentResponse",
                          headers=alice.headers)
    token = body["Tracks"]["ContinuationToken"]
    assert response.get_data() == (
        '{"Tracks":{"Items":[{"ReleaseDate":"2012-05-18T00:00:00Z","Duration":"00:06:52","TrackNumber":2,'
        '"IsExplicit":false,"Genres":["Rock"],"Album":{"ReleaseDate":"2012-05-18T00:00:00Z","Genres":["Rock"],'
        f'"Id":"{album_id}","Name":"Signal & Noise","Source":"Collection"}},"Artists":[{{"Role":"PrimaryArtist",'
        f'"Artist":{{"Id":"{artist_id}","Name":"The Quiet Engines","Source":"Collection"}}}}],"Id":"{entry_id}",'
        f'"Name":"Atlas Echo","Source":"Collection"}}],"ContinuationToken":"{token}","TotalItemCount":32}}}}'
    ).encode()
    # The entry id is the one add answered, and album and artist ids have the observed shapes (contract 5).
    assert add(client, alice, [atlas_echo["id"]]) == [entry_id]
    for collection_id, prefix in ((album_id, b"\x01\x01\x0f"), (artist_id, b"\x01\x02\x0f")):
        assert len(collection_id) == len("music.") + 23
        assert base64.urlsafe_b64decode(collection_id[6:] + "=")[:3] == prefix

    response, root = call(client, "GET", BROWSE.format("tracks") + "?maxItems=1&contentType=xml", "ContentResponse",
                          headers=alice.headers)
    assert response.get_data() == (
        f'<ContentResponse xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="{NS_2013}"><Tracks>'
        f"<ContinuationToken>{token}</ContinuationToken><Items><Track><Id>{entry_id}</Id><Name>Atlas Echo</Name>"
        f"<Source>Collection</Source><Album><Id>{album_id}</Id><Name>Signal &amp; Noise</Name><Source>Collection"
        "</Source><Genres><Genre>Rock</Genre></Genres><ReleaseDate>2012-05-18T00:00:00Z</ReleaseDate></Album>"
        f"<Artists><Contributor><Artist><Id>{artist_id}</Id><Name>The Quiet Engines</Name><Source>Collection</Source>"
        "</Artist><Role>PrimaryArtist</Role></Contributor></Artists><Duration>PT6M52S</Duration><Genres><Genre>Rock"
        "</Genre></Genres><IsExplicit>false</IsExplicit><ReleaseDate>2012-05-18T00:00:00Z</ReleaseDate>"
        "<TrackNumber>2</TrackNumber></Track></Items><TotalItemCount>32</TotalItemCount></Tracks></ContentResponse>"
    ).encode()


def test_tracks_without_optional_metadata_omit_those_members(client, alice, store):
    store.upsert_tracks([(1, bytes(range(16)), "Bare", None, None, None, None, None)])
    add(client, alice, [ids.catalog_id(bytes(range(16)))])
    body = browse(client, alice, "tracks")
    (item,) = body["Tracks"]["Items"]
    assert list(item) == ["Id", "Name", "Source"]
    assert "TotalItemCount" in body["Tracks"] and "ContinuationToken" not in body["Tracks"]


@pytest.mark.parametrize("namespace", ["2013", "2016"])
def test_track_xml_follows_the_datacontract_order(make_client, alice, namespace, full_library):
    client = make_client(XML_DEFAULT_NAMESPACE=namespace)
    response = client.get(BROWSE.format("tracks") + "?contentType=xml&maxItems=3", headers=alice.headers)
    root = validate(response, "ContentResponse")
    assert root.nsmap[None] == {"2013": NS_2013, "2016": NS_2016}[namespace]
    assert children(find(root, "Tracks")) == ["ContinuationToken", "Items", "TotalItemCount"]
    for track in find_all(root, "Tracks", "Items", "Track"):
        assert children(track) == [
            "Id", "Name", "Source", "Album", "Artists", "Duration", "Genres", "IsExplicit", "ReleaseDate",
            "TrackNumber",
        ]
        # Album inside a track: the flat 2013 order or the 2016 TrackContainer order hold the same members here.
        assert children(find(track, "Album")) == ["Id", "Name", "Source", "Genres", "ReleaseDate"]
        assert children(find(track, "Artists", "Contributor")) == ["Artist", "Role"]


# ---------------------------------------------------------------------------------------------------------
# Tracks: orders, page size, page, tokens


@pytest.mark.parametrize("order", list(TRACK_ORDERS))
@pytest.mark.parametrize("size", [1, 7, 25])
def test_tracks_come_in_each_order_without_gaps_or_repeats(client, alice, full_library, track_row_ids, order, size):
    items, pages = walk(client, alice, "tracks", member="Tracks", order=order, size=size)
    assert [item["Name"] for item in items] == expected_titles(order, track_row_ids)
    assert pages == -(-len(CATALOG) // size)


def test_collection_date_is_newest_first(client, alice):
    order = [ALL_IDS[5], ALL_IDS[0], ALL_IDS[17], ALL_IDS[3]]
    for track_id in order:
        add(client, alice, [track_id])
    items, _ = walk(client, alice, "tracks", member="Tracks", order="CollectionDate", size=3)
    titles = {row["id"]: row["title"] for row in CATALOG}
    assert [item["Name"] for item in items] == [titles[track_id] for track_id in reversed(order)]


@pytest.mark.parametrize("spelling", ["tracktitle", "TRACKTITLE", "TrackTitle", " trackTitle "])
@pytest.mark.parametrize("name", ["orderBy", "orderby", "ORDERBY"])
def test_order_values_and_names_are_case_insensitive(client, alice, full_library, track_row_ids, spelling, name):
    body = browse(client, alice, "tracks", f"?{name}={spelling}&maxitems=3")
    assert [item["Name"] for item in body["Tracks"]["Items"]] == expected_titles("TrackTitle", track_row_ids)[:3]


def test_default_page_is_25_with_a_token_for_the_rest(client, alice, full_library):
    body = browse(client, alice, "tracks")
    assert len(body["Tracks"]["Items"]) == 25
    assert body["Tracks"]["TotalItemCount"] == 32
    rest = browse(client, alice, "tracks", f"?continuationToken={body['Tracks']['ContinuationToken']}")
    assert len(rest["Tracks"]["Items"]) == 7 and "ContinuationToken" not in rest["Tracks"]


@pytest.mark.parametrize("page,size", [(0, 10), (1, 10), (3, 10), (4, 10), (1, 25), (100, 5)])
def test_page_skips_page_times_max_items(client, alice, full_library, track_row_ids, page, size):
    body = browse(client, alice, "tracks", f"?maxItems={size}&page={page}&orderBy=TrackTitle")
    expected = expected_titles("TrackTitle", track_row_ids)[page * size:(page + 1) * size]
    assert [item["Name"] for item in body["Tracks"].get("Items", [])] == expected
    assert ("ContinuationToken" in body["Tracks"]) == ((page + 1) * size < len(CATALOG))
    if "ContinuationToken" in body["Tracks"]:
        following = browse(client, alice, "tracks", f"?continuationToken={body['Tracks']['ContinuationToken']}")
        assert [item["Name"] for item in following["Tracks"]["Items"]] == (
            expected_titles("TrackTitle", track_row_ids)[(page + 1) * size:(page + 2) * size]
        )


def test_a_token_is_url_safe_self_contained_and_short(client, alice, full_library, track_row_ids):
    body = browse(client, alice, "tracks", "?maxItems=4&orderBy=ArtistName")
    token = body["Tracks"]["ContinuationToken"]
    assert set(token) <= TOKEN_ALPHABET and len(token) < 200
    # The token alone carries order and page size.
    following = browse(client, alice, "tracks", f"?continuationToken={token}")
    assert [item["Name"] for item in following["Tracks"]["Items"]] == expected_titles("ArtistName", track_row_ids)[4:8]
    # Repeating the token repeats the page (a token is a position, not a cursor held by the server).
    again = browse(client, alice, "tracks", f"?continuationToken={token}")
    assert again == following
    # Sending the same orderBy and maxItems with it is fine; the parameter names are case-insensitive.
    same = browse(client, alice, "tracks", f"?CONTINUATIONTOKEN={token}&orderby=artistname&MaxItems=4")
    assert same == following


def _tampered(token, position):
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    raw[position] ^= 0x01
    return base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()


@pytest.mark.parametrize("damage", ["flip-order", "flip-size", "flip-key", "flip-tag", "truncate", "extend",
                                    "garbage", "empty", "padding", "not-base64", "other-user", "other-list", "huge"])
def test_an_invalid_token_is_refused_and_changes_nothing(client, alice, bob, store, full_library, damage):
    add(client, bob, ALL_IDS[:10])
    token = browse(client, alice, "tracks", "?maxItems=2")["Tracks"]["ContinuationToken"]
    bad = {
        "flip-order": lambda: _tampered(token, 2),
        "flip-size": lambda: _tampered(token, 3),
        "flip-key": lambda: _tampered(token, 8),
        "flip-tag": lambda: _tampered(token, -1),
        "truncate": lambda: token[:-3],
        "extend": lambda: token + "AAAA",
        "garbage": lambda: "ASQ6p3IBCQQADQcDAgABMQ",
        "empty": lambda: "",
        "padding": lambda: token + "==",
        "not-base64": lambda: token[:10] + "+/" + token[12:],
        "other-user": lambda: browse(client, bob, "tracks", "?maxItems=2")["Tracks"]["ContinuationToken"],
        "other-list": lambda: browse(client, alice, "artists", "?maxItems=2")["Artists"]["ContinuationToken"],
        "huge": lambda: "A" * 10000,
    }[damage]()
    before = store.snapshot()
    for fmt in ("json", "xml"):
        response, body = call(client, "GET", BROWSE.format("tracks") + f"?contentType={fmt}&continuationToken={bad}",
                              "ContentResponse", headers=alice.headers)
        assert response.status_code == 400
        if fmt == "json":
            assert body == {"Error": {"ErrorCode": "CONTINUATION-TOKEN-INVALID-ERROR",
                                      "Description": "The continuation token provided is incorrect",
                                      "Message": "The continuation token is not one this server wrote for this list"}}
        else:
            assert find(body, "Error", "ErrorCode").text == "CONTINUATION-TOKEN-INVALID-ERROR"
    assert store.snapshot() == before


@pytest.mark.parametrize("extra,message", [
    ("orderBy=TrackTitle", "Parameter orderBy differs from the continuation token's"),
    ("maxItems=5", "Parameter maxItems differs from the continuation token's"),
    ("page=1", "Parameter page cannot be sent with a continuation token"),
])
def test_parameters_that_contradict_the_token_are_incompatible(client, alice, full_library, extra, message):
    token = browse(client, alice, "tracks", "?maxItems=4&orderBy=ArtistName")["Tracks"]["ContinuationToken"]
    response, body = call(client, "GET", BROWSE.format("tracks") + f"?continuationToken={token}&{extra}",
                          "ContentResponse", headers=alice.headers)
    assert response.status_code == 400
    assert body == {"Error": {"ErrorCode": "INCOMPATIBLE-INPUT-PARAMETERS", "Description": "Incompatible parameters",
                              "Message": message}}


@pytest.mark.parametrize("query,status,code,message", [
    ("maxItems=26", 400, "INVALID-INPUT-PARAMETER", "Parameter maxItems must have a value of at most 25"),
    ("maxItems=1000", 400, "INVALID-INPUT-PARAMETER", "Parameter maxItems must have a value of at most 25"),
    ("maxItems=0", 400, "INVALID-INPUT-PARAMETER", "Parameter maxItems must have a value of at least 1"),
    ("maxItems=-1", 400, "INVALID-INPUT-PARAMETER", "Parameter maxItems must be a whole number"),
    ("maxItems=ten", 400, "INVALID-INPUT-PARAMETER", "Parameter maxItems must be a whole number"),
    ("maxItems=", 400, "INVALID-INPUT-PARAMETER", "Parameter maxItems must be a whole number"),
    ("maxItems=1e3", 400, "INVALID-INPUT-PARAMETER", "Parameter maxItems must be a whole number"),
    ("page=-1", 400, "INVALID-INPUT-PARAMETER", "Parameter page must be a whole number"),
    ("page=99999999999", 400, "INVALID-INPUT-PARAMETER", "Parameter page must be a whole number"),
    ("orderBy=Popularity", 400, "INCOMPATIBLE-INPUT-PARAMETERS", "Invalid ordering for this content"),
    ("orderBy=", 400, "INCOMPATIBLE-INPUT-PARAMETERS", "Invalid ordering for this content"),
])
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_bad_paging_parameters_are_refused(client, alice, store, full_library, query, status, code, message, fmt):
    before = store.snapshot()
    response, body = call(client, "GET", BROWSE.format("tracks") + f"?{query}&contentType={fmt}", "ContentResponse",
                          headers=alice.headers)
    assert response.status_code == status
    if fmt == "json":
        assert body["Error"]["ErrorCode"] == code and body["Error"]["Message"] == message
    else:
        assert children(body) == ["Error"]
        assert children(find(body, "Error")) == ["Description", "ErrorCode", "Message"]
        assert find(body, "Error", "ErrorCode").text == code and find(body, "Error", "Message").text == message
    assert store.snapshot() == before


def test_the_documented_max_items_error_body(client, alice):
    response, _ = call(client, "GET", BROWSE.format("tracks") + "?maxItems=26", "ContentResponse",
                       headers=alice.headers)
    assert response.get_data() == (
        b'{"Error":{"ErrorCode":"INVALID-INPUT-PARAMETER","Description":"Invalid parameter value",'
        b'"Message":"Parameter maxItems must have a value of at most 25"}}'
    )


# Orders each list takes (contract 1.3); every other known order name is incompatible with it.
ALLOWED = {
    "tracks": {"TrackTitle", "AlbumTitle", "ArtistName", "GenreName", "ReleaseDate", "CollectionDate", "TrackNumber"},
    "albums": {"AlbumTitle", "ArtistName", "GenreName", "ReleaseDate", "CollectionDate"},
    "artists": {"ArtistName", "CollectionDate"},
    "playlists": {"CollectionDate"},
    "playlistsforyou": set(),
}
EVERY_ORDER = sorted(set().union(*ALLOWED.values()))


@pytest.mark.parametrize("list_type", list(ALLOWED))
@pytest.mark.parametrize("order", EVERY_ORDER)
def test_each_list_takes_its_orders_only(client, alice, store, full_library, list_type, order):
    response, body = call(client, "GET", BROWSE.format(list_type) + f"?orderBy={order.lower()}", "ContentResponse",
                          headers=alice.headers)
    if order in ALLOWED[list_type]:
        assert response.status_code == 200
    else:
        assert response.status_code == 400
        assert response.get_data() == (
            b'{"Error":{"ErrorCode":"INCOMPATIBLE-INPUT-PARAMETERS","Description":"Incompatible parameters",'
            b'"Message":"Invalid ordering for this content"}}'
        )


# ---------------------------------------------------------------------------------------------------------
# Albums and artists


def _groups(rows, key):
    found = {}
    for row in rows:
        found.setdefault(key(row), []).append(row)
    return found


def test_albums_are_derived_from_the_tracks(client, alice, store, codec, full_library, track_row_ids):
    library_id = store.user(alice.user_id)["library_id"]
    items, _ = walk(client, alice, "albums", member="Albums", size=3)
    albums = _groups(CATALOG, lambda row: (fold(row["album"]), fold(row["artist"])))
    assert [item["Name"] for item in items] == [albums[key][0]["album"] for key in sorted(albums)]
    for item in items:
        rows = albums[(fold(item["Name"]), fold(item["Artists"][0]["Artist"]["Name"]))]
        first = min(track_row_ids[row["id"]] for row in rows)
        artist_first = min(track_row_ids[row["id"]] for row in CATALOG if row["artist"] == rows[0]["artist"])
        assert item == {
            "ReleaseDate": rows[0]["release_date"] + "T00:00:00Z",
            "TrackCount": len(rows),
            "IsExplicit": any(row["explicit"] == "true" for row in rows),
            "Genres": [rows[0]["genre"]],
            "Artists": [{"Role": "PrimaryArtist", "Artist": {
                "Id": codec.artist_id(library_id, artist_first), "Name": rows[0]["artist"], "Source": "Collection"}}],
            "Id": codec.album_id(library_id, first),
            "Name": rows[0]["album"],
            "Source": "Collection",
        }


ALBUM_ORDERS = {
    "AlbumTitle": lambda rows: (fold(rows[0]["album"]), fold(rows[0]["artist"])),
    "ArtistName": lambda rows: (fold(rows[0]["artist"]), fold(rows[0]["album"])),
    "GenreName": lambda rows: (
        min(fold(row["genre"]) for row in rows), fold(rows[0]["artist"]), fold(rows[0]["album"])
    ),
    "ReleaseDate": lambda rows: (min(release_key(row["release_date"]) for row in rows), fold(rows[0]["album"]),
                                 fold(rows[0]["artist"])),
}


@pytest.mark.parametrize("order", list(ALBUM_ORDERS))
def test_albums_in_each_order(client, alice, full_library, order):
    items, _ = walk(client, alice, "albums", member="Albums", order=order, size=2)
    albums = _groups(CATALOG, lambda row: (fold(row["album"]), fold(row["artist"])))
    expected = sorted(albums.values(), key=ALBUM_ORDERS[order])
    assert [item["Name"] for item in items] == [rows[0]["album"] for rows in expected]


def test_albums_and_artists_by_collection_date_follow_their_latest_track(client, alice):
    by_album = _groups(CATALOG, lambda row: row["album"])
    # Harbor Songs first, then Brisa, then one more Harbor Songs track: Harbor Songs is the newest album.
    add(client, alice, [row["id"] for row in by_album["Harbor Songs"][:2]])
    add(client, alice, [row["id"] for row in by_album["Brisa"]])
    add(client, alice, [row["id"] for row in by_album["Saltwater"]])
    add(client, alice, [by_album["Harbor Songs"][2]["id"]])
    items, _ = walk(client, alice, "albums", member="Albums", order="CollectionDate", size=1)
    assert [item["Name"] for item in items] == ["Harbor Songs", "Saltwater", "Brisa"]
    items, _ = walk(client, alice, "artists", member="Artists", order="CollectionDate", size=1)
    assert [item["Name"] for item in items] == ["Northbound Lights", "Mara Okafor", "Los Cuatro Vientos"]


def test_artists_by_name_with_stable_ids(client, alice, store, codec, full_library, track_row_ids):
    library_id = store.user(alice.user_id)["library_id"]
    items, _ = walk(client, alice, "artists", member="Artists", size=2)
    artists = _groups(CATALOG, lambda row: fold(row["artist"]))
    assert items == [
        {"Id": codec.artist_id(library_id, min(track_row_ids[row["id"]] for row in artists[key])),
         "Name": artists[key][0]["artist"], "Source": "Collection"}
        for key in sorted(artists)
    ]
    # Removing every track of an artist but one keeps the id; removing the last removes the artist.
    northbound = [row["id"] for row in CATALOG if row["artist"] == "Northbound Lights"]
    before = next(item for item in items if item["Name"] == "Northbound Lights")["Id"]
    call(client, "POST", "/1/content/music/collection/delete", "TrackActionResponse", headers=alice.headers,
         json_body={"TrackIds": northbound[:-1]})
    after, _ = walk(client, alice, "artists", member="Artists")
    assert next(item for item in after if item["Name"] == "Northbound Lights")["Id"] == before
    call(client, "POST", "/1/content/music/collection/delete", "TrackActionResponse", headers=alice.headers,
         json_body={"TrackIds": northbound[-1:]})
    after, _ = walk(client, alice, "artists", member="Artists")
    assert "Northbound Lights" not in [item["Name"] for item in after]


@pytest.mark.parametrize("namespace,order", [
    ("2013", ["Id", "Name", "Source", "Artists", "Genres", "IsExplicit", "ReleaseDate", "TrackCount"]),
    ("2016", ["Id", "Name", "Source", "TrackCount", "Artists", "Genres", "IsExplicit", "ReleaseDate"]),
])
def test_album_xml_order_differs_between_namespaces(make_client, alice, full_library, namespace, order):
    client = make_client(XML_DEFAULT_NAMESPACE=namespace)
    root = validate(client.get(BROWSE.format("albums") + "?contentType=xml", headers=alice.headers), "ContentResponse")
    albums = find_all(root, "Albums", "Items", "Album")
    assert len(albums) == 8
    assert all(children(album) == order for album in albums)


# ---------------------------------------------------------------------------------------------------------
# Playlists


def _create_playlist(client, user, name, track_ids=()):
    body = {"Name": name}
    if track_ids:
        body["TrackActions"] = [{"Id": track_id, "Action": "Add"} for track_id in track_ids]
    response, answer = call(client, "POST", "/1/content/music/collection/playlists/create", "PlaylistActionResponse",
                            headers=user.headers, json_body=body)
    assert response.status_code == 200, answer
    return answer["PlaylistActionResult"]["Id"]


def test_playlists_newest_first(client, alice, bob, codec):
    created = [_create_playlist(client, alice, f"List {number}", ALL_IDS[:number]) for number in range(4)]
    _create_playlist(client, bob, "Not alice's")
    items, pages = walk(client, alice, "playlists", member="Playlists", size=3)
    assert pages == 2
    expected = []
    for number in reversed(range(4)):
        item = {"TrackCount": number, "UserIsOwner": True,
                "Id": codec.playlist_short_id(codec.parse_playlist_id(created[number])),
                "Name": f"List {number}", "Source": "Collection"}
        if number == 0:
            del item["TrackCount"]  # an int member is omitted when 0 (contract 2.8, 2.9)
        expected.append(item)
    assert items == expected
    assert browse(client, alice, "playlists")["Playlists"]["TotalItemCount"] == 4


@pytest.mark.parametrize("namespace,order", [
    ("2013", ["Id", "Name", "Source", "TrackCount", "UserIsOwner"]),
    ("2016", ["Id", "Name", "Source", "TrackCount"]),
])
def test_playlist_xml_order_differs_between_namespaces(make_client, alice, namespace, order):
    client = make_client(XML_DEFAULT_NAMESPACE=namespace)
    _create_playlist(client, alice, "Mix", ALL_IDS[:2])
    root = validate(client.get(BROWSE.format("playlists") + "?contentType=xml", headers=alice.headers),
                    "ContentResponse")
    (playlist,) = find_all(root, "Playlists", "Items", "Playlist")
    assert children(playlist) == order


def test_playlists_for_you_is_always_empty(client, alice, full_library):
    _create_playlist(client, alice, "Mine", ALL_IDS[:3])
    assert browse(client, alice, "playlistsforyou", "?maxItems=5&page=2") == {"Playlists": {"Items": []}}


# ---------------------------------------------------------------------------------------------------------
# Large collections: keyset paging while the collection changes, both query strategies


@pytest.mark.parametrize("order", ["TrackTitle", "CollectionDate"])
def test_paging_20000_tracks_while_they_change_never_repeats_or_skips(client, alice, store, order):
    guids = seed_catalog(store, 24_000)
    rng = random.Random(7)
    library_guids = rng.sample(guids[:20_000], 20_000)
    library_id, track_ids = seed_library(store, alice, library_guids)
    codec = ids.IdCodec(store.id_key())
    entry_of = {codec.entry_id(library_id, track_id, guid): guid for track_id, guid in zip(track_ids, library_guids)}
    present = set(library_guids)
    removed, added = set(), set()
    spare = guids[20_000:]

    def change(page_number):
        # Between pages: remove a few tracks (seen or not) and add a few new ones.
        if page_number % 10:
            return
        victims = rng.sample(sorted(present), 5)
        call(client, "POST", "/1/content/music/collection/delete", "TrackActionResponse", headers=alice.headers,
             json_body={"TrackIds": [ids.catalog_id(guid) for guid in victims]})
        present.difference_update(victims)
        removed.update(victims)
        newcomers = [spare.pop() for _ in range(3)]
        new_ids = add(client, alice, [ids.catalog_id(guid) for guid in newcomers])
        entry_of.update(zip(new_ids, newcomers))
        present.update(newcomers)
        added.update(newcomers)

    items, pages = walk(client, alice, "tracks", member="Tracks", order=order, size=25, between=change,
                        check_schema=False)
    seen = [entry_of[item["Id"]] for item in items]
    assert len(seen) == len(set(seen)), "an item came twice"
    always_there = set(library_guids) - removed
    assert always_there <= set(seen), "an item present from the first page to the last was skipped"
    assert not (set(seen) - set(library_guids) - added)
    if order == "TrackTitle":
        titles = [item["Name"] for item in items]
        assert titles == sorted(titles, key=fold)
    assert (pages - 1) * 25 < len(items) <= pages * 25


@pytest.fixture
def tied_library(store, alice):
    """1,500 catalog tracks with many equal and missing names, numbers and dates; 1,200 in alice's library."""
    guids = seed_catalog(store, 1500, ties=True)
    library_guids = random.Random(5).sample(guids, 1200)
    seed_library(store, alice, library_guids)
    return library_guids


def _every_page(client, user, list_type, member, order, size):
    items, _ = walk(client, user, list_type, member=member, order=order, size=size, check_schema=False)
    return [item["Id"] for item in items]


@pytest.mark.parametrize("list_type,member,order", [
    *[("tracks", "Tracks", order) for order in ALLOWED["tracks"]],
    *[("albums", "Albums", order) for order in ALLOWED["albums"]],
    *[("artists", "Artists", order) for order in ALLOWED["artists"]],
])
def test_both_query_strategies_give_the_same_pages(client, alice, tied_library, monkeypatch, list_type, member, order):
    """Walking the catalog index and reading the collection's entries are two plans for one answer; the seek
    in the group_latest table (albums and artists newest first) gives the answer aggregating the entries does."""
    def aggregate(self, *, collection_id, group_columns, spec, after, wanted, **_):
        return self._aggregate_groups(
            collection_id=collection_id, group_columns=group_columns, spec=spec, after=after, limit=wanted + 1,
            offset=0,
        )

    seek = Store._entries_walk_groups
    answers = []
    for walk_catalog, latest in ((True, seek), (False, seek), (True, aggregate), (False, aggregate)):
        monkeypatch.setattr(Store, "_walk_catalog", lambda self, walk_catalog=walk_catalog, **_: walk_catalog)
        monkeypatch.setattr(Store, "_entries_walk_groups", latest)
        answers.append(_every_page(client, alice, list_type, member, order, 25))
    assert answers[0] and all(answer == answers[0] for answer in answers)
    assert len(set(answers[0])) == len(answers[0])
    if list_type == "tracks":
        assert len(answers[0]) == 1200


def test_tied_tracks_follow_the_documented_orders(client, alice, store, tied_library):
    rows = store.connection.execute(
        "SELECT id, title, artist, album, genre, release_date, track_number FROM tracks"
    ).fetchall()
    by_id = {row[0]: dict(zip(("id", "title", "artist", "album", "genre", "release_date", "track_number"), row))
             for row in rows}
    library = store.tracks_by_guid(organization_id=1, guids=tied_library)
    library_rows = [by_id[track_id] for track_id in library.values()]
    row_ids = {row["id"]: row["id"] for row in library_rows}
    for order in TRACK_ORDERS:
        items, _ = walk(client, alice, "tracks", member="Tracks", order=order, size=25, check_schema=False)
        assert [item["Name"] for item in items] == expected_titles(order, row_ids, library_rows), order


def _change(store, alice, library_id, track_ids, change):
    rng = random.Random(change)
    user_id = alice.user_id
    with store.transaction():
        if change == "remove some":
            store.remove_entries(collection_id=library_id, user_id=user_id, track_ids=set(rng.sample(track_ids, 40)))
        elif change == "remove many":  # more groups than the per-group recount takes on
            store.remove_entries(collection_id=library_id, user_id=user_id, track_ids=set(rng.sample(track_ids, 900)))
        elif change == "move some":
            positions = dict(store.entry_positions(library_id))
            moved = rng.sample(track_ids, 30)
            shuffled = rng.sample(moved, len(moved))
            store.set_positions(
                collection_id=library_id, user_id=user_id,
                positions={new: positions[old] for old, new in zip(moved, shuffled)},
            )
        elif change == "add again":
            store.remove_entries(collection_id=library_id, user_id=user_id, track_ids=set(track_ids[:50]))
            store.append_entries(collection_id=library_id, user_id=user_id, track_ids=track_ids[:50], capacity=10**9)
    if change == "catalog renames":  # a catalog import moves tracks to other albums and artists
        rows = store.connection.execute(
            "SELECT organization_id, guid, title, artist, album, duration, track_number, isrc FROM tracks"
            " ORDER BY id LIMIT 60"
        ).fetchall()
        store.upsert_tracks([(*row[:3], f"Renamed {index % 4}", f"Moved {index % 3}", *row[5:])
                             for index, row in enumerate(rows)])


@pytest.mark.parametrize("shape", ["scattered", "album blocks", "one track per group"])
def test_appends_raise_the_latest_entry_of_each_group(store, alice, shape):
    """Each append raises the latest position of exactly the albums and artists of its new tracks, whether a
    batch holds many tracks of a few groups or a few of many, and tracks without an album or artist join no
    group of that kind: the table matches a recount after every append."""
    rng = random.Random(shape)
    rows = []
    for index in range(600):
        artist = "" if index % 17 == 0 else f"Artist {index // 40 if shape == 'album blocks' else rng.randrange(25)}"
        album = "" if index % 13 == 0 else f"Album {index // 10 if shape == 'album blocks' else rng.randrange(60)}"
        if shape == "one track per group":
            artist, album = f"Artist {index}", f"Album {index}"
        rows.append((1, random.Random(index).randbytes(16), f"Track {index}", artist, album, 200, 1 + index % 10, None))
    store.upsert_tracks(rows)
    track_ids = list(store.tracks_by_guid(organization_id=1, guids=[row[1] for row in rows]).values())
    if shape == "scattered":
        rng.shuffle(track_ids)
    library_id = store.user(alice.user_id)["library_id"]
    for first in range(0, len(track_ids), 100):
        batch = track_ids[first:first + 100]
        with store.transaction():
            store.append_entries(collection_id=library_id, user_id=alice.user_id, track_ids=batch, capacity=10**9)
        assert group_latest_rows(store) == recounted_group_rows(store)
    kinds = {row[1] for row in group_latest_rows(store)}
    assert kinds == {"album", "artist"}
    assert not any(row[3 if row[1] == "artist" else 2] == "" for row in group_latest_rows(store))


@pytest.mark.parametrize("change", ["remove some", "remove many", "move some", "add again", "catalog renames"])
@pytest.mark.parametrize("list_type,member", [("albums", "Albums"), ("artists", "Artists")])
def test_newest_groups_follow_every_change(client, alice, store, tied_library, monkeypatch, change, list_type, member):
    """The latest entry of each album and artist is kept through removals, moves, re-adds and catalog changes:
    the pages by CollectionDate are those of aggregating the entries, and the table matches a recount."""
    library_id = store.user(alice.user_id)["library_id"]
    track_ids = list(store.tracks_by_guid(organization_id=1, guids=tied_library).values())
    with store.transaction():
        other = store.create_collection(user_id=alice.user_id, kind="playlist", name="Other")
        store.append_entries(collection_id=other, user_id=alice.user_id, track_ids=track_ids[:100], capacity=10**9)
    before = _every_page(client, alice, list_type, member, "CollectionDate", 25)
    assert group_latest_rows(store) == recounted_group_rows(store)
    _change(store, alice, library_id, track_ids, change)
    assert group_latest_rows(store) == recounted_group_rows(store)
    answer = _every_page(client, alice, list_type, member, "CollectionDate", 25)
    monkeypatch.setattr(Store, "_entries_walk_groups", lambda self, *, collection_id, group_columns, spec, after,
                        wanted, **_: self._aggregate_groups(collection_id=collection_id, group_columns=group_columns,
                                                            spec=spec, after=after, limit=wanted + 1, offset=0))
    assert answer == _every_page(client, alice, list_type, member, "CollectionDate", 25)
    assert answer != before  # the change shows in the pages
    with store.transaction():
        store.delete_collection(collection_id=other, user_id=alice.user_id)
    assert group_latest_rows(store) == recounted_group_rows(store)
    assert {row[0] for row in group_latest_rows(store)} == {library_id}


# ---------------------------------------------------------------------------------------------------------
# The migration browse needs


def test_a_version_1_database_is_migrated_and_browses(tmp_path):
    path = tmp_path / "old.sqlite"
    old = Store(path)
    with old.transaction():
        schema.MIGRATIONS[0](old.db)
        old.connection.execute("PRAGMA user_version = 1")
    old.connection.executemany(
        "INSERT INTO tracks (organization_id, guid, title, artist, album, duration, track_number, isrc)"
        " VALUES (1, ?, ?, ?, ?, 200, ?, NULL)",
        [(bytes([number] * 16), title, artist, album, number)
         for number, (title, artist, album) in enumerate(
             [("Zeta", "Émile", "Été"), ("alpha", "emile", "ete"), ("Mu", None, None)], start=1)],
    )
    user = make_user(old, "carol")
    library_id = old.user(user.user_id)["library_id"]
    # The version-1 way of appending (today's append_entries also keeps tables that came later).
    old.connection.executemany(
        "INSERT INTO entries (collection_id, track_id, position, added_at) VALUES (?, ?, ?, 0)",
        [(library_id, track_id, track_id - 1) for track_id in (1, 2, 3)],
    )
    old.connection.execute("UPDATE collections SET track_count = 3, next_position = 3 WHERE id = ?", (library_id,))
    old.close()

    app = create_app({"DATABASE": str(path), "TESTING": True})
    store = get_store(app)
    assert store.migrate() == (1, schema.SCHEMA_VERSION)
    assert store.schema_version() == schema.SCHEMA_VERSION
    assert store.connection.execute(
        "SELECT collection_id, kind, album_key, artist_key, position FROM group_latest ORDER BY kind, position"
    ).fetchall() == [(library_id, "album", "ete", "emile", 1), (library_id, "artist", "", "emile", 1)]
    assert store.connection.execute("SELECT title_key, artist_key, album_key FROM tracks ORDER BY id").fetchall() == [
        ("zeta", "emile", "ete"), ("alpha", "emile", "ete"), ("mu", "", "")]
    client = app.test_client()
    assert [item["Name"] for item in browse(client, user, "tracks")["Tracks"]["Items"]] == ["alpha", "Mu", "Zeta"]
    albums = browse(client, user, "albums")["Albums"]["Items"]
    assert [(album["Name"], album["TrackCount"]) for album in albums] == [("Été", 2)]
    assert [artist["Name"] for artist in browse(client, user, "artists", "?orderBy=CollectionDate")["Artists"]["Items"]] == [
        "Émile"]
    assert store.migrate() == (schema.SCHEMA_VERSION, schema.SCHEMA_VERSION)
    get_store(app).close()
