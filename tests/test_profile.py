"""GET /1/user/{ns}/profile (contract 1.8, 2.8): CollectionState with a Token that changes on every change of the
collection, counts omitted when 0, IsSubscriptionAvailableForPurchase always written, Culture from language and
country, and the partial answer without a user token."""

import pytest

from groove_helpers import add, sample_catalog
from groove_schemas import NS_2013, NS_2016, call, children

from conftest import TRACK_A, TRACK_B, TRACK_C

PROFILE = "/1/user/music/profile"
ALL_IDS = [row["id"] for row in sample_catalog()]


def profile(client, headers, query=""):
    return call(client, "GET", PROFILE + query, "UserProfileResponse", headers=headers)


def token(client, user):
    return profile(client, user.headers)[1]["Collection"]["Token"]


def test_a_new_user(client, alice, store):
    before = store.snapshot()
    response, body = profile(client, alice.headers)
    assert response.status_code == 200
    assert response.get_data() == (
        b'{"HasSubscription":false,"IsSubscriptionAvailableForPurchase":false,"Culture":"en-US",'
        b'"Collection":{"Token":"1.0.0.0.0","RemainingPlaylistCount":100,"RemainingTrackCount":50000}}'
    )
    assert store.snapshot() == before


def test_counts_follow_the_collection(client, alice, bob):
    add(client, alice, [TRACK_A, TRACK_B, TRACK_C])
    for name in ("One", "Two"):
        call(client, "POST", "/1/content/music/collection/playlists/create", "PlaylistActionResponse",
             headers=alice.headers, json_body={"Name": name, "TrackActions": [{"Id": ALL_IDS[9], "Action": "Add"}]})
    add(client, bob, [TRACK_A])
    response, body = profile(client, alice.headers)
    collection = body["Collection"]
    assert list(collection) == ["Token", "PlaylistCount", "RemainingPlaylistCount", "TrackCount", "RemainingTrackCount"]
    # Playlist tracks are not collection tracks (contract 2.10 example: 2 playlists, 3 tracks).
    assert {key: value for key, value in collection.items() if key != "Token"} == {
        "PlaylistCount": 2, "RemainingPlaylistCount": 98, "TrackCount": 3, "RemainingTrackCount": 49997}


def test_remaining_counts_are_omitted_when_full(app, client, alice):
    app.config["COLLECTION_CAPACITY"] = 2
    app.config["PLAYLIST_CAPACITY"] = 1
    add(client, alice, [TRACK_A, TRACK_B, TRACK_C])
    call(client, "POST", "/1/content/music/collection/playlists/create", "PlaylistActionResponse",
         headers=alice.headers, json_body={"Name": "Only"})
    collection = profile(client, alice.headers)[1]["Collection"]
    assert list(collection) == ["Token", "PlaylistCount", "TrackCount"]
    assert (collection["PlaylistCount"], collection["TrackCount"]) == (1, 2)


def _delete(client, user, track_ids):
    call(client, "POST", "/1/content/music/collection/delete", "TrackActionResponse", headers=user.headers,
         json_body={"TrackIds": track_ids})


def _playlist(client, user, operation, body):
    return call(client, "POST", f"/1/content/music/collection/playlists/{operation}", "PlaylistActionResponse",
                headers=user.headers, json_body=body)[1]


def test_the_token_changes_on_every_change_and_only_then(client, alice, bob):
    seen = [token(client, alice)]

    def changed(expected=True):
        now = token(client, alice)
        assert (now != seen[-1]) is expected, (seen[-1], now)
        if expected:
            assert now not in seen
        seen.append(now)

    add(client, alice, [TRACK_A])
    changed()
    add(client, alice, [TRACK_A])  # already there: nothing changes
    changed(False)
    add(client, alice, ["music.00000000-0000-0000-0000-000000000001"])  # a failed add
    changed(False)
    _delete(client, alice, [TRACK_B])  # not held
    changed(False)
    add(client, bob, [TRACK_B])  # someone else's collection
    changed(False)
    playlist_id = _playlist(client, alice, "create", {"Name": "P"})["PlaylistActionResult"]["Id"]
    changed()
    _playlist(client, alice, "update", {"Id": playlist_id, "Name": "Q"})
    changed()
    _playlist(client, alice, "update", {"Id": playlist_id, "TrackActions": [{"Id": TRACK_C, "Action": "Add"}]})
    changed()
    _delete(client, alice, [TRACK_A])
    changed()
    _playlist(client, alice, "delete", {"Id": playlist_id})
    changed()
    browse = client.get("/1/content/music/collection/tracks/browse", headers=alice.headers)
    assert browse.status_code == 200
    changed(False)


@pytest.mark.parametrize("query,culture", [
    ("", "en-US"),
    ("?language=fr&country=FR", "fr-FR"),
    ("?LANGUAGE=FR&COUNTRY=fr", "fr-FR"),
    ("?country=DE", "de-DE"),
    ("?country=BR", "pt-BR"),
    ("?country=XX", "en-XX"),
    ("?language=es", "es-US"),
    ("?language=pt-BR", "pt-BR"),
    ("?language=en_GB", "en-GB"),
])
def test_culture_from_language_and_country(client, alice, query, culture):
    assert profile(client, alice.headers, query)[1]["Culture"] == culture


@pytest.mark.parametrize("query,message", [
    ("?language=french", "Parameter language must be a 2-letter language code"),
    ("?language=", "Parameter language must be a 2-letter language code"),
    ("?country=FRA", "Parameter country must be a 2-letter country code"),
    ("?country=1", "Parameter country must be a 2-letter country code"),
])
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_bad_language_or_country_is_400_with_the_always_written_member(client, alice, query, message, fmt):
    response, body = profile(client, alice.headers, query + f"&contentType={fmt}")
    assert response.status_code == 400
    if fmt == "json":
        assert response.get_data() == (
            b'{"IsSubscriptionAvailableForPurchase":false,"Error":{"ErrorCode":"INVALID-INPUT-PARAMETER",'
            b'"Description":"Invalid parameter value","Message":"' + message.encode() + b'"}}'
        )
    else:
        assert children(body) == ["Error", "IsSubscriptionAvailableForPurchase"]


@pytest.mark.parametrize("namespace,ns", [("2013", NS_2013), ("2016", NS_2016)])
def test_xml_in_either_namespace(app, client, alice, namespace, ns):
    app.config["XML_DEFAULT_NAMESPACE"] = namespace
    add(client, alice, [TRACK_A])
    response, root = profile(client, {**alice.headers, "Accept": "application/xml"})
    assert response.get_data() == (
        f'<UserProfileResponse xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="{ns}"><Collection>'
        "<RemainingPlaylistCount>100</RemainingPlaylistCount><RemainingTrackCount>49999</RemainingTrackCount>"
        "<Token>1.0.0.0.1</Token><TrackCount>1</TrackCount></Collection><Culture>en-US</Culture>"
        "<HasSubscription>false</HasSubscription><IsSubscriptionAvailableForPurchase>false"
        "</IsSubscriptionAvailableForPurchase></UserProfileResponse>"
    ).encode()


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer gct_an-application-token-we-cannot-check"}])
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_without_a_user_token_the_partial_answer(client, headers, fmt):
    response, body = profile(client, headers, f"?contentType={fmt}&language=fr&country=FR")
    assert response.status_code == 200
    if fmt == "json":
        assert response.get_data() == b'{"IsSubscriptionAvailableForPurchase":false,"Culture":"fr-FR"}'
    else:
        assert children(body) == ["Culture", "IsSubscriptionAvailableForPurchase"]


def test_a_revoked_token_is_401_so_clients_refresh_it(client, alice, store):
    credential_id = store.credentials_of_user(alice.user_id)[0]["id"]
    store.revoke_credential(credential_id)
    response, body = profile(client, alice.headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer error='token_expired'"
    assert body == {"IsSubscriptionAvailableForPurchase": False, "Error": {
        "ErrorCode": "INVALID-AUTHORIZATION-HEADER", "Description": "Missing or invalid authorization header",
        "Message": "You need user authentication to use this API"}}


@pytest.mark.parametrize("header", ["Basic YWxpY2U6c2VjcmV0", "Bearer", "Token abc"])
def test_an_authorization_header_that_is_not_a_bearer_token_is_401(client, header):
    response, body = profile(client, {"Authorization": header})
    assert response.status_code == 401
    assert body["Error"]["ErrorCode"] == "INVALID-AUTHORIZATION-HEADER"


def test_the_profile_is_read_only(client, alice, store):
    before = store.snapshot()
    response, body = call(client, "POST", PROFILE, "UserProfileResponse", headers=alice.headers, json_body={})
    assert response.status_code == 405
    assert "IsSubscriptionAvailableForPurchase" in body
    assert store.snapshot() == before


def test_unknown_namespace_is_404(client, alice):
    response, body = call(client, "GET", "/1/user/video/profile", "UserProfileResponse", headers=alice.headers)
    assert response.status_code == 404
    assert body["Error"]["ErrorCode"] == "INVALID-INPUT-PARAMETER"


def test_the_token_is_the_one_playlists_check(client, alice):
    current = token(client, alice)
    response, body = call(client, "POST", "/1/content/music/collection/playlists/create", "PlaylistActionResponse",
                          headers=alice.headers, json_body={"Name": "Guarded", "CollectionStateToken": current})
    assert response.status_code == 200
