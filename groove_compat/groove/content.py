"""Groove content objects (Track, Album, Artist, Playlist) from the core's plain results (contract 2.9).

The response model is nested dicts of canonical members; None means "omitted" (Json.NET EmitDefaultValue=false),
so zero counts and unknown values are None, never 0 or null. Everything here comes from the catalog text of
the tracks: there are no images or web pages behind this server, so ImageUrl and Link are never written.
"""

import datetime

SOURCE = "Collection"
# Roles Groove used on collection content (contract 2.9).
PRIMARY_ARTIST = "PrimaryArtist"


def release_datetime(text):
    """DateTime of an ISO date text (midnight UTC), or None."""
    if not text:
        return None
    date = datetime.date.fromisoformat(text[:10])
    return datetime.datetime(date.year, date.month, date.day, tzinfo=datetime.timezone.utc)


def duration(seconds):
    return None if seconds is None else datetime.timedelta(seconds=seconds)


def count(value):
    return value or None


class GroupIds:
    """Album and artist ids of one answer, each minted once however many tracks share it."""

    def __init__(self, codec):
        self.codec = codec
        self._albums = {}
        self._artists = {}

    def album_id(self, library_id, track_id):
        key = (library_id, track_id)
        if key not in self._albums:
            self._albums[key] = self.codec.album_id(library_id, track_id)
        return self._albums[key]

    def artist_id(self, library_id, track_id):
        key = (library_id, track_id)
        if key not in self._artists:
            self._artists[key] = self.codec.artist_id(library_id, track_id)
        return self._artists[key]


def artist_reference(codec, library_id, track_id, name):
    return {"Id": codec.artist_id(library_id, track_id), "Name": name, "Source": SOURCE}


def track(codec, entry, *, collection_id, library_id, group_ids=None):
    """A Track of collection ``collection_id`` from an entry as the core's browse gives it; ``group_ids`` (a
    GroupIds) shares album and artist ids between the tracks of one answer."""
    group_ids = group_ids or codec
    genres = [entry["genre"]] if entry.get("genre") else None
    released = release_datetime(entry.get("release_date"))
    explicit = entry.get("is_explicit")
    album = None
    if entry.get("album_track_id") is not None:
        album = {
            "ReleaseDate": released,
            "Genres": genres,
            "Id": group_ids.album_id(library_id, entry["album_track_id"]),
            "Name": entry["album"],
            "Source": SOURCE,
        }
    artists = None
    if entry.get("artist_track_id") is not None:
        artists = [{
            "Role": PRIMARY_ARTIST,
            "Artist": artist_reference(group_ids, library_id, entry["artist_track_id"], entry["artist"]),
        }]
    return {
        "ReleaseDate": released,
        "Duration": duration(entry.get("duration")),
        "TrackNumber": entry.get("track_number"),
        "IsExplicit": None if explicit is None else bool(explicit),
        "Genres": genres,
        "Album": album,
        "Artists": artists,
        "Id": codec.entry_id(collection_id, entry["track_id"], entry["guid"]),
        "Name": entry["title"],
        "Source": SOURCE,
    }


def album(codec, item, *, library_id):
    """An Album from the core's album item (derived from the library's tracks of one album)."""
    artists = None
    if item["artist_track_id"] is not None:
        artists = [{
            "Role": PRIMARY_ARTIST,
            "Artist": artist_reference(codec, library_id, item["artist_track_id"], item["artist"]),
        }]
    return {
        "ReleaseDate": release_datetime(item["release_date"]),
        "TrackCount": count(item["track_count"]),
        "IsExplicit": item["is_explicit"],
        "Genres": item["genres"] or None,
        "Artists": artists,
        "Id": codec.album_id(library_id, item["track_id"]),
        "Name": item["name"],
        "Source": SOURCE,
    }


def artist(codec, item, *, library_id):
    """An Artist from the core's artist item."""
    return artist_reference(codec, library_id, item["track_id"], item["name"])


def playlist(codec, collection, *, user_id, tracks=None, state_token=None):
    """A Playlist of the caller ``user_id`` sees. Browse gives TrackCount, UserIsOwner, Id, Name, Source (the
    wire example); a look-up adds Duration, IsPublished, the owner's CollectionStateToken and Tracks."""
    owner = collection["user_id"] == user_id
    model = {
        "TrackCount": count(collection["track_count"]),
        "UserIsOwner": owner,
        "Id": codec.playlist_short_id(collection["id"]),
        "Name": collection["name"],
        "Source": SOURCE,
    }
    if tracks is not None:
        model["Duration"] = duration(collection.get("duration"))
        model["IsPublished"] = bool(collection["is_published"])
        model["Tracks"] = tracks
        if owner:
            model["CollectionStateToken"] = state_token
    return model


def paginated(items, *, continuation_token=None, total=None):
    """A PaginatedList: Items always present (an empty list for an empty collection, contract 1.3)."""
    return {"Items": items, "ContinuationToken": continuation_token, "TotalItemCount": count(total)}
