"""Reading the collection back: browse (contract 1.3), look-up with source=collection and the playlist
sub-browse (contract 1.4). Each answer is a ContentResponse holding the lists asked for."""

import re

from .. import browse, ids, library
from ..library import LibraryError, Reason
from ..openapi import Example, documented
from . import content, doc_examples, paging, web
from .errors import GrooveError
from .routes import blueprint

MAX_ITEMS = 25
MAX_LOOKUP_LENGTH = 250
_WHOLE_NUMBER = re.compile(r"^[0-9]{1,9}$")

_TRACK_ORDERS = {
    "tracktitle": "title",
    "albumtitle": "album",
    "artistname": "artist",
    "genrename": "genre",
    "releasedate": "release",
    "collectiondate": "added",
    "tracknumber": "number",
}

# Per list: the orderBy values it takes (lower case -> core order) and its default order (contract 1.3).
LISTS = {
    "tracks": (_TRACK_ORDERS, "title"),
    "albums": (
        {"albumtitle": "album", "artistname": "artist", "genrename": "genre", "releasedate": "release",
         "collectiondate": "added"},
        "album",
    ),
    "artists": ({"artistname": "artist", "collectiondate": "added"}, "artist"),
    "playlists": ({"collectiondate": "added"}, "added"),
    "playlistsforyou": ({}, None),
    # A playlist's tracks come in the playlist's own order unless a track order is asked for.
    "playlisttracks": (_TRACK_ORDERS, "position"),
}
MEMBER = {
    "tracks": "Tracks", "albums": "Albums", "artists": "Artists", "playlists": "Playlists",
    "playlistsforyou": "Playlists", "playlisttracks": "Tracks",
}


# --- published documentation -------------------------------------------------------------------------------
_ORDER_NAMES = {
    "tracktitle": "TrackTitle", "albumtitle": "AlbumTitle", "artistname": "ArtistName", "genrename": "GenreName",
    "releasedate": "ReleaseDate", "collectiondate": "CollectionDate", "tracknumber": "TrackNumber",
}
_DEFAULT_ORDER_NAMES = {"title": "TrackTitle", "album": "AlbumTitle", "artist": "ArtistName", "added": "CollectionDate"}


def _order_parameter(list_names):
    allowed = []
    lines = []
    for list_name in list_names:
        orders, default = LISTS[list_name]
        names = [_ORDER_NAMES[value] for value in orders]
        allowed += [name for name in names if name not in allowed]
        default_text = _DEFAULT_ORDER_NAMES.get(default, "the playlist's own order")
        if list_name == "playlistsforyou":
            lines.append(f"- `{list_name}`: none (any `orderBy` is refused)")
        else:
            lines.append(f"- `{list_name}`: " + ", ".join(f"`{name}`" for name in names) + f" (default: {default_text})")
    return {
        "name": "orderBy",
        "in": "query",
        "required": False,
        "description": (
            "The order of the list, read case-insensitively; names sort alphabetically, dates newest first. "
            "Another value answers 400 INCOMPATIBLE_INPUT_PARAMETERS. Allowed per list:\n\n" + "\n".join(lines)
        ),
        "schema": {"type": "string", "enum": allowed},
    }


PAGING_PARAMETERS = [
    {
        "name": "maxItems",
        "in": "query",
        "required": False,
        "description": f"Items per page, 1 to {MAX_ITEMS} (the default).",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ITEMS, "default": MAX_ITEMS},
    },
    {
        "name": "page",
        "in": "query",
        "required": False,
        "description": "0-based page number: skips `page` × `maxItems` items. Not with `continuationToken`.",
        "schema": {"type": "integer", "minimum": 0, "default": 0},
    },
    {
        "name": "continuationToken",
        "in": "query",
        "required": False,
        "description": (
            "The `ContinuationToken` of the previous page: it carries the list, order and page size, so it may be "
            "sent alone; `orderBy` and `maxItems` sent with it must agree with it. URL-safe as written."
        ),
        "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$", "maxLength": paging.MAX_TOKEN_LENGTH},
    },
]

PAGING_ERRORS = {
    "INVALID_INPUT_PARAMETER": f"`maxItems` or `page` is not a whole number, or `maxItems` is not 1 to {MAX_ITEMS}",
    "INCOMPATIBLE_INPUT_PARAMETERS": (
        "`orderBy` is not an order of the list, or `orderBy` or `maxItems` sent with a `continuationToken` differs "
        "from the token's, or `page` is sent with one"
    ),
    "CONTINUATION_TOKEN_INVALID_ERROR": (
        "the token is not one this server wrote for this list of this collection (edited, truncated, another "
        "list's or another user's)"
    ),
}
NO_PLAYLIST = "the id is not a playlist id, or names no playlist of the caller nor a published one"


def _whole_number(name):
    text = web.query_param(name)
    if text is None:
        return None
    if not _WHOLE_NUMBER.match(text):
        raise GrooveError("INVALID_INPUT_PARAMETER", f"Parameter {name} must be a whole number")
    return int(text)


def paging_parameters(list_name, collection_id):
    """``(order, page size, keyset position or None, offset)`` of a browse request.

    ``orderBy`` and ``maxItems`` are read case-insensitively (names and values). A ``continuationToken``
    carries order and page size itself; parameters sent with it must agree with it.
    """
    orders, default = LISTS[list_name]
    max_items = _whole_number("maxItems")
    if max_items is not None and max_items > MAX_ITEMS:
        raise GrooveError("INVALID_INPUT_PARAMETER", f"Parameter maxItems must have a value of at most {MAX_ITEMS}")
    if max_items is not None and max_items < 1:
        raise GrooveError("INVALID_INPUT_PARAMETER", "Parameter maxItems must have a value of at least 1")
    order_text = web.query_param("orderBy")
    order = None
    if order_text is not None:
        order = orders.get(order_text.strip().lower())
        if order is None:
            raise GrooveError("INCOMPATIBLE_INPUT_PARAMETERS", "Invalid ordering for this content")
    page = _whole_number("page")
    token = web.query_param("continuationToken")
    if token is None:
        size = max_items or MAX_ITEMS
        return order or default, size, None, (page or 0) * size
    token_order, size, position = paging.decode(
        web.id_codec().key, token, collection_id=collection_id, list_name=list_name
    )
    if not 1 <= size <= MAX_ITEMS or (token_order not in orders.values() and token_order != default):
        raise paging.invalid()
    if order is not None and order != token_order:
        raise GrooveError("INCOMPATIBLE_INPUT_PARAMETERS", "Parameter orderBy differs from the continuation token's")
    if max_items is not None and max_items != size:
        raise GrooveError("INCOMPATIBLE_INPUT_PARAMETERS", "Parameter maxItems differs from the continuation token's")
    if page is not None:
        raise GrooveError("INCOMPATIBLE_INPUT_PARAMETERS", "Parameter page cannot be sent with a continuation token")
    return token_order, size, position, 0


def _continuation(page, *, list_name, order, size, collection_id):
    if page.after is None:
        return None
    return paging.encode(
        web.id_codec().key, collection_id=collection_id, list_name=list_name, order=order, page_size=size,
        position=page.after,
    )


def _browse_page(core_call, **arguments):
    try:
        return core_call(web.store(), **arguments)
    except LibraryError as error:
        if error.reason is Reason.INVALID_POSITION:
            raise paging.invalid() from None
        if error.reason is Reason.COLLECTION_NOT_FOUND:
            raise GrooveError("COLLECTION_NO_RESULT", "No such playlist in this collection") from None
        raise


def _tracks_list(caller, playlist_id, *, order, size, position, offset):
    codec = web.id_codec()
    list_name = "tracks" if playlist_id is None else "playlisttracks"
    collection_id = caller.library_id if playlist_id is None else playlist_id
    page = _browse_page(
        browse.browse_tracks, caller=caller, collection_id=collection_id, order=order, after=position, limit=size,
        offset=offset,
    )
    group_ids = content.GroupIds(codec)
    items = [
        content.track(codec, entry, collection_id=collection_id, library_id=caller.library_id, group_ids=group_ids)
        for entry in page.items
    ]
    token = _continuation(page, list_name=list_name, order=order, size=size, collection_id=collection_id)
    return content.paginated(items, continuation_token=token, total=page.total)


@blueprint.route("/1/content/<namespace>/collection/<list_type>/browse", methods=["GET"], endpoint="browse_collection")
@documented(
    "Browse the caller's collection",
    parameters=[
        {
            "name": "list_type",
            "in": "path",
            "description": (
                "The list, read case-insensitively: `tracks`, `albums`, `artists`, `playlists` or `playlistsforyou` "
                "(answered in `Playlists`). Another value answers 404."
            ),
            "schema": {"type": "string", "enum": ["tracks", "albums", "artists", "playlists", "playlistsforyou"]},
        },
        _order_parameter(["tracks", "albums", "artists", "playlists", "playlistsforyou"]),
        *PAGING_PARAMETERS,
    ],
    responses={
        200: "ContentResponse",
        400: PAGING_ERRORS,
        404: {"INVALID_INPUT_PARAMETER": "the list type is not one of the five"},
    },
    examples={
        200: [
            Example("tracks", doc_examples.TRACKS_PAGE, "tracks?maxItems=1: the first page of two"),
            Example("albums", doc_examples.ALBUMS_PAGE, "albums"),
            Example("artists", doc_examples.ARTISTS_PAGE, "artists"),
            Example("playlists", doc_examples.PLAYLISTS_PAGE, "playlists"),
        ]
    },
)
@web.groove_endpoint("ContentResponse")
def browse_collection(namespace, list_type):
    """One page of the caller's tracks, albums, artists or playlists (playlistsforyou: always empty, as this
    server makes no recommendations)."""
    web.require_music_namespace(namespace)
    list_name = list_type.lower()
    if list_name not in LISTS or list_name == "playlisttracks":
        raise GrooveError(
            "INVALID_INPUT_PARAMETER",
            f"Collection type '{list_type[:64]}' is not one of Tracks, Albums, Artists, Playlists, PlaylistsForYou",
            status=404,
        )
    caller = web.authenticate()
    order, size, position, offset = paging_parameters(list_name, caller.library_id)
    codec = web.id_codec()
    if list_name == "tracks":
        listed = _tracks_list(caller, None, order=order, size=size, position=position, offset=offset)
    elif list_name == "playlistsforyou":
        listed = content.paginated([])
    else:
        core_call = {"albums": browse.browse_albums, "artists": browse.browse_artists,
                     "playlists": browse.browse_playlists}[list_name]
        arguments = {"caller": caller, "after": position, "limit": size, "offset": offset}
        if list_name != "playlists":
            arguments["order"] = order
        page = _browse_page(core_call, **arguments)
        if list_name == "albums":
            items = [content.album(codec, item, library_id=caller.library_id) for item in page.items]
        elif list_name == "artists":
            items = [content.artist(codec, item, library_id=caller.library_id) for item in page.items]
        else:
            items = [content.playlist(codec, item, user_id=caller.user_id) for item in page.items]
        token = _continuation(page, list_name=list_name, order=order, size=size, collection_id=caller.library_id)
        listed = content.paginated(items, continuation_token=token, total=page.total)
    return web.render("ContentResponse", {MEMBER[list_name]: listed})


def _playlist_collection_id(text):
    collection_id = web.id_codec().parse_playlist_id(text)
    if collection_id is None:
        raise GrooveError("COLLECTION_NO_RESULT", "No such playlist in this collection")
    return collection_id


@blueprint.route(
    "/1/content/<playlist_id>/collection/playlist/tracks/browse", methods=["GET"], endpoint="browse_playlist_tracks"
)
@documented(
    "Browse a playlist's tracks",
    parameters=[
        {
            "name": "playlist_id",
            "in": "path",
            "description": "The playlist, in either form: `music.playlist.{GUID}` or `music.AQM...`.",
        },
        _order_parameter(["playlisttracks"]),
        *PAGING_PARAMETERS,
    ],
    responses={200: "ContentResponse", 400: PAGING_ERRORS, 404: {"COLLECTION_NO_RESULT": NO_PLAYLIST}},
    examples={200: Example("playlist tracks", doc_examples.PLAYLIST_TRACKS_PAGE, "A playlist's two tracks")},
)
@web.groove_endpoint("ContentResponse")
def browse_playlist_tracks(playlist_id):
    """One page of a playlist's tracks (the caller's, or a published one), in playlist order by default."""
    caller = web.authenticate()
    collection_id = _playlist_collection_id(playlist_id)
    order, size, position, offset = paging_parameters("playlisttracks", collection_id)
    listed = _tracks_list(caller, collection_id, order=order, size=size, position=position, offset=offset)
    return web.render("ContentResponse", {"Tracks": listed})


def _split_values(text):
    """Multi-value parameters use ``+``, which form decoding turns into a space (contract 1.0)."""
    return [value for value in re.split(r"[+ ,]", text) if value]


@blueprint.route("/1/content/<id_list>/lookup", methods=["GET"], endpoint="lookup")
@documented(
    "Look up items of the caller's collection",
    parameters=[
        {
            "name": "id_list",
            "in": "path",
            "description": (
                f"One or more ids joined with `+` (at most {MAX_LOOKUP_LENGTH} characters): collection track ids "
                "(`music.AQQ...`), catalog ids of tracks in the library, album (`music.AQE...`) and artist "
                "(`music.AQI...`) ids, playlist ids in either form. Repeated ids are looked up once."
            ),
        },
        {
            "name": "source",
            "in": "query",
            "required": True,
            "description": (
                "Where to look, values joined with `+` (or spaces), read case-insensitively; it must include "
                "`collection` (`Collection`, `Catalog+Collection`): this server has no catalog to look in."
            ),
            "schema": {"type": "string"},
        },
        {
            "name": "extras",
            "in": "query",
            "required": False,
            "description": (
                "Accepted and ignored: a playlist always comes with its first page of tracks, other items with "
                "what browse gives them."
            ),
            "schema": {"type": "string"},
        },
    ],
    responses={
        200: "ContentResponse",
        400: {
            "INVALID_INPUT_PARAMETER": f"`source` is absent or lacks `collection`, or the ids are longer than "
            f"{MAX_LOOKUP_LENGTH} characters",
            "MISSING_INPUT_PARAMETER": "the path holds no id (only `+`)",
        },
        404: {"COLLECTION_NO_RESULT": "none of the ids names an item of the collection"},
    },
    examples={200: Example("track and playlist", doc_examples.LOOKUP, "A track and a playlist with its tracks")},
)
@web.groove_endpoint("ContentResponse")
def lookup(id_list):
    """The caller's collection items named by ids joined with ``+``: entry ids (``music.AQQ...``), catalog
    ids of tracks in the library, album (``music.AQE...``) and artist (``music.AQI...``) ids, and playlists in
    either form (with their first page of tracks). Ids that name nothing are left out; 404
    COLLECTION_NO_RESULT when none names anything."""
    caller = web.authenticate()
    source = web.query_param("source")
    sources = {value.lower() for value in _split_values(source or "")}
    if "collection" not in sources:
        raise GrooveError(
            "INVALID_INPUT_PARAMETER", "This server looks up collection content only: use source=collection"
        )
    if len(id_list) > MAX_LOOKUP_LENGTH:
        raise GrooveError(
            "INVALID_INPUT_PARAMETER", f"The ids of one lookup are limited to {MAX_LOOKUP_LENGTH} characters"
        )
    wanted = list(dict.fromkeys(_split_values(id_list)))
    if not wanted:
        raise GrooveError("MISSING_INPUT_PARAMETER", "Give one or more ids joined with +")
    store, codec = web.store(), web.id_codec()
    found = {"Tracks": [], "Albums": [], "Artists": [], "Playlists": []}
    for text in wanted:
        entry_parts = codec.parse_entry_id(text)
        guid = ids.parse_catalog_guid(text)
        album_parts = codec.parse_album_id(text)
        artist_parts = codec.parse_artist_id(text)
        playlist_id = codec.parse_playlist_id(text)
        if entry_parts is not None:
            collection_id, track_id, prefix = entry_parts
            entry = browse.entry(store, caller, collection_id, track_id, guid_prefix=prefix)
            if entry is not None:
                found["Tracks"].append(
                    content.track(codec, entry, collection_id=collection_id, library_id=caller.library_id)
                )
        elif guid is not None:
            entry = browse.library_entry_of_catalog_track(store, caller, guid)
            if entry is not None:
                found["Tracks"].append(
                    content.track(codec, entry, collection_id=caller.library_id, library_id=caller.library_id)
                )
        elif album_parts is not None:
            item = browse.album(store, caller, *album_parts)
            if item is not None:
                found["Albums"].append(content.album(codec, item, library_id=caller.library_id))
        elif artist_parts is not None:
            item = browse.artist(store, caller, *artist_parts)
            if item is not None:
                found["Artists"].append(content.artist(codec, item, library_id=caller.library_id))
        elif playlist_id is not None:
            playlist = browse.playlist(store, caller, playlist_id)
            if playlist is not None:
                tracks = _tracks_list(caller, playlist_id, order="position", size=MAX_ITEMS, position=None, offset=0)
                state = library.collection_state(store, caller).token
                found["Playlists"].append(
                    content.playlist(codec, playlist, user_id=caller.user_id, tracks=tracks, state_token=state)
                )
    if not any(found.values()):
        raise GrooveError("COLLECTION_NO_RESULT", "None of the ids names an item of this collection")
    return web.render(
        "ContentResponse", {member: content.paginated(items) for member, items in found.items() if items}
    )
