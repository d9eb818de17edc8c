"""Parameters and transport common to every Groove route (contract 7, 1.0): contentType, jsonp, language and
country, the legacy accessToken, gzip, CORS, and case-insensitive parameter names."""

import gzip
import json
from urllib.parse import urlencode

import pytest

from groove_helpers import add, sample_catalog
from groove_schemas import JSONP, call, validate, validate_json, validate_xml

from conftest import TRACK_A, TRACK_B

ALL_IDS = [row["id"] for row in sample_catalog()]


@pytest.fixture
def setup(client, alice):
    """Alice's library and a playlist, and every Groove route as (method, url, JSON body, response type)."""
    entries = add(client, alice, ALL_IDS)
    response, created = call(client, "POST", "/1/content/music/collection/playlists/create", "PlaylistActionResponse",
                             headers=alice.headers, json_body={"Name": "P", "TrackActions": [{"Id": TRACK_A,
                                                                                              "Action": "Add"}]})
    playlist_id = created["PlaylistActionResult"]["Id"]
    return {
        "add": ("POST", "/1/content/music/collection/add", {"TrackIds": [TRACK_A]}, "TrackActionResponse"),
        "delete": ("POST", "/1/content/music/collection/delete", {"TrackIds": [TRACK_B]}, "TrackActionResponse"),
        "browse": ("GET", "/1/content/music/collection/tracks/browse", None, "ContentResponse"),
        "albums": ("GET", "/1/content/music/collection/albums/browse", None, "ContentResponse"),
        "lookup": ("GET", f"/1/content/{entries[0]}/lookup?source=collection", None, "ContentResponse"),
        "sub-browse": ("GET", f"/1/content/{playlist_id}/collection/playlist/tracks/browse", None, "ContentResponse"),
        "create": ("POST", "/1/content/music/collection/playlists/create", {"Name": "New"}, "PlaylistActionResponse"),
        "update": ("POST", "/1/content/music/collection/playlists/update", {"Id": playlist_id, "Name": "Q"},
                   "PlaylistActionResponse"),
        "playlist delete": ("POST", "/1/content/music/collection/playlists/delete", {"Id": playlist_id},
                            "PlaylistActionResponse"),
        "profile": ("GET", "/1/user/music/profile", None, "UserProfileResponse"),
    }


ROUTES = ["add", "delete", "browse", "albums", "lookup", "sub-browse", "create", "update", "playlist delete", "profile"]


def request(client, user, route, query="", headers=None):
    method, url, body, type_name = route
    joiner = "&" if "?" in url else "?"
    return client.open(url + (joiner + query if query else ""), method=method, json=body,
                       headers={**user.headers, **(headers or {})})


@pytest.mark.parametrize("name", ROUTES)
@pytest.mark.parametrize("query", ["contentType=xml", "contenttype=XML", "CONTENTTYPE=Xml"])
def test_content_type_xml(client, alice, setup, name, query):
    response = request(client, alice, setup[name], query)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/xml; charset=utf-8"
    validate(response, setup[name][3])


@pytest.mark.parametrize("name", ROUTES)
def test_content_type_json_beats_accept(client, alice, setup, name):
    response = request(client, alice, setup[name], "contentType=json", {"Accept": "application/xml"})
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    validate(response, setup[name][3])


@pytest.mark.parametrize("name", ROUTES)
@pytest.mark.parametrize("value", ["html", "", "jsonp"])
def test_an_unknown_content_type_is_refused_and_changes_nothing(client, alice, store, setup, name, value):
    before = store.snapshot()
    response = request(client, alice, setup[name], f"contentType={value}")
    assert response.status_code == 400
    body = validate(response, setup[name][3])
    assert body["Error"]["ErrorCode"] == "INVALID-INPUT-PARAMETER"
    assert body["Error"]["Message"] == "Parameter contentType must be xml or json"
    assert store.snapshot() == before


@pytest.mark.parametrize("name", ROUTES)
@pytest.mark.parametrize("callback", ["cb", "jQuery_123", "window.app.done", "$"])
def test_jsonp_wraps_the_json(client, alice, setup, name, callback):
    plain = request(client, alice, setup[name], "contentType=json")
    assert plain.status_code == 200
    # The plain request changed state (add, playlists); the wrapped one is compared by shape.
    response = request(client, alice, setup[name], f"jsonp={callback}")
    assert response.headers["Content-Type"] == "application/javascript; charset=utf-8"
    match = JSONP.match(response.get_data())
    assert match and match.group(1).decode() == callback
    validate_json(match.group(2), setup[name][3])


@pytest.mark.parametrize("name", ROUTES)
@pytest.mark.parametrize("callback", ["alert(1)", "a b", "1abc", "x;y", "", "a" * 65, "a.b.c.d.e"])
def test_an_unsafe_jsonp_callback_is_refused_unwrapped(client, alice, store, setup, name, callback):
    before = store.snapshot()
    response = request(client, alice, setup[name], urlencode({"jsonp": callback}))
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    body = validate(response, setup[name][3])
    assert body["Error"]["Message"] == "Parameter jsonp must be a JavaScript identifier"
    assert store.snapshot() == before


@pytest.mark.parametrize("name", ["browse", "profile", "lookup"])
def test_jsonp_does_not_wrap_xml(client, alice, setup, name):
    response = request(client, alice, setup[name], "jsonp=cb&contentType=xml")
    assert response.headers["Content-Type"] == "application/xml; charset=utf-8"
    validate_xml(response.get_data(), setup[name][3])


@pytest.mark.parametrize("name", ROUTES)
def test_language_country_and_access_token_are_accepted(client, alice, setup, name):
    response = request(client, alice, setup[name], "language=fr&country=FR&accessToken=Bearer+legacy-developer-token")
    assert response.status_code == 200
    validate(response, setup[name][3])


@pytest.mark.parametrize("name", ROUTES)
@pytest.mark.parametrize("query", ["language=french", "country=France", "language=f", "country=F1"])
def test_malformed_language_or_country_is_refused(client, alice, store, setup, name, query):
    before = store.snapshot()
    response = request(client, alice, setup[name], query)
    assert response.status_code == 400
    assert validate(response, setup[name][3])["Error"]["ErrorCode"] == "INVALID-INPUT-PARAMETER"
    assert store.snapshot() == before


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_gzip_when_the_client_accepts_it(client, alice, setup, fmt):
    plain = request(client, alice, setup["browse"], f"contentType={fmt}")
    assert "Content-Encoding" not in plain.headers
    response = request(client, alice, setup["browse"], f"contentType={fmt}", {"Accept-Encoding": "gzip, deflate"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers["Vary"]
    assert gzip.decompress(response.get_data()) == plain.get_data()
    # A small answer is not worth compressing.
    small = request(client, alice, setup["profile"], f"contentType={fmt}", {"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in small.headers


# ---------------------------------------------------------------------------------------------------------
# CORS


@pytest.mark.parametrize("name", ROUTES)
def test_preflight_allows_the_sdk_headers_without_a_token(client, store, setup, name):
    method, url = setup[name][:2]
    before = store.snapshot()
    response = client.options(url, headers={
        "Origin": "https://player.example", "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization, content-type, x-client-name, x-client-version",
    })
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert method in response.headers["Access-Control-Allow-Methods"]
    allowed = {value.strip().lower() for value in response.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "x-client-name", "x-client-version"} <= allowed
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert int(response.headers["Access-Control-Max-Age"]) > 0
    assert store.snapshot() == before


@pytest.mark.parametrize("name", ROUTES)
def test_cross_origin_answers_carry_allow_origin(client, alice, setup, name):
    response = request(client, alice, setup[name], headers={"Origin": "https://player.example"})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "X-Request-Id" in response.headers["Access-Control-Expose-Headers"]
    same_origin = request(client, alice, setup["profile"])
    assert "Access-Control-Allow-Origin" not in same_origin.headers


def test_error_answers_carry_cors_too(client):
    response = client.get("/1/content/music/collection/tracks/browse", headers={"Origin": "https://player.example"})
    assert response.status_code == 401
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "WWW-Authenticate" in response.headers["Access-Control-Expose-Headers"]
    response = client.get("/1/content/music/nowhere", headers={"Origin": "https://player.example"})
    assert response.status_code == 404 and response.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize("origin,allowed", [
    ("https://a.example", True), ("https://b.example", True), ("https://c.example", False),
    ("https://a.example.evil", False), ("null", False),
])
def test_a_configured_origin_list(app, client, alice, setup, origin, allowed):
    app.config["CORS_ALLOWED_ORIGINS"] = "https://a.example, https://b.example"
    for response in (
        request(client, alice, setup["profile"], headers={"Origin": origin}),
        client.options(setup["browse"][1], headers={"Origin": origin, "Access-Control-Request-Method": "GET"}),
    ):
        if allowed:
            assert response.headers["Access-Control-Allow-Origin"] == origin
            assert "Origin" in response.headers["Vary"]
        else:
            assert "Access-Control-Allow-Origin" not in response.headers


def test_cors_can_be_switched_off(app, client, alice, setup):
    app.config["CORS_ALLOWED_ORIGINS"] = ""
    response = request(client, alice, setup["profile"], headers={"Origin": "https://a.example"})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_cors_does_not_touch_other_paths(client):
    response = client.get("/healthz", headers={"Origin": "https://a.example"})
    assert "Access-Control-Allow-Origin" not in response.headers


# ---------------------------------------------------------------------------------------------------------
# Names and values read case-insensitively


def test_query_names_and_path_words_in_any_case(client, alice, setup):
    response = client.get("/1/Content/music/Collection/Tracks/Browse?ORDERBY=tracktitle&MaxItems=2&ContentType=json",
                          headers=alice.headers)
    assert response.status_code == 200
    assert len(json.loads(response.get_data())["Tracks"]["Items"]) == 2


def test_the_setting_is_documented(app):
    from groove_compat.config import SETTINGS_BY_NAME

    setting = SETTINGS_BY_NAME["CORS_ALLOWED_ORIGINS"]
    assert setting.default == "*" and setting.environment_variable == "GROOVE_COMPAT_CORS_ALLOWED_ORIGINS"
