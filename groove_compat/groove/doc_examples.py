"""Examples of the published documentation for the Groove read and playlist endpoints.

The response models are built by the views' own builders (``content.py``) from items shaped as the core
returns them, with ids minted by a real ``IdCodec`` under a key of its own (``EXAMPLE_IDS``): they have the
true shape and name nothing of any install. The dialect encodes them with the codec (``apidoc.py``).
"""

import hashlib
import uuid

from .. import ids
from . import content, paging
from .errors import error_object

EXAMPLE_IDS = ids.IdCodec(hashlib.sha256(b"groove-compat groove documentation examples").digest())
LIBRARY_ID = 7
PLAYLIST_ID = 8
USER_ID = 5
STATE_TOKEN = "1.0.0.0.12"

_ENTRIES = [
    {
        "track_id": 101, "guid": uuid.UUID("A83EB907-0100-11DB-89CA-0019B92A3933").bytes, "title": "Atlas Lantern",
        "artist": "Northbound Lights", "album": "Harbor Songs", "duration": 355, "track_number": 1, "genre": "Indie",
        "release_date": "2014-03-07", "is_explicit": 0, "album_track_id": 101, "artist_track_id": 101,
    },
    {
        "track_id": 102, "guid": uuid.UUID("873FB507-0100-11DB-89CA-0019B92A3933").bytes, "title": "Echo Drift",
        "artist": "Northbound Lights", "album": "Harbor Songs", "duration": 359, "track_number": 2, "genre": "Indie",
        "release_date": "2014-03-07", "is_explicit": 0, "album_track_id": 101, "artist_track_id": 101,
    },
]
_PLAYLIST = {"id": PLAYLIST_ID, "user_id": USER_ID, "name": "Road trip", "track_count": 2, "duration": 714,
             "is_published": 0}


def _tracks(collection_id):
    group_ids = content.GroupIds(EXAMPLE_IDS)
    return [
        content.track(EXAMPLE_IDS, entry, collection_id=collection_id, library_id=LIBRARY_ID, group_ids=group_ids)
        for entry in _ENTRIES
    ]


TRACK_IDS = [track["Id"] for track in _tracks(LIBRARY_ID)]
PLAYLIST_ENTRY_IDS = [track["Id"] for track in _tracks(PLAYLIST_ID)]
PLAYLIST_LONG_ID = EXAMPLE_IDS.playlist_id(PLAYLIST_ID)
PLAYLIST_SHORT_ID = EXAMPLE_IDS.playlist_short_id(PLAYLIST_ID)
# A continuation token as paging.encode writes it (its tag verifies on no install).
CONTINUATION_TOKEN = paging.encode(
    EXAMPLE_IDS.key, collection_id=LIBRARY_ID, list_name="tracks", order="title", page_size=1,
    position=("atlas lantern", 101),
)

TRACKS_PAGE = {
    "Tracks": content.paginated(_tracks(LIBRARY_ID)[:1], continuation_token=CONTINUATION_TOKEN, total=2),
}
ALBUMS_PAGE = {
    "Albums": content.paginated([content.album(EXAMPLE_IDS, {
        "track_id": 101, "name": "Harbor Songs", "artist": "Northbound Lights", "artist_track_id": 101,
        "release_date": "2014-03-07", "track_count": 2, "is_explicit": False, "genres": ["Indie"],
    }, library_id=LIBRARY_ID)], total=1),
}
ARTISTS_PAGE = {
    "Artists": content.paginated(
        [content.artist(EXAMPLE_IDS, {"track_id": 101, "name": "Northbound Lights"}, library_id=LIBRARY_ID)], total=1
    ),
}
PLAYLISTS_PAGE = {"Playlists": content.paginated([content.playlist(EXAMPLE_IDS, _PLAYLIST, user_id=USER_ID)], total=1)}
PLAYLIST_TRACKS_PAGE = {"Tracks": content.paginated(_tracks(PLAYLIST_ID), total=2)}
LOOKUP = {
    "Tracks": content.paginated(_tracks(LIBRARY_ID)[:1]),
    "Playlists": content.paginated([content.playlist(
        EXAMPLE_IDS, _PLAYLIST, user_id=USER_ID, tracks=content.paginated(_tracks(PLAYLIST_ID), total=2),
        state_token=STATE_TOKEN,
    )]),
}

DELETE_REQUEST = {"TrackIds": [TRACK_IDS[0], "music.9BB2C5C5-455C-4C15-827C-F9BFD759A458"]}
DELETE_RESPONSE = {
    "TrackActionResults": [
        {"InputId": TRACK_IDS[0]},
        {"InputId": "music.9BB2C5C5-455C-4C15-827C-F9BFD759A458",
         "Error": error_object("COLLECTION_INVALID_ID", style="underscore")},
    ],
    "Error": error_object("COLLECTION_SOME_OPERATIONS_FAILED", style="underscore"),
}

CREATE_REQUEST = {
    "Name": "Road trip",
    "IsPublished": False,
    "TrackActions": [{"Id": "music.A83EB907-0100-11DB-89CA-0019B92A3933", "Action": "Add"},
                     {"Id": TRACK_IDS[1], "Action": "Add"}],
}
CREATE_RESPONSE = {
    "PlaylistActionResult": {
        "Id": PLAYLIST_LONG_ID, "Name": "Road trip", "IsPublished": False,
        "TrackActionResults": [
            {"InputId": "music.A83EB907-0100-11DB-89CA-0019B92A3933", "Id": PLAYLIST_ENTRY_IDS[0]},
            {"InputId": TRACK_IDS[1], "Id": PLAYLIST_ENTRY_IDS[1]},
        ],
    },
}
UPDATE_REQUEST = {
    "Id": PLAYLIST_SHORT_ID,
    "CollectionStateToken": STATE_TOKEN,
    "Name": "Road trip 2",
    "TrackActions": [{"Id": PLAYLIST_ENTRY_IDS[0], "Action": "Delete"}],
}
UPDATE_RESPONSE = {
    "PlaylistActionResult": {
        "Id": PLAYLIST_SHORT_ID, "Name": "Road trip 2",
        "TrackActionResults": [{"InputId": PLAYLIST_ENTRY_IDS[0]}],
    },
}
MOVE_REQUEST = {
    "Id": PLAYLIST_SHORT_ID,
    "InsertBeforeTrackId": PLAYLIST_ENTRY_IDS[0],
    "TrackActions": [{"Id": PLAYLIST_ENTRY_IDS[1], "Action": "Move"}],
}
MOVE_RESPONSE = {"PlaylistActionResult": {"Id": PLAYLIST_SHORT_ID}}
DELETE_PLAYLIST_REQUEST = {"Id": PLAYLIST_LONG_ID}
DELETE_PLAYLIST_RESPONSE = {"PlaylistActionResult": {"Id": PLAYLIST_LONG_ID}}

PROFILE = {
    "HasSubscription": False,
    "IsSubscriptionAvailableForPurchase": False,
    "Culture": "en-US",
    "Collection": {"Token": STATE_TOKEN, "PlaylistCount": 1, "RemainingPlaylistCount": 99, "TrackCount": 2,
                   "RemainingTrackCount": 49998},
}
ANONYMOUS_PROFILE = {"IsSubscriptionAvailableForPurchase": False, "Culture": "fr-FR"}
