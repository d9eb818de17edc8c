"""GET /1/content/{ids}/lookup?source=collection and GET /1/content/{playlist id}/collection/playlist/tracks/browse
(contract 1.4): ids joined with +, in collection, catalog, album, artist and both playlist forms; 404
COLLECTION-NO-RESULT when nothing is found; the playlist sub-browse with its own paging."""

import pytest

from groove_helpers import add, browse, sample_catalog, walk
from groove_schemas import NS_2013, NS_2016, call, children, find, find_all, validate

from conftest import TRACK_A, TRACK_B, TRACK_C, UNKNOWN_TRACK

CATALOG = sample_catalog()
ALL_IDS = [row["id"] for row in CATALOG]
TITLES = {row["id"]: row["title"] for row in CATALOG}
NO_RESULT = {"ErrorCode": "COLLECTION-NO-RESULT", "Description": "No result from Collection",
             "Message": "None of the ids names an item of this collection"}


def lookup(client, user, id_text, query="?source=collection"):
    return call(client, "GET", f"/1/content/{id_text}/lookup{query}", "ContentResponse", headers=user.headers)


def create_playlist(client, user, name, track_ids, published=None):
    body = {"Name": name, "TrackActions": [{"Id": track_id, "Action": "Add"} for track_id in track_ids]}
    if published is not None:
        body["IsPublished"] = published
    response, answer = call(client, "POST", "/1/content/music/collection/playlists/create", "PlaylistActionResponse",
                            headers=user.headers, json_body=body)
    return answer["PlaylistActionResult"]["Id"]


@pytest.fixture
def library(client, alice):
    """Alice holds the first 12 tracks of the catalog: {catalog id: entry id}."""
    return dict(zip(ALL_IDS[:12], add(client, alice, ALL_IDS[:12])))


def test_an_entry_id_gives_the_track_as_browse_does(client, alice, library):
    browsed = {item["Id"]: item for item in walk(client, alice, "tracks", member="Tracks")[0]}
    response, body = lookup(client, alice, library[TRACK_B])
    assert response.status_code == 200
    assert body == {"Tracks": {"Items": [browsed[library[TRACK_B]]]}}


@pytest.mark.parametrize("spelling", [TRACK_C, TRACK_C.lower()])
def test_a_catalog_id_gives_the_collection_track(client, alice, library, spelling):
    response, body = lookup(client, alice, spelling)
    (item,) = body["Tracks"]["Items"]
    assert item["Id"] == library[TRACK_C] and item["Source"] == "Collection"


@pytest.mark.parametrize("joiner", ["+", "%2B", "%20"])
def test_several_ids_joined_with_plus(client, alice, library, joiner):
    ids = [library[TRACK_A], ALL_IDS[5], library[ALL_IDS[7]]]
    response, body = lookup(client, alice, joiner.join(ids))
    expected = [TITLES[TRACK_A], TITLES[ALL_IDS[5]], TITLES[ALL_IDS[7]]]
    assert [item["Name"] for item in body["Tracks"]["Items"]] == expected


def test_ids_that_name_nothing_are_left_out(client, alice, bob, library):
    (bob_entry,) = add(client, bob, [ALL_IDS[20]])
    ids = [UNKNOWN_TRACK, library[TRACK_A], ALL_IDS[20], bob_entry, "music.AQQfAAAAAAAAAAAAAAAAAAAAAAe5PqgAAQ", "x"]
    response, body = lookup(client, alice, "+".join(ids))
    assert [item["Name"] for item in body["Tracks"]["Items"]] == [TITLES[TRACK_A]]


@pytest.mark.parametrize("id_text", [
    UNKNOWN_TRACK, ALL_IDS[20], "music.AQQfAAAAAAAAAAAAAAAAAAAAAAe5PqgAAQ", "music.AQEPAAAAAAAAAAAAAAAAAAA",
    "music.AQIPAAAAAAAAAAAAAAAAAAA", "music.playlist.00000000-0000-0000-0000-000000000000",
    "music.AQMhT-EZaoD-AHqGpBl9GuHQ",
    "nothing", f"{UNKNOWN_TRACK}+nothing",
])
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_nothing_found_is_404(client, alice, store, library, id_text, fmt):
    before = store.snapshot()
    response, body = lookup(client, alice, id_text, f"?source=collection&contentType={fmt}")
    assert response.status_code == 404
    if fmt == "json":
        assert body == {"Error": NO_RESULT}
    else:
        assert find(body, "Error", "ErrorCode").text == "COLLECTION-NO-RESULT"
    assert store.snapshot() == before


def test_albums_and_artists_by_their_collection_ids(client, alice, library):
    albums = {item["Name"]: item for item in walk(client, alice, "albums", member="Albums")[0]}
    artists = {item["Name"]: item for item in walk(client, alice, "artists", member="Artists")[0]}
    ids = [albums["Night Ferry"]["Id"], artists["The Quiet Engines"]["Id"], library[TRACK_A],
           albums["Harbor Songs"]["Id"]]
    response, body = lookup(client, alice, "+".join(ids))
    assert body == {
        "Artists": {"Items": [artists["The Quiet Engines"]]},
        "Albums": {"Items": [albums["Night Ferry"], albums["Harbor Songs"]]},
        "Tracks": {"Items": [lookup(client, alice, library[TRACK_A])[1]["Tracks"]["Items"][0]]},
    }
    # Another user's ids for the same album name nothing in alice's collection, and vice versa.
    response, body = lookup(client, alice, albums["Night Ferry"]["Id"])
    assert response.status_code == 200


def test_album_and_artist_ids_are_per_user(client, alice, bob, library):
    add(client, bob, ALL_IDS[:4])
    alice_albums = walk(client, alice, "albums", member="Albums")[0]
    bob_albums = walk(client, bob, "albums", member="Albums")[0]
    assert alice_albums[0]["Name"] == bob_albums[0]["Name"] and alice_albums[0]["Id"] != bob_albums[0]["Id"]
    response, body = lookup(client, bob, alice_albums[0]["Id"])
    assert response.status_code == 404


def test_an_album_no_longer_held_is_not_found(client, alice, library):
    albums = {item["Name"]: item for item in walk(client, alice, "albums", member="Albums")[0]}
    harbor = [row["id"] for row in CATALOG if row["album"] == "Harbor Songs"]
    call(client, "POST", "/1/content/music/collection/delete", "TrackActionResponse", headers=alice.headers,
         json_body={"TrackIds": harbor})
    response, body = lookup(client, alice, albums["Harbor Songs"]["Id"])
    assert response.status_code == 404
    add(client, alice, harbor[1:2])
    response, body = lookup(client, alice, albums["Harbor Songs"]["Id"])
    assert body["Albums"]["Items"][0]["TrackCount"] == 1  # the same id again, now with one track


# ---------------------------------------------------------------------------------------------------------
# Playlists


@pytest.mark.parametrize("form", ["long", "short", "upper"])
def test_a_playlist_in_either_form_comes_with_its_tracks(client, alice, codec, library, form):
    playlist_id = create_playlist(client, alice, "Road", [TRACK_C, TRACK_A])
    collection_id = codec.parse_playlist_id(playlist_id)
    text = {"long": playlist_id, "short": codec.playlist_short_id(collection_id),
            "upper": "music.playlist." + playlist_id[15:].upper()}[form]
    response, body = lookup(client, alice, text)
    (playlist,) = body["Playlists"]["Items"]
    token = call(client, "GET", "/1/user/music/profile", "UserProfileResponse", headers=alice.headers)[1][
        "Collection"]["Token"]
    tracks = playlist.pop("Tracks")
    assert playlist == {
        "IsPublished": False, "Duration": "00:11:46", "TrackCount": 2, "UserIsOwner": True,
        "CollectionStateToken": token, "Id": codec.playlist_short_id(collection_id), "Name": "Road",
        "Source": "Collection",
    }
    assert [item["Name"] for item in tracks["Items"]] == [TITLES[TRACK_C], TITLES[TRACK_A]]
    assert tracks["TotalItemCount"] == 2 and "ContinuationToken" not in tracks
    assert all(item["Id"] not in library.values() for item in tracks["Items"])  # playlist entries have their own ids


def test_a_long_playlist_lookup_pages_on_with_the_sub_browse(client, alice, library):
    playlist_id = create_playlist(client, alice, "Long", ALL_IDS)
    response, body = lookup(client, alice, playlist_id)
    tracks = body["Playlists"]["Items"][0]["Tracks"]
    assert len(tracks["Items"]) == 25 and tracks["TotalItemCount"] == 32
    url = f"/1/content/{playlist_id}/collection/playlist/tracks/browse?continuationToken={tracks['ContinuationToken']}"
    response, rest = call(client, "GET", url, "ContentResponse", headers=alice.headers)
    assert [item["Name"] for item in tracks["Items"] + rest["Tracks"]["Items"]] == [TITLES[i] for i in ALL_IDS]


def test_other_users_playlists_only_when_published(client, alice, bob, codec, library):
    private = create_playlist(client, bob, "Private", [TRACK_A])
    public = create_playlist(client, bob, "Public", [TRACK_A, TRACK_B], published=True)
    response, body = lookup(client, alice, private)
    assert response.status_code == 404
    response, body = lookup(client, alice, public)
    (playlist,) = body["Playlists"]["Items"]
    assert playlist["UserIsOwner"] is False and "CollectionStateToken" not in playlist
    assert [item["Name"] for item in playlist["Tracks"]["Items"]] == [TITLES[TRACK_A], TITLES[TRACK_B]]
    # Its sub-browse too; but never changing it.
    items, _ = walk(client, alice, None, member="Tracks", url=f"/1/content/{public}/collection/playlist/tracks/browse")
    assert len(items) == 2
    response, answer = call(client, "POST", "/1/content/music/collection/playlists/update", "PlaylistActionResponse",
                            headers=alice.headers, json_body={"Id": public, "Name": "Mine now"})
    assert response.status_code == 404


@pytest.mark.parametrize("namespace,order", [
    ("2013", ["Id", "Name", "Source", "CollectionStateToken", "Duration", "IsPublished", "TrackCount", "Tracks",
              "UserIsOwner"]),
    ("2016", ["Id", "Name", "Source", "Duration", "TrackCount", "Tracks", "CollectionStateToken"]),
])
def test_playlist_xml_order_per_namespace(make_client, alice, library, namespace, order):
    client = make_client(XML_DEFAULT_NAMESPACE=namespace)
    playlist_id = create_playlist(client, alice, "Xml", [TRACK_A, TRACK_B])
    response = client.get(f"/1/content/{playlist_id}/lookup?source=Collection&contentType=xml", headers=alice.headers)
    root = validate(response, "ContentResponse")
    assert root.nsmap[None] == {"2013": NS_2013, "2016": NS_2016}[namespace]
    (playlist,) = find_all(root, "Playlists", "Items", "Playlist")
    assert children(playlist) == order
    assert find(playlist, "Duration").text == "PT11M54S"
    assert [find(track, "Name").text for track in find_all(playlist, "Tracks", "Items", "Track")] == [
        TITLES[TRACK_A], TITLES[TRACK_B]]


# ---------------------------------------------------------------------------------------------------------
# Parameters


@pytest.mark.parametrize("source", ["collection", "Collection", "Catalog+Collection", "catalog%2Bcollection",
                                    "collection%20catalog"])
def test_source_must_include_the_collection(client, alice, library, source):
    response, body = lookup(client, alice, library[TRACK_A], f"?source={source}")
    assert response.status_code == 200


@pytest.mark.parametrize("query", ["", "?source=catalog", "?source=", "?source=everything"])
def test_catalog_lookups_are_not_served(client, alice, store, library, query):
    before = store.snapshot()
    response, body = lookup(client, alice, TRACK_A, query)
    assert response.status_code == 400
    assert body["Error"] == {"ErrorCode": "INVALID-INPUT-PARAMETER", "Description": "Invalid parameter value",
                             "Message": "This server looks up collection content only: use source=collection"}
    assert store.snapshot() == before


def test_the_ids_are_limited_to_250_characters(client, alice, library):
    ids = "+".join([library[TRACK_A]] * 6)  # 6 * 40 + 5 = 245
    assert lookup(client, alice, ids)[0].status_code == 200
    response, body = lookup(client, alice, ids + "+" + TRACK_A)
    assert response.status_code == 400
    assert body["Error"]["Message"] == "The ids of one lookup are limited to 250 characters"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer gct_nobody"}])
def test_lookup_needs_a_user_token(client, alice, library, headers):
    response, body = call(client, "GET", f"/1/content/{library[TRACK_A]}/lookup?source=collection", "ContentResponse",
                          headers=headers)
    assert response.status_code == 401
    assert body["Error"]["ErrorCode"] == "INVALID-AUTHORIZATION-HEADER"


def test_the_sdk_spelling(client, alice, library):
    response, body = call(client, "GET", f"/1/content/{library[TRACK_A]}+{library[TRACK_B]}/Lookup?source=Collection",
                          "ContentResponse", headers=alice.headers)
    assert len(body["Tracks"]["Items"]) == 2


# ---------------------------------------------------------------------------------------------------------
# Playlist sub-browse


@pytest.fixture
def long_playlist(client, alice):
    return create_playlist(client, alice, "Long", list(reversed(ALL_IDS)))


@pytest.mark.parametrize("size", [1, 10, 25])
def test_sub_browse_pages_in_playlist_order(client, alice, long_playlist, size):
    url = f"/1/content/{long_playlist}/Collection/Playlist/Tracks/browse"
    items, pages = walk(client, alice, None, member="Tracks", size=size, url=url)
    assert [item["Name"] for item in items] == [TITLES[i] for i in reversed(ALL_IDS)]
    assert pages == -(-32 // size)


def test_sub_browse_takes_track_orders(client, alice, long_playlist):
    url = f"/1/content/{long_playlist}/collection/playlist/tracks/browse"
    items, _ = walk(client, alice, None, member="Tracks", order="TrackTitle", size=10, url=url)
    assert [item["Name"] for item in items] == sorted(TITLES.values())


def test_a_sub_browse_token_belongs_to_its_playlist(client, alice, long_playlist):
    other = create_playlist(client, alice, "Other", ALL_IDS)
    url = "/1/content/{}/collection/playlist/tracks/browse"
    token = browse(client, alice, None, "?maxItems=5", url=url.format(long_playlist))["Tracks"]["ContinuationToken"]
    response, body = call(client, "GET", url.format(other) + f"?continuationToken={token}", "ContentResponse",
                          headers=alice.headers)
    assert response.status_code == 400
    assert body["Error"]["ErrorCode"] == "CONTINUATION-TOKEN-INVALID-ERROR"
    library_token = browse(client, alice, "tracks", "?maxItems=1")
    assert "ContinuationToken" not in library_token["Tracks"]  # alice's library is empty in this test


@pytest.mark.parametrize("playlist", ["music.playlist.00000000-0000-0000-0000-000000000001", "music.AQMxyz", TRACK_A])
def test_sub_browse_of_an_unknown_playlist_is_404(client, alice, long_playlist, playlist):
    response, body = call(client, "GET", f"/1/content/{playlist}/collection/playlist/tracks/browse", "ContentResponse",
                          headers=alice.headers)
    assert response.status_code == 404
    assert body["Error"]["ErrorCode"] == "COLLECTION-NO-RESULT"


def test_sub_browse_of_another_users_private_playlist_is_404(client, alice, bob, long_playlist):
    response, body = call(client, "GET", f"/1/content/{long_playlist}/collection/playlist/tracks/browse",
                          "ContentResponse", headers=bob.headers)
    assert response.status_code == 404


def test_sub_browse_in_xml(client, alice, long_playlist):
    response, root = call(client, "GET", f"/1/content/{long_playlist}/collection/playlist/tracks/browse?maxItems=2",
                          "ContentResponse", headers={**alice.headers, "Accept": "application/xml"})
    assert children(find(root, "Tracks")) == ["ContinuationToken", "Items", "TotalItemCount"]
    assert len(find_all(root, "Tracks", "Items", "Track")) == 2
