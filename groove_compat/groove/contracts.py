"""The DataContract description of every Groove object: member order in JSON and in XML, member types.

XML order is the DataContractSerializer's (base-class members first, then ordinal alphabetical; contract 3.4);
a .NET reader silently drops an element that arrives too late, so the XML encoder writes exactly this order.
JSON order is the Json.NET declaration order the service used (derived members first, ``Error`` last);
readers do not depend on it, but byte-compatible answers do.

``types`` maps a member to its kind:
- ``"Error"``: an object of that contract;
- ``["TrackActionResult"]``: a list of objects, each written as an element named after its contract;
- ``("strings", "Genre")``: a list of strings, each item element named as given;
- absent: a scalar (str, int, bool, ``datetime``, ``timedelta``).

``scalars`` gives the kind of each scalar member that is not a string, for the published documents
(OpenAPI, ``groove/apidoc.py``): ``"integer"``, ``"boolean"``, ``"date-time"`` or ``"duration"``.
The encoders do not need it (they write the Python value they are given).
"""

from typing import NamedTuple

NS_2013 = "http://schemas.microsoft.com/xboxmusic/2013/10/platform"
NS_2016 = "http://schemas.microsoft.com/groovemusic/2016/09/api"
NS_ARRAYS = "http://schemas.microsoft.com/2003/10/Serialization/Arrays"
NS_INSTANCE = "http://www.w3.org/2001/XMLSchema-instance"
NAMESPACES = {"2013": NS_2013, "2016": NS_2016}


class Contract(NamedTuple):
    json: tuple
    xml: tuple
    types: dict = {}
    xml_2016: tuple | None = None  # only Album and Playlist differ between the namespace profiles
    scalars: dict = {}  # member -> "integer" | "boolean" | "date-time" | "duration"; absent: a string

    def xml_order(self, namespace):
        return self.xml_2016 if (self.xml_2016 is not None and namespace == NS_2016) else self.xml

    @property
    def members(self):
        return self.json


CONTRACTS = {
    "Error": Contract(
        json=("ErrorCode", "Description", "Message"),
        xml=("Description", "ErrorCode", "Message"),
    ),
    "TrackActionRequest": Contract(
        json=("TrackIds",),
        xml=("TrackIds",),
        types={"TrackIds": ("strings", "string")},
    ),
    "TrackActionResult": Contract(
        json=("InputId", "Id", "Error"),
        xml=("Error", "Id", "InputId"),
        types={"Error": "Error"},
    ),
    "TrackActionResponse": Contract(
        json=("TrackActionResults", "Error"),
        xml=("Error", "TrackActionResults"),
        types={"TrackActionResults": ["TrackActionResult"], "Error": "Error"},
    ),
}


# Members of Content, the base of Track, Album, Artist and Playlist. JSON: after the derived members (Json.NET
# declaration order). XML: before them (base first), alphabetical. CompatibleSources exists only in the 2016
# contract and OtherIds is never written by the collection surface, so neither is listed.
_CONTENT_JSON = ("Id", "Name", "ImageUrl", "Link", "Source")
_CONTENT_XML = ("Id", "ImageUrl", "Link", "Name", "Source")


def _paginated_list(item):
    """PaginatedList<item>: never a root, always a member (Tracks, Albums, ...); items named after ``item``."""
    return Contract(
        json=("Items", "ContinuationToken", "TotalItemCount"),
        xml=("ContinuationToken", "Items", "TotalItemCount"),
        types={"Items": [item]},
        scalars={"TotalItemCount": "integer"},
    )


CONTRACTS.update({
    # Requests of the playlist endpoints.
    "TrackAction": Contract(json=("Id", "Action"), xml=("Action", "Id")),
    "PlaylistAction": Contract(
        json=("CollectionStateToken", "Id", "Name", "IsPublished", "InsertBeforeTrackId", "TrackActions"),
        xml=("CollectionStateToken", "Id", "InsertBeforeTrackId", "IsPublished", "Name", "TrackActions"),
        types={"TrackActions": ["TrackAction"]},
    ),
    "PlaylistActionResult": Contract(
        json=("Id", "Name", "IsPublished", "TrackActionResults"),
        xml=("Id", "IsPublished", "Name", "TrackActionResults"),
        types={"TrackActionResults": ["TrackActionResult"]},
        scalars={"IsPublished": "boolean"},
    ),
    "PlaylistActionResponse": Contract(
        json=("PlaylistActionResult", "Error"),
        xml=("Error", "PlaylistActionResult"),
        types={"PlaylistActionResult": "PlaylistActionResult", "Error": "Error"},
    ),
    # Profile.
    "CollectionState": Contract(
        json=("Token", "PlaylistCount", "RemainingPlaylistCount", "TrackCount", "RemainingTrackCount"),
        xml=("PlaylistCount", "RemainingPlaylistCount", "RemainingTrackCount", "Token", "TrackCount"),
        scalars={member: "integer" for member in (
            "PlaylistCount", "RemainingPlaylistCount", "TrackCount", "RemainingTrackCount",
        )},
    ),
    "SubscriptionState": Contract(
        json=("Type", "Region", "EndDate"), xml=("EndDate", "Region", "Type"), scalars={"EndDate": "date-time"},
    ),
    "UserProfileResponse": Contract(
        json=(
            "HasSubscription", "IsSubscriptionAvailableForPurchase", "Culture", "Collection", "Subscription", "Error",
        ),
        xml=("Error", "Collection", "Culture", "HasSubscription", "IsSubscriptionAvailableForPurchase", "Subscription"),
        types={"Collection": "CollectionState", "Subscription": "SubscriptionState", "Error": "Error"},
        scalars={"HasSubscription": "boolean", "IsSubscriptionAvailableForPurchase": "boolean"},
    ),
    # Content.
    "Artist": Contract(
        json=("Genres", *_CONTENT_JSON),
        xml=(*_CONTENT_XML, "Genres"),
        types={"Genres": ("strings", "Genre")},
    ),
    "Contributor": Contract(json=("Role", "Artist"), xml=("Artist", "Role"), types={"Artist": "Artist"}),
    "Album": Contract(
        json=("ReleaseDate", "Duration", "TrackCount", "IsExplicit", "Genres", "Artists", "Tracks", *_CONTENT_JSON),
        # 2013: flat (docs lookup XML); 2016: Album : TrackContainer : Content (contract 3.4).
        xml=(*_CONTENT_XML, "Artists", "Duration", "Genres", "IsExplicit", "ReleaseDate", "TrackCount", "Tracks"),
        xml_2016=(*_CONTENT_XML, "Duration", "TrackCount", "Tracks", "Artists", "Genres", "IsExplicit", "ReleaseDate"),
        types={"Genres": ("strings", "Genre"), "Artists": ["Contributor"], "Tracks": "TrackList"},
        scalars={"ReleaseDate": "date-time", "Duration": "duration", "TrackCount": "integer", "IsExplicit": "boolean"},
    ),
    "Track": Contract(
        json=(
            "ReleaseDate", "Duration", "TrackNumber", "IsExplicit", "Genres", "Rights", "Subtitle", "Album", "Artists",
            *_CONTENT_JSON,
        ),
        xml=(*_CONTENT_XML, "Album", "Artists", "Duration", "Genres", "IsExplicit", "ReleaseDate", "Rights", "Subtitle",
             "TrackNumber"),
        types={
            "Album": "Album", "Artists": ["Contributor"], "Genres": ("strings", "Genre"),
            "Rights": ("strings", "Right"),
        },
        scalars={"ReleaseDate": "date-time", "Duration": "duration", "TrackNumber": "integer", "IsExplicit": "boolean"},
    ),
    "Playlist": Contract(
        json=("Description", "IsReadOnly", "IsPublished", "Duration", "TrackCount", "UserIsOwner", "Tracks",
              "CollectionStateToken", *_CONTENT_JSON),
        # 2013: flat, by analogy with Album (contract 3.4). 2016: Playlist : TrackContainer : Content, whose
        # contract has no IsPublished, IsReadOnly or UserIsOwner: they are left out rather than sent where a
        # .NET reader would drop them (or worse).
        xml=(
            *_CONTENT_XML, "CollectionStateToken", "Description", "Duration", "IsPublished", "IsReadOnly", "TrackCount",
            "Tracks", "UserIsOwner",
        ),
        xml_2016=(*_CONTENT_XML, "Duration", "TrackCount", "Tracks", "CollectionStateToken", "Description"),
        types={"Tracks": "TrackList"},
        scalars={
            "IsReadOnly": "boolean", "IsPublished": "boolean", "Duration": "duration", "TrackCount": "integer",
            "UserIsOwner": "boolean",
        },
    ),
    "TrackList": _paginated_list("Track"),
    "AlbumList": _paginated_list("Album"),
    "ArtistList": _paginated_list("Artist"),
    "PlaylistList": _paginated_list("Playlist"),
    "ContentResponse": Contract(
        json=("Artists", "Albums", "Tracks", "Playlists", "Culture", "Error"),
        xml=("Error", "Albums", "Artists", "Culture", "Playlists", "Tracks"),
        types={
            "Artists": "ArtistList", "Albums": "AlbumList", "Tracks": "TrackList", "Playlists": "PlaylistList",
            "Error": "Error",
        },
    ),
})

# Members every answer of a response type carries, errors included: Json.NET writes
# UserProfileResponse.IsSubscriptionAvailableForPurchase even when false (EmitDefaultValue=true, contract 2.8).
ERROR_COMPANIONS = {"UserProfileResponse": {"IsSubscriptionAvailableForPurchase": False}}

# The response type of each endpoint, so that every answer (errors included) has the endpoint's root.
DEFAULT_RESPONSE_TYPE = "ContentResponse"


def member_lookup(type_name):
    """``{lower-case member name: member name}``: members are read case-insensitively, as Json.NET does."""
    return {member.lower(): member for member in CONTRACTS[type_name].members}
