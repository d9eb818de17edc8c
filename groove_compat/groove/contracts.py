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

# The response type of each endpoint, so that every answer (errors included) has the endpoint's root.
DEFAULT_RESPONSE_TYPE = "ContentResponse"


def member_lookup(type_name):
    """``{lower-case member name: member name}``: members are read case-insensitively, as Json.NET does."""
    return {member.lower(): member for member in CONTRACTS[type_name].members}
