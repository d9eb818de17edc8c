"""The Python client of the Groove dialect (groove_compat.client).

add runs against a real server process. The other endpoints (delete, browse, lookup, playlists, profile) run
against a small fake WSGI app that answers the wire contract's documented bodies (sections 1.2-1.8, 2.5-2.10)
and records what the client sent, so that both the requests and the parsing are checked.
"""

import datetime
import itertools
import json
import logging
import socket

import pytest

from conftest import TRACK_A, TRACK_B, UNKNOWN_TRACK, free_port, make_user, serve_in_thread
from groove_compat import ids
from groove_compat.app import create_app, get_store
from groove_compat.client import (
    NS_2013,
    NS_2016,
    CollectionState,
    ErrorDetail,
    GrooveApiError,
    GrooveClient,
    GrooveConnectionError,
    PlaylistOutcome,
    Profile,
    SubscriptionState,
    TrackResult,
)

ISRC_A = "USQX92274821"  # TRACK_A's ISRC in the sample catalog
ENTRY_ID = "music.AQQfZ78ml185KUqtiDc9dx6i6Ae5PqgAAQ"
PLAYLIST_ID = "music.playlist.0a1b2c3d-8004-00fe-1234-56789abcdef0"
INVALID_ID_ERROR = ErrorDetail(
    "COLLECTION-INVALID-ID", "Invalid collection id for this operation", "Collection ErrorCode=ArgumentInvalid, Details=ContentId"
)
SOME_FAILED = ErrorDetail("COLLECTION-SOME-OPERATIONS-FAILED", "Some of the operations failed")


def collection_catalog_ids(database, user):
    """The catalog ids (music.{GUID}) in a user's library, in collection order, read from the database."""
    app = create_app({"DATABASE": str(database)})
    store = get_store(app)
    try:
        library_id = store.user(user.user_id)["library_id"]
        track_ids = store.collection_track_ids(library_id)
        guids = store.track_guids(organization_id=1, track_ids=track_ids)
        return [ids.catalog_id(guids[track_id]) for track_id in track_ids]
    finally:
        store.close()


# ---------------------------------------------------------------------------------------------------------
# add, against the real server


_user_numbers = itertools.count(1)


@pytest.fixture
def carol(live_server):
    """A fresh user (empty collection) on the module's live server, so tests do not see each other's adds."""
    app = create_app({"DATABASE": live_server.database})
    store = get_store(app)
    try:
        return make_user(store, f"carol{next(_user_numbers)}")
    finally:
        store.close()


@pytest.mark.parametrize(
    "format, namespace", [("json", "2013"), ("xml", "2013"), ("xml", "2016")], ids=["json", "xml-2013", "xml-2016"]
)
def test_add_returns_one_result_per_id_in_input_order(live_server, carol, format, namespace):
    with GrooveClient(live_server.url, carol.token, format=format, namespace=namespace) as groove:
        outcome = groove.add([TRACK_A, UNKNOWN_TRACK.lower(), TRACK_B])
    assert [result.input_id for result in outcome.results] == [TRACK_A, UNKNOWN_TRACK, TRACK_B]
    assert [result.ok for result in outcome.results] == [True, False, True]
    assert all(result.id.startswith("music.AQQ") and len(result.id) == 40 for result in outcome.results if result.ok)
    assert outcome.results[1] == TrackResult(UNKNOWN_TRACK, None, INVALID_ID_ERROR)
    assert outcome.failed == [outcome.results[1]]
    assert outcome.error == SOME_FAILED and not outcome.ok
    assert collection_catalog_ids(live_server.database, carol) == [TRACK_A, TRACK_B]


def test_add_answers_alike_in_json_and_xml_and_a_repeat_returns_the_same_entry_ids(live_server, carol):
    with GrooveClient(live_server.url, carol.token) as groove:
        first = groove.add([TRACK_A, TRACK_B])
    with GrooveClient(live_server.url, carol.token, format="xml") as groove:
        again = groove.add([TRACK_A, TRACK_B])
    assert first.ok and first.error is None
    assert first == again
    assert collection_catalog_ids(live_server.database, carol) == [TRACK_A, TRACK_B]


@pytest.mark.parametrize(
    "isrc_id, message",
    [
        (f"music.isrc.{ISRC_A}", None),
        (f"music.ISRC.{ISRC_A[:2]}-{ISRC_A[2:5]}-{ISRC_A[5:7]}-{ISRC_A[7:]}", None),
        ("music.isrc.ZZZ000000000", "Collection ErrorCode=ArgumentInvalid, Details=Isrc: no catalog track has this ISRC"),
        ("music.isrc.not-an-isrc", "Collection ErrorCode=ArgumentInvalid, Details=Isrc: not a 12-character ISRC (CC-XXX-YY-NNNNN)"),
    ],
)
def test_add_resolves_isrc_ids_through_the_catalog(live_server, carol, isrc_id, message):
    with GrooveClient(live_server.url, carol.token) as groove:
        by_isrc = groove.add([isrc_id]).results[0]
        by_guid = groove.add([TRACK_A]).results[0]
    assert by_isrc.input_id == isrc_id  # echoed byte for byte
    if message is None:
        assert by_isrc.ok and by_isrc.id == by_guid.id
    else:
        assert by_isrc.error == ErrorDetail("COLLECTION-INVALID-ID", "Invalid collection id for this operation", message)
    assert collection_catalog_ids(live_server.database, carol) == [TRACK_A]


@pytest.mark.parametrize("format", ["json", "xml"])
def test_a_refused_token_raises_groove_api_error_without_the_token(live_server, carol, format, caplog):
    token = carol.token[:-4] + "AAAA"
    caplog.set_level(logging.DEBUG)
    groove = GrooveClient(live_server.url, token, format=format)
    with pytest.raises(GrooveApiError) as raised:
        groove.add([TRACK_A])
    error = raised.value
    assert error.status == 401
    assert error.error == ErrorDetail(
        "INVALID-AUTHORIZATION-HEADER", "Missing or invalid authorization header", "You need user authentication to use this API"
    )
    assert error.canonical_code == "INVALID_AUTHORIZATION_HEADER"
    assert str(error) == (
        "HTTP 401 INVALID-AUTHORIZATION-HEADER: Missing or invalid authorization header "
        "(You need user authentication to use this API) [POST /1/content/music/collection/add]"
    )
    for text in (str(error), repr(error), repr(groove), caplog.text):
        assert token not in text and carol.token not in text
    assert "token=***" in repr(groove)
    assert collection_catalog_ids(live_server.database, carol) == []


@pytest.mark.parametrize("format", ["json", "xml"])
def test_a_batch_over_the_limit_raises_with_the_servers_limit(live_server, carol, format):
    with GrooveClient(live_server.url, carol.token, format=format) as groove:
        with pytest.raises(GrooveApiError) as raised:
            groove.add([TRACK_A] * 101)
    assert raised.value.status == 400
    assert raised.value.error == ErrorDetail(
        "COLLECTION-INVALID-OPERATION", "This operation is not supported", "Number of tracks for this operation is limited to 100"
    )
    assert raised.value.retry_after is None
    assert collection_catalog_ids(live_server.database, carol) == []


@pytest.mark.parametrize("bad", ["music.A83EB907-0100-11DB-89CA-0019B92A3933", [1], ["ok", None]])
def test_ids_must_be_a_list_of_strings(bad):
    groove = GrooveClient("http://127.0.0.1:9", "token")
    with pytest.raises(TypeError):
        groove.add(bad)


def test_a_refused_connection_raises_groove_connection_error():
    port = free_port()
    with GrooveClient(f"http://127.0.0.1:{port}", "secret-token-1") as groove:
        with pytest.raises(GrooveConnectionError) as raised:
            groove.add([TRACK_A])
    assert raised.value.timeout is False
    assert "secret-token-1" not in str(raised.value)
    assert str(raised.value).endswith("[POST /1/content/music/collection/add]")


def test_a_silent_server_raises_a_timeout():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        with GrooveClient(f"http://127.0.0.1:{port}", "secret-token-2", timeout=0.3) as groove:
            with pytest.raises(GrooveConnectionError) as raised:
                groove.add([TRACK_A])
    assert raised.value.timeout is True
    assert "secret-token-2" not in str(raised.value)


# ---------------------------------------------------------------------------------------------------------
# The other endpoints, against a fake that answers the contract's bodies


class FakeGroove:
    """A WSGI app answering queued bodies per (method, path) and recording every request it got."""

    def __init__(self):
        self.answers = {}
        self.requests = []

    def answer(self, method, path, body, *, status="200 OK", content_type=None, headers=()):
        if content_type is None:
            content_type = "application/xml; charset=utf-8" if body.lstrip().startswith(b"<") else "application/json; charset=utf-8"
        self.answers.setdefault((method, path), []).append((status, [("Content-Type", content_type), *headers], body))

    def __call__(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        headers = {key[5:].replace("_", "-").title(): value for key, value in environ.items() if key.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        self.requests.append(
            {
                "method": environ["REQUEST_METHOD"],
                "path": environ["PATH_INFO"],
                "query": environ.get("QUERY_STRING", ""),
                "headers": headers,
                "body": environ["wsgi.input"].read(length) if length else b"",
            }
        )
        queued = self.answers.get((environ["REQUEST_METHOD"], environ["PATH_INFO"]))
        if not queued:
            start_response("418 I'm a teapot", [("Content-Type", "text/plain")])
            return [b"unexpected request"]
        status, headers, body = queued.pop(0)
        start_response(status, headers)
        return [body]


@pytest.fixture
def fake():
    app = FakeGroove()
    with serve_in_thread(app) as app.url:
        yield app


def compact(document):
    return json.dumps(document, separators=(",", ":")).encode()


def xml(text):
    """Contract XML with the layout whitespace removed."""
    return "".join(line.strip() for line in text.strip().splitlines()).encode()


# Contract 1.2: a delete success has only InputId; a catalog-style id fails with a Description and no Message.
DELETE_ANSWER = {
    "TrackActionResults": [
        {"InputId": ENTRY_ID},
        {"InputId": UNKNOWN_TRACK, "Error": {"ErrorCode": "COLLECTION-INVALID-ID", "Description": "Invalid collection id for this operation"}},
    ],
    "Error": {"ErrorCode": "COLLECTION-SOME-OPERATIONS-FAILED", "Description": "Some of the operations failed"},
}
DELETE_ANSWER_XML = f"""
<TrackActionResponse xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="{NS_2013}">
  <Error><Description>Some of the operations failed</Description><ErrorCode>COLLECTION-SOME-OPERATIONS-FAILED</ErrorCode></Error>
  <TrackActionResults>
    <TrackActionResult><InputId>{ENTRY_ID}</InputId></TrackActionResult>
    <TrackActionResult>
      <Error><Description>Invalid collection id for this operation</Description><ErrorCode>COLLECTION-INVALID-ID</ErrorCode></Error>
      <InputId>{UNKNOWN_TRACK}</InputId>
    </TrackActionResult>
  </TrackActionResults>
</TrackActionResponse>
"""
# Contract 3.5, the 2013 request of seed 003's shape.
ADD_REQUEST_XML_2013 = f"""
<TrackActionRequest xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="{NS_2013}">
  <TrackIds xmlns:d2p1="http://schemas.microsoft.com/2003/10/Serialization/Arrays">
    <d2p1:string>{ENTRY_ID}</d2p1:string>
    <d2p1:string>{UNKNOWN_TRACK}</d2p1:string>
  </TrackIds>
</TrackActionRequest>
"""
ADD_REQUEST_XML_2016 = f"""
<TrackActionRequest xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="{NS_2016}">
  <TrackIds>
    <TrackId>{ENTRY_ID}</TrackId>
    <TrackId>{UNKNOWN_TRACK}</TrackId>
  </TrackIds>
</TrackActionRequest>
"""


@pytest.mark.parametrize(
    "format, namespace, request_body, answer",
    [
        ("json", "2013", compact({"TrackIds": [ENTRY_ID, UNKNOWN_TRACK]}), compact(DELETE_ANSWER)),
        ("xml", "2013", xml(ADD_REQUEST_XML_2013), xml(DELETE_ANSWER_XML)),
        ("xml", "2016", xml(ADD_REQUEST_XML_2016), xml(DELETE_ANSWER_XML.replace(NS_2013, NS_2016))),
    ],
    ids=["json", "xml-2013", "xml-2016"],
)
def test_delete_sends_the_contract_body_and_reads_per_item_results(fake, format, namespace, request_body, answer):
    fake.answer("POST", "/1/content/music/collection/delete", answer)
    with GrooveClient(fake.url, "tok", format=format, namespace=namespace) as groove:
        outcome = groove.delete([ENTRY_ID, UNKNOWN_TRACK])
    assert outcome.results == (
        TrackResult(ENTRY_ID),
        TrackResult(UNKNOWN_TRACK, None, ErrorDetail("COLLECTION-INVALID-ID", "Invalid collection id for this operation")),
    )
    assert outcome.error == SOME_FAILED
    (sent,) = fake.requests
    assert sent["body"] == request_body
    assert sent["headers"]["Content-Type"] == ("application/xml" if format == "xml" else "application/json")
    assert sent["headers"]["Accept"] == ("application/xml" if format == "xml" else "application/json")
    assert sent["headers"]["Authorization"] == "Bearer tok"


TRACK_JSON = {
    "ReleaseDate": "2013-05-09T00:00:00Z",
    "Duration": "00:05:55",
    "TrackNumber": 1,
    "IsExplicit": False,
    "Genres": ["Pop"],
    "Rights": ["Purchase", "FreeStream"],
    "Album": {"Id": "music.AQEPAAAcxgACAQIDBAUGBwg", "Name": "Harbor Songs", "Source": "Collection"},
    "Artists": [
        {"Role": "PrimaryArtist", "Artist": {"Id": "music.AQIPAAAcxgACAQIDBAUGBwg", "Name": "Northbound Lights", "Source": "Collection"}}
    ],
    "Id": ENTRY_ID,
    "Name": "Atlas Lantern",
    "Link": "https://music.microsoft.com/Track/a83eb907-0100-11db-89ca-0019b92a3933",
    "Source": "Collection",
}
TRACK_XML = f"""
<Track>
  <Id>{ENTRY_ID}</Id><Link>https://music.microsoft.com/Track/a83eb907-0100-11db-89ca-0019b92a3933</Link>
  <Name>Atlas Lantern</Name><Source>Collection</Source>
  <Album><Id>music.AQEPAAAcxgACAQIDBAUGBwg</Id><Name>Harbor Songs</Name><Source>Collection</Source></Album>
  <Artists><Contributor><Artist><Id>music.AQIPAAAcxgACAQIDBAUGBwg</Id><Name>Northbound Lights</Name><Source>Collection</Source></Artist><Role>PrimaryArtist</Role></Contributor></Artists>
  <Duration>PT5M55S</Duration><Genres><Genre>Pop</Genre></Genres><IsExplicit>false</IsExplicit>
  <ReleaseDate>2013-05-09T00:00:00Z</ReleaseDate><Rights><Right>Purchase</Right><Right>FreeStream</Right></Rights>
  <TrackNumber>1</TrackNumber>
</Track>
"""
SECOND_TRACK_JSON = {"Id": "music.AQQfuiqlXWaDzk-j0Ht9qB6EWwe1P4cAAQ", "Name": "Echo Drift", "Source": "Collection"}
SECOND_TRACK_XML = "<Track><Id>music.AQQfuiqlXWaDzk-j0Ht9qB6EWwe1P4cAAQ</Id><Name>Echo Drift</Name><Source>Collection</Source></Track>"
EXPECTED_TRACKS = [
    {
        **TRACK_JSON,
        "Duration": datetime.timedelta(minutes=5, seconds=55),
    },
    SECOND_TRACK_JSON,
]
TOKEN = "ASQ6p3IBCQQADQcDAgABMQ"


def browse_pages(format):
    if format == "json":
        return [
            compact({"Tracks": {"Items": [TRACK_JSON], "ContinuationToken": TOKEN, "TotalItemCount": 2}}),
            compact({"Tracks": {"Items": [SECOND_TRACK_JSON], "TotalItemCount": 2}}),
        ]
    root = f'<ContentResponse xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="{NS_2013}">'
    return [
        xml(f"{root}<Tracks><ContinuationToken>{TOKEN}</ContinuationToken><Items>{TRACK_XML}</Items>"
            f"<TotalItemCount>2</TotalItemCount></Tracks></ContentResponse>"),
        xml(f"{root}<Tracks><Items>{SECOND_TRACK_XML}</Items><TotalItemCount>2</TotalItemCount></Tracks></ContentResponse>"),
    ]


@pytest.mark.parametrize("format", ["json", "xml"])
def test_browse_iterates_every_page_by_continuation_token(fake, format):
    path = "/1/content/music/collection/tracks/browse"
    for page in browse_pages(format):
        fake.answer("GET", path, page)
    with GrooveClient(fake.url, "tok", format=format) as groove:
        listing = groove.browse("Tracks", order_by="TrackTitle", max_items=1)
        assert fake.requests == []  # lazy: nothing sent before the first item is asked for
        items = list(listing)
    assert items == EXPECTED_TRACKS
    assert listing.pages == 2 and listing.total_item_count == 2 and listing.errors == []
    assert [(sent["method"], sent["path"], sent["query"]) for sent in fake.requests] == [
        ("GET", path, "orderBy=TrackTitle&maxItems=1"),
        ("GET", path, f"continuationToken={TOKEN}"),  # the token alone, as the SDK sends it
    ]


def test_browse_of_an_empty_collection_and_partial_reads(fake):
    fake.answer("GET", "/1/content/music/collection/playlists/browse", compact({"Playlists": {"Items": []}}))
    fake.answer(
        "GET", "/1/content/music/collection/albums/browse",
        compact({"Albums": {"Items": [{"Id": "music.AQEP1", "Name": "A", "TrackCount": 3}]},
                 "Error": {"ErrorCode": "COLLECTION-INVALID-DATA", "Description": "Error while reading collection data, some results may be missing or incomplete"}}),
    )
    with GrooveClient(fake.url, "tok") as groove:
        assert list(groove.browse("playlists")) == []
        albums = groove.browse("albums")
        assert list(albums) == [{"Id": "music.AQEP1", "Name": "A", "TrackCount": 3}]
    assert albums.errors == [
        ErrorDetail("COLLECTION-INVALID-DATA", "Error while reading collection data, some results may be missing or incomplete")
    ]


@pytest.mark.parametrize("kind, max_items", [("songs", None), ("tracks", 26), ("tracks", 0)])
def test_browse_refuses_what_the_server_would(kind, max_items):
    with pytest.raises(ValueError):
        GrooveClient("http://127.0.0.1:9", "tok").browse(kind, max_items=max_items)


@pytest.mark.parametrize("format", ["json", "xml"])
def test_browse_errors_raise_with_the_groove_error(fake, format):
    body = {"Error": {"ErrorCode": "INVALID-INPUT-PARAMETER", "Description": "Invalid parameter value",
                      "Message": "Parameter maxItems must have a value of at most 25"}}
    if format == "json":
        answer = compact(body)
    else:
        answer = xml(f"""<ContentResponse xmlns="{NS_2013}"><Error><Description>Invalid parameter value</Description>
            <ErrorCode>INVALID-INPUT-PARAMETER</ErrorCode><Message>Parameter maxItems must have a value of at most 25</Message>
            </Error></ContentResponse>""")
    fake.answer("GET", "/1/content/music/collection/tracks/browse", answer, status="400 Bad Request")
    with GrooveClient(fake.url, "tok", format=format) as groove:
        with pytest.raises(GrooveApiError) as raised:
            list(groove.browse("tracks"))
    assert raised.value.status == 400
    assert raised.value.error == ErrorDetail(
        "INVALID-INPUT-PARAMETER", "Invalid parameter value", "Parameter maxItems must have a value of at most 25"
    )


def test_lookup_joins_ids_with_plus_and_reads_every_list(fake):
    playlist = {"Id": "music.AQMhT-EZaoD-AHqGpBl9GuHQ", "Name": "Road", "TrackCount": 1,
                "Tracks": {"Items": [SECOND_TRACK_JSON]}}
    path = f"/1/content/{ENTRY_ID}+music.AQMhT-EZaoD-AHqGpBl9GuHQ/lookup"
    fake.answer("GET", path, compact({"Tracks": {"Items": [TRACK_JSON]}, "Playlists": {"Items": [playlist]}}))
    with GrooveClient(fake.url, "tok") as groove:
        content = groove.lookup([ENTRY_ID, "music.AQMhT-EZaoD-AHqGpBl9GuHQ"], extras=["Tracks"])
    assert content.tracks == (EXPECTED_TRACKS[0],)
    assert content.playlists == (playlist,)
    assert content.albums == () and content.artists == () and content.error is None
    assert fake.requests[0]["query"] == "source=collection&extras=Tracks"


def test_lookup_not_found_raises(fake):
    fake.answer("GET", f"/1/content/{ENTRY_ID}/lookup",
                compact({"Error": {"ErrorCode": "COLLECTION-NO-RESULT", "Description": "No result from Collection"}}),
                status="404 Not Found")
    with GrooveClient(fake.url, "tok") as groove:
        with pytest.raises(GrooveApiError) as raised:
            groove.lookup([ENTRY_ID])
    assert (raised.value.status, raised.value.code) == (404, "COLLECTION-NO-RESULT")


CREATE_ANSWER = {
    "PlaylistActionResult": {
        "Id": PLAYLIST_ID,
        "Name": "Groove is awesome",
        "IsPublished": False,
        "TrackActionResults": [
            {"InputId": TRACK_A, "Id": ENTRY_ID},
            {"InputId": UNKNOWN_TRACK, "Error": {"ErrorCode": "COLLECTION-INVALID-ID", "Description": "Invalid collection id for this operation",
                                                 "Message": "Collection ErrorCode=ArgumentInvalid, Details=ContentId"}},
        ],
    },
    "Error": {"ErrorCode": "COLLECTION-SOME-OPERATIONS-FAILED", "Description": "Some of the operations failed"},
}
CREATE_ANSWER_XML = f"""
<PlaylistActionResponse xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="{NS_2013}">
  <Error><Description>Some of the operations failed</Description><ErrorCode>COLLECTION-SOME-OPERATIONS-FAILED</ErrorCode></Error>
  <PlaylistActionResult>
    <Id>{PLAYLIST_ID}</Id><IsPublished>false</IsPublished><Name>Groove is awesome</Name>
    <TrackActionResults>
      <TrackActionResult><Id>{ENTRY_ID}</Id><InputId>{TRACK_A}</InputId></TrackActionResult>
      <TrackActionResult>
        <Error><Description>Invalid collection id for this operation</Description><ErrorCode>COLLECTION-INVALID-ID</ErrorCode>
        <Message>Collection ErrorCode=ArgumentInvalid, Details=ContentId</Message></Error>
        <InputId>{UNKNOWN_TRACK}</InputId>
      </TrackActionResult>
    </TrackActionResults>
  </PlaylistActionResult>
</PlaylistActionResponse>
"""
CREATE_REQUEST_XML = f"""
<PlaylistAction xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="{NS_2013}">
  <IsPublished>false</IsPublished><Name>Groove is awesome</Name>
  <TrackActions>
    <TrackAction><Action>Add</Action><Id>{TRACK_A}</Id></TrackAction>
    <TrackAction><Action>Add</Action><Id>{UNKNOWN_TRACK}</Id></TrackAction>
  </TrackActions>
</PlaylistAction>
"""


@pytest.mark.parametrize("format", ["json", "xml"])
def test_create_playlist_with_tracks_reports_each_track(fake, format):
    fake.answer("POST", "/1/content/music/collection/playlists/create",
                compact(CREATE_ANSWER) if format == "json" else xml(CREATE_ANSWER_XML))
    with GrooveClient(fake.url, "tok", format=format) as groove:
        outcome = groove.create_playlist("Groove is awesome", is_published=False, track_ids=[TRACK_A, UNKNOWN_TRACK])
    assert outcome == PlaylistOutcome(
        id=PLAYLIST_ID, name="Groove is awesome", is_published=False,
        track_results=(TrackResult(TRACK_A, ENTRY_ID), TrackResult(UNKNOWN_TRACK, None, INVALID_ID_ERROR)),
        error=SOME_FAILED,
    )
    expected = (
        compact({"Name": "Groove is awesome", "IsPublished": False,
                 "TrackActions": [{"Id": TRACK_A, "Action": "Add"}, {"Id": UNKNOWN_TRACK, "Action": "Add"}]})
        if format == "json" else xml(CREATE_REQUEST_XML)
    )
    assert fake.requests[0]["body"] == expected


def test_create_playlist_sends_what_the_sdk_sends(fake):
    fake.answer("POST", "/1/content/music/collection/playlists/create",
                compact({"PlaylistActionResult": {"Id": PLAYLIST_ID, "Name": "Groove is awesome", "IsPublished": False}}))
    with GrooveClient(fake.url, "tok") as groove:
        outcome = groove.create_playlist("Groove is awesome", is_published=False)
    assert outcome == PlaylistOutcome(id=PLAYLIST_ID, name="Groove is awesome", is_published=False)
    assert fake.requests[0]["body"] == b'{"Name":"Groove is awesome","IsPublished":false}'  # contract 8


# Contract 2.10: the reorder request and its whole answer.
REORDER_REQUEST = (
    b'{"Id":"music.playlist.0a1b2c3d-8004-00fe-1234-56789abcdef0","InsertBeforeTrackId":"music.AQQfOywdb1lKaE6PegscLT5PUAe5PqgAAQ",'
    b'"TrackActions":[{"Id":"music.AQQfRDMiEWZVeEeJmqu8zd7v8Ae-QZkAAQ","Action":"Move"}]}'
)
REORDER_REQUEST_XML = f"""
<PlaylistAction xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="{NS_2013}">
  <Id>{PLAYLIST_ID}</Id><InsertBeforeTrackId>music.AQQfOywdb1lKaE6PegscLT5PUAe5PqgAAQ</InsertBeforeTrackId>
  <TrackActions><TrackAction><Action>Move</Action><Id>music.AQQfRDMiEWZVeEeJmqu8zd7v8Ae-QZkAAQ</Id></TrackAction></TrackActions>
</PlaylistAction>
"""


@pytest.mark.parametrize("format", ["json", "xml"])
def test_update_playlist_reorder_matches_the_contract_example(fake, format):
    answer = (
        compact({"PlaylistActionResult": {"Id": PLAYLIST_ID}}) if format == "json"
        else xml(f'<PlaylistActionResponse xmlns="{NS_2013}"><PlaylistActionResult><Id>{PLAYLIST_ID}</Id></PlaylistActionResult></PlaylistActionResponse>')
    )
    fake.answer("POST", "/1/content/music/collection/playlists/update", answer)
    with GrooveClient(fake.url, "tok", format=format) as groove:
        outcome = groove.update_playlist(
            PLAYLIST_ID, move=["music.AQQfRDMiEWZVeEeJmqu8zd7v8Ae-QZkAAQ"], insert_before="music.AQQfOywdb1lKaE6PegscLT5PUAe5PqgAAQ"
        )
    assert outcome == PlaylistOutcome(id=PLAYLIST_ID)
    assert fake.requests[0]["body"] == (REORDER_REQUEST if format == "json" else xml(REORDER_REQUEST_XML))


def test_update_playlist_metadata_and_track_actions(fake):
    fake.answer(
        "POST", "/1/content/music/collection/playlists/update",
        compact({"PlaylistActionResult": {"Id": PLAYLIST_ID, "Name": "Renamed", "IsPublished": True,
                                          "TrackActionResults": [{"InputId": TRACK_B, "Id": ENTRY_ID}, {"InputId": ENTRY_ID}]}}),
    )
    with GrooveClient(fake.url, "tok") as groove:
        outcome = groove.update_playlist(
            PLAYLIST_ID, name="Renamed", is_published=True, add=[TRACK_B], delete=[ENTRY_ID], collection_state_token="3.0.0.0.7.7.7"
        )
    assert outcome == PlaylistOutcome(
        id=PLAYLIST_ID, name="Renamed", is_published=True, track_results=(TrackResult(TRACK_B, ENTRY_ID), TrackResult(ENTRY_ID))
    )
    assert json.loads(fake.requests[0]["body"]) == {
        "CollectionStateToken": "3.0.0.0.7.7.7", "Id": PLAYLIST_ID, "Name": "Renamed", "IsPublished": True,
        "TrackActions": [{"Id": TRACK_B, "Action": "Add"}, {"Id": ENTRY_ID, "Action": "Delete"}],
    }


def test_a_stale_update_raises_the_conflict(fake):
    fake.answer("POST", "/1/content/music/collection/playlists/update",
                compact({"Error": {"ErrorCode": "COLLECTION-CONCURRENT-UPDATE", "Description": "Concurrent update of the collection"}}),
                status="409 Conflict")
    with GrooveClient(fake.url, "tok") as groove:
        with pytest.raises(GrooveApiError) as raised:
            groove.update_playlist(PLAYLIST_ID, name="x", collection_state_token="1.0.0.0.0.0.0")
    assert (raised.value.status, raised.value.canonical_code) == (409, "COLLECTION_CONCURRENT_UPDATE")


@pytest.mark.parametrize("status, answer, expected", [
    ("200 OK", {"PlaylistActionResult": {"Id": PLAYLIST_ID}}, PlaylistOutcome(id=PLAYLIST_ID)),
    ("404 Not Found", {"Error": {"ErrorCode": "COLLECTION-NO-RESULT", "Description": "No result from Collection"}}, 404),
])
def test_delete_playlist(fake, status, answer, expected):
    fake.answer("POST", "/1/content/music/collection/playlists/delete", compact(answer), status=status)
    with GrooveClient(fake.url, "tok") as groove:
        if isinstance(expected, int):
            with pytest.raises(GrooveApiError) as raised:
                groove.delete_playlist(PLAYLIST_ID)
            assert raised.value.status == expected
            assert raised.value.error == ErrorDetail("COLLECTION-NO-RESULT", "No result from Collection")
        else:
            assert groove.delete_playlist(PLAYLIST_ID) == expected
    assert fake.requests[0]["body"] == compact({"Id": PLAYLIST_ID})


PROFILE = Profile(
    is_subscription_available_for_purchase=True, has_subscription=False, culture="en-US",
    collection=CollectionState(token="3.0.0.0.7.7.7", playlist_count=2, remaining_playlist_count=98, track_count=3,
                               remaining_track_count=49997),
)


@pytest.mark.parametrize("answer, expected", [
    # Contract 2.10, profile with a user token.
    (b'{"HasSubscription":false,"IsSubscriptionAvailableForPurchase":true,"Culture":"en-US",'
     b'"Collection":{"Token":"3.0.0.0.7.7.7","PlaylistCount":2,"RemainingPlaylistCount":98,"TrackCount":3,"RemainingTrackCount":49997}}',
     PROFILE),
    # The same in XML, in DataContract order (contract 3.4).
    (xml(f"""<UserProfileResponse xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="{NS_2013}">
        <Collection><PlaylistCount>2</PlaylistCount><RemainingPlaylistCount>98</RemainingPlaylistCount>
        <RemainingTrackCount>49997</RemainingTrackCount><Token>3.0.0.0.7.7.7</Token><TrackCount>3</TrackCount></Collection>
        <Culture>en-US</Culture><HasSubscription>false</HasSubscription>
        <IsSubscriptionAvailableForPurchase>true</IsSubscriptionAvailableForPurchase></UserProfileResponse>"""),
     PROFILE),
    # Contract 1.8: the partial answer to an application token.
    (b'{"IsSubscriptionAvailableForPurchase":true,"Culture":"fr-FR"}',
     Profile(is_subscription_available_for_purchase=True, culture="fr-FR")),
    (b'{"HasSubscription":true,"IsSubscriptionAvailableForPurchase":false,"Culture":"en-US",'
     b'"Subscription":{"Type":"Paid","Region":"US","EndDate":"2017-07-18T12:38:12.349Z"}}',
     Profile(is_subscription_available_for_purchase=False, has_subscription=True, culture="en-US",
             subscription=SubscriptionState("Paid", "US", "2017-07-18T12:38:12.349Z"))),
])
def test_profile(fake, answer, expected):
    fake.answer("GET", "/1/user/music/profile", answer)
    with GrooveClient(fake.url, "tok") as groove:
        assert groove.profile() == expected
    assert fake.requests[0]["method"] == "GET"


@pytest.mark.parametrize("header, expected", [("7", 7.0), ("0", 0.0), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0), ("soon", None)])
def test_retry_after_is_read_in_seconds(fake, header, expected):
    fake.answer("POST", "/1/content/music/collection/add",
                compact({"Error": {"ErrorCode": "TOO-MANY-REQUESTS", "Description": "Too Many Requests"}}),
                status="429 Too Many Requests", headers=[("Retry-After", header)])
    with GrooveClient(fake.url, "tok") as groove:
        with pytest.raises(GrooveApiError) as raised:
            groove.add([TRACK_A])
    assert raised.value.status == 429 and raised.value.retry_after == expected


@pytest.mark.parametrize("status, body, content_type, detail", [
    ("502 Bad Gateway", b"<html><body>Bad gateway</body></html>", "text/html", "HTTP 502: the XML answer's root is html, not TrackActionResponse"),
    ("503 Service Unavailable", b"", "text/plain", "HTTP 503: Service Unavailable"),
    ("200 OK", b"", "application/json", "HTTP 200: empty answer"),
    ("200 OK", b"{not json", "application/json", "HTTP 200: the JSON answer is not valid JSON"),
])
def test_answers_without_a_groove_body_raise_groove_api_error(fake, status, body, content_type, detail):
    fake.answer("POST", "/1/content/music/collection/add", body, status=status, content_type=content_type)
    with GrooveClient(fake.url, "tok") as groove:
        with pytest.raises(GrooveApiError) as raised:
            groove.add([TRACK_A])
    assert raised.value.error is None
    assert str(raised.value).startswith(detail)


def test_xml_answers_are_parsed_without_entities_or_dtds(fake, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    body = (f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e SYSTEM "file://{secret}">]>'
            f'<TrackActionResponse xmlns="{NS_2013}"><Error><ErrorCode>&e;</ErrorCode></Error></TrackActionResponse>').encode()
    fake.answer("POST", "/1/content/music/collection/add", body)
    with GrooveClient(fake.url, "tok", format="xml") as groove:
        with pytest.raises(GrooveApiError) as raised:
            groove.add([TRACK_A])
    assert "DOCTYPE" in str(raised.value) and "TOP-SECRET" not in str(raised.value)


def test_an_answer_echoing_the_token_is_redacted(fake):
    token = "gct_secret-value-123"
    fake.answer("POST", "/1/content/music/collection/add",
                compact({"Error": {"ErrorCode": "INVALID-AUTHORIZATION-HEADER", "Description": "Missing or invalid authorization header",
                                   "Message": f"token {token} is unknown"}}),
                status="401 Unauthorized")
    with GrooveClient(fake.url, token) as groove:
        with pytest.raises(GrooveApiError) as raised:
            groove.add([TRACK_A])
    assert raised.value.error.message == "token *** is unknown"
    assert token not in str(raised.value) and token not in repr(raised.value)
