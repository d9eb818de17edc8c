"""A small typed Python client of the Groove dialect (``/1/content/music/...``, ``/1/user/music/profile``).

    from groove_compat.client import GrooveClient, GrooveApiError

    with GrooveClient("http://127.0.0.1:8000", token) as groove:
        outcome = groove.add(["music.A83EB907-0100-11DB-89CA-0019B92A3933"])
        for result in outcome.failed:
            print(result.input_id, result.error.code, result.error.message)
        for track in groove.browse("tracks"):
            print(track["Id"], track["Name"])

Contract of the client:

- One ``requests.Session`` per client: connections are reused; it is not shared between threads (make one
  client per thread). Every call has a timeout (``timeout``: seconds, or ``(connect, read)``).
- No retries inside: a caller decides what to retry (``groove-compat import`` does, with backoff).
- ``format="json"`` (default) or ``"xml"``: the format of request bodies and answers on the wire. XML bodies are
  DataContract XML in the 2013 namespace of seed 003 (``namespace="2016"`` for the SDK's); XML answers are
  parsed with a parser that resolves no entities and loads no DTD. Both formats give the same Python values.
- Any answer other than HTTP 200 raises ``GrooveApiError`` (status, the Groove ``Error`` when the body holds one,
  ``Retry-After`` in seconds). A 200 answer that cannot be read raises ``GrooveApiError`` too. Transport
  failures (timeout, refused or reset connection) raise ``GrooveConnectionError``. Both derive from
  ``GrooveClientError``.
- Partial failures are not exceptions: a batch answered 200 returns one ``TrackResult`` per input id, in input
  order, each with its ``error`` when it failed (the answer's top-level ``error`` is then
  COLLECTION-SOME-OPERATIONS-FAILED).
- The token is never part of a repr, a log line or an exception message (an answer that echoes it has it
  replaced with ``***``).
"""

from __future__ import annotations

import datetime
import email.utils
import json
import logging
import re
import time
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Sequence
from urllib.parse import quote

import requests
from lxml import etree

__all__ = [
    "GrooveClient",
    "GrooveClientError",
    "GrooveApiError",
    "GrooveConnectionError",
    "ErrorDetail",
    "TrackResult",
    "TrackActionOutcome",
    "PlaylistOutcome",
    "CollectionState",
    "SubscriptionState",
    "Profile",
    "Content",
    "Browse",
    "BROWSE_KINDS",
]

log = logging.getLogger(__name__)

NS_2013 = "http://schemas.microsoft.com/xboxmusic/2013/10/platform"
NS_2016 = "http://schemas.microsoft.com/groovemusic/2016/09/api"
NS_ARRAYS = "http://schemas.microsoft.com/2003/10/Serialization/Arrays"
NS_INSTANCE = "http://www.w3.org/2001/XMLSchema-instance"
NAMESPACES = {"2013": NS_2013, "2016": NS_2016}

# browse kind -> the ContentResponse member holding its PaginatedList (contract 1.3).
BROWSE_KINDS = {
    "tracks": "Tracks",
    "albums": "Albums",
    "artists": "Artists",
    "playlists": "Playlists",
    "playlistsforyou": "Playlists",
}
TRACK_ACTIONS = ("Add", "Delete", "Move")
DEFAULT_TIMEOUT = (5.0, 30.0)
USER_AGENT = "groove-compat-client/0.1"


# ---------------------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True, slots=True)
class ErrorDetail:
    """A Groove ``Error``: ``code`` as the server spelt it (hyphens or underscores), its fixed
    ``description`` and an optional free-form ``message``."""

    code: str | None
    description: str | None = None
    message: str | None = None

    @property
    def canonical_code(self) -> str | None:
        """The code in underscore spelling, for comparisons (both spellings mean the same)."""
        return None if self.code is None else self.code.replace("-", "_").upper()

    @classmethod
    def from_wire(cls, value) -> ErrorDetail | None:
        if not isinstance(value, dict):
            return None
        return cls(_str(value.get("ErrorCode")), _str(value.get("Description")), _str(value.get("Message")))


@dataclass(frozen=True, slots=True)
class TrackResult:
    """One input id of an add/delete (or of a playlist's track actions): ``id`` is the collection entry id
    on a successful add, absent on delete and on failure; ``error`` is set only on failure."""

    input_id: str | None
    id: str | None = None
    error: ErrorDetail | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True, slots=True)
class TrackActionOutcome:
    """A TrackActionResponse answered 200: the per-id results, in input order, and the top-level error
    (COLLECTION-SOME-OPERATIONS-FAILED when at least one id failed)."""

    results: tuple[TrackResult, ...]
    error: ErrorDetail | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and all(result.ok for result in self.results)

    @property
    def failed(self) -> list[TrackResult]:
        return [result for result in self.results if not result.ok]


@dataclass(frozen=True, slots=True)
class PlaylistOutcome:
    """A PlaylistActionResponse answered 200. ``name`` and ``is_published`` are echoed only when sent;
    ``track_results`` holds one result per Add/Delete track action."""

    id: str | None
    name: str | None = None
    is_published: bool | None = None
    track_results: tuple[TrackResult, ...] = ()
    error: ErrorDetail | None = None


@dataclass(frozen=True, slots=True)
class CollectionState:
    token: str | None = None
    playlist_count: int = 0
    remaining_playlist_count: int = 0
    track_count: int = 0
    remaining_track_count: int = 0


@dataclass(frozen=True, slots=True)
class SubscriptionState:
    type: str | None = None
    region: str | None = None
    end_date: str | None = None


@dataclass(frozen=True, slots=True)
class Profile:
    """A UserProfileResponse. Without a user token the server answers only ``culture`` and
    ``is_subscription_available_for_purchase`` (contract 1.8)."""

    is_subscription_available_for_purchase: bool
    has_subscription: bool | None = None
    culture: str | None = None
    collection: CollectionState | None = None
    subscription: SubscriptionState | None = None
    error: ErrorDetail | None = None


@dataclass(frozen=True, slots=True)
class Content:
    """A ContentResponse of a lookup: the items of each PaginatedList present (plain dicts with Groove member
    names; ints, bools and ``Duration`` (a ``timedelta``) typed alike for JSON and XML answers)."""

    tracks: tuple[dict, ...] = ()
    albums: tuple[dict, ...] = ()
    artists: tuple[dict, ...] = ()
    playlists: tuple[dict, ...] = ()
    error: ErrorDetail | None = None


# ---------------------------------------------------------------------------------------------------------
# Exceptions


class GrooveClientError(Exception):
    """Base of the client's exceptions."""


class GrooveApiError(GrooveClientError):
    """The server answered with a status other than 200, or with a body the client cannot read.

    ``status``: the HTTP status; ``error``: the Groove Error of the body (None when the body held none, e.g. an
    HTML page of a proxy); ``retry_after``: seconds from the ``Retry-After`` header, or None; ``method`` and
    ``path`` of the request (never its headers).
    """

    def __init__(self, *, status: int, error: ErrorDetail | None, retry_after: float | None, method: str, path: str,
                 detail: str | None = None):
        self.status = status
        self.error = error
        self.retry_after = retry_after
        self.method = method
        self.path = path
        self.detail = detail
        super().__init__(self._text())

    @property
    def code(self) -> str | None:
        return None if self.error is None else self.error.code

    @property
    def canonical_code(self) -> str | None:
        return None if self.error is None else self.error.canonical_code

    def _text(self):
        text = f"HTTP {self.status}"
        if self.error is not None:
            text += f" {self.error.code}: {self.error.description}"
            if self.error.message:
                text += f" ({self.error.message})"
        elif self.detail:
            text += f": {self.detail}"
        if self.retry_after is not None:
            text += f"; retry after {self.retry_after:g}s"
        return f"{text} [{self.method} {self.path}]"


class GrooveConnectionError(GrooveClientError):
    """No answer: the connection failed or was reset, or the server did not answer within the timeout
    (``timeout`` is True then). The request may or may not have been carried out."""

    def __init__(self, message: str, *, method: str, path: str, timeout: bool):
        self.method = method
        self.path = path
        self.timeout = timeout
        super().__init__(f"{message} [{method} {path}]")


# ---------------------------------------------------------------------------------------------------------
# Reading answers

_PAGED_LISTS = ("Tracks", "Albums", "Artists", "Playlists")
# Members that are lists whatever they hold (an empty element is an empty list, not an empty string).
_LIST_MEMBERS = frozenset({"TrackActionResults", "Items", "Genres", "Subgenres", "Rights", "TrackIds", "TrackActions"})
_INT_MEMBERS = frozenset(
    {"TrackCount", "TotalItemCount", "TrackNumber", "PlaylistCount", "RemainingPlaylistCount", "RemainingTrackCount"}
)
_BOOL_MEMBERS = frozenset(
    {"IsExplicit", "IsPublished", "IsReadOnly", "UserIsOwner", "HasSubscription", "IsSubscriptionAvailableForPurchase"}
)
_NIL = "{%s}nil" % NS_INSTANCE
_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d+):(\d{2}):(\d{2})(?:\.(\d+))?$")
_XS_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")


def _str(value):
    return value if isinstance(value, str) else None


def parse_duration(text):
    """A ``timedelta`` from Json.NET's ``[d.]hh:mm:ss`` or DataContract's xs:duration (``PT6M7S``); else the text."""
    if not isinstance(text, str):
        return text
    match = _TIMESPAN.match(text)
    if match:
        days, hours, minutes, seconds, fraction = match.groups()
        return datetime.timedelta(
            days=int(days or 0), hours=int(hours), minutes=int(minutes),
            seconds=int(seconds) + (float("0." + fraction) if fraction else 0.0),
        )
    match = _XS_DURATION.match(text)
    if match and text not in ("P", "PT"):
        days, hours, minutes, seconds = match.groups()
        return datetime.timedelta(
            days=int(days or 0), hours=int(hours or 0), minutes=int(minutes or 0), seconds=float(seconds or 0)
        )
    return text


def _typed(name, value):
    """Give XML text the type the JSON answer carries, so both formats read alike."""
    if isinstance(value, str):
        if name in _INT_MEMBERS:
            try:
                return int(value)
            except ValueError:
                return value
        if name in _BOOL_MEMBERS:
            lowered = value.strip().lower()
            if lowered in ("true", "1"):
                return True
            if lowered in ("false", "0"):
                return False
            return value
    if name == "Duration":
        return parse_duration(value)
    return value


def _normalise(value, name=None):
    """Type ints, bools and durations of a decoded JSON answer (recursively)."""
    if isinstance(value, dict):
        return {key: _normalise(item, key) for key, item in value.items()}
    if isinstance(value, list):
        return [_normalise(item) for item in value]
    return _typed(name, value) if name is not None else value


_xml_parser = None


def _safe_parser():
    global _xml_parser
    if _xml_parser is None:
        # No entity is resolved, no DTD loaded, nothing fetched from the network; huge trees are refused.
        _xml_parser = etree.XMLParser(
            resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False,
            remove_comments=True, remove_pis=True, collect_ids=False,
        )
    return _xml_parser


class _BodyUnreadable(ValueError):
    pass


def _xml_value(element):
    """One XML element as a plain value: an object (dict), a list, or text; ``i:nil`` is None."""
    if element.get(_NIL) in ("true", "1"):
        return None
    name = etree.QName(element).localname
    children = [child for child in element if isinstance(child.tag, str)]
    if not children:
        if name in _LIST_MEMBERS:
            return []
        if name == "OtherIds":
            return {}
        return _typed(name, element.text or "")
    if name == "OtherIds":  # IdDictionary: <OtherId><Namespace/><Id/></OtherId>
        result = {}
        for child in children:
            pair = {etree.QName(part).localname: part.text or "" for part in child if isinstance(part.tag, str)}
            if "Namespace" in pair:
                result[pair["Namespace"]] = pair.get("Id", "")
        return result
    if name in _LIST_MEMBERS or all(etree.QName(child).localname == "Contributor" for child in children):
        items = []
        for child in children:
            grandchildren = [part for part in child if isinstance(part.tag, str)]
            if grandchildren or etree.QName(child).localname in ("Contributor", "TrackActionResult", "TrackAction"):
                items.append({etree.QName(part).localname: _xml_value(part) for part in grandchildren})
            elif child.get(_NIL) in ("true", "1"):
                items.append(None)
            else:
                items.append(child.text or "")
        return items
    return {etree.QName(child).localname: _xml_value(child) for child in children}


def read_xml_answer(body: bytes, root_name: str) -> dict:
    """Parse a DataContract XML answer (either namespace) into the dict the JSON answer would give."""
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise _BodyUnreadable("XML answer with a DOCTYPE or entity declarations")
    try:
        root = etree.fromstring(body, _safe_parser())
    except (etree.XMLSyntaxError, ValueError) as error:
        raise _BodyUnreadable(f"the XML answer is not well-formed: {error}") from None
    name = etree.QName(root).localname
    if name != root_name:
        raise _BodyUnreadable(f"the XML answer's root is {name}, not {root_name}")
    value = _xml_value(root)
    return value if isinstance(value, dict) else {}


def read_json_answer(body: bytes) -> dict:
    try:
        document = json.loads(body)
    except ValueError as error:
        raise _BodyUnreadable(f"the JSON answer is not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise _BodyUnreadable("the JSON answer is not an object")
    # JSON already carries ints and bools; only Json.NET's "hh:mm:ss" durations need a type.
    return _normalise(document) if b'"Duration"' in body else document


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date; None if absent/unreadable."""
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return max(0.0, (when - datetime.datetime.now(datetime.timezone.utc)).total_seconds())


def _track_results(items) -> tuple[TrackResult, ...]:
    if not isinstance(items, list):
        return ()
    return tuple(
        TrackResult(_str(item.get("InputId")), _str(item.get("Id")), ErrorDetail.from_wire(item.get("Error")))
        for item in items
        if isinstance(item, dict)
    )


# ---------------------------------------------------------------------------------------------------------
# Writing requests


def _xml_escape(text: str) -> str:
    if not isinstance(text, str):
        raise TypeError(f"ids must be strings, not {type(text).__name__}")
    if re.search("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]", text):
        raise ValueError("an id holds a character XML 1.0 cannot carry")
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#xD;")


def track_action_request_xml(track_ids: Sequence[str], namespace: str = NS_2013) -> bytes:
    """A TrackActionRequest as DataContractSerializer writes it: seed 003's arrays-namespace ``<d2p1:string>``
    items in the 2013 namespace, the SDK's ``<TrackId>`` items in the 2016 namespace."""
    out = [f'<TrackActionRequest xmlns:i="{NS_INSTANCE}" xmlns="{namespace}">']
    if namespace == NS_2016:
        out.append("<TrackIds>")
        out.extend(f"<TrackId>{_xml_escape(track_id)}</TrackId>" for track_id in track_ids)
    else:
        out.append(f'<TrackIds xmlns:d2p1="{NS_ARRAYS}">')
        out.extend(f"<d2p1:string>{_xml_escape(track_id)}</d2p1:string>" for track_id in track_ids)
    out.append("</TrackIds></TrackActionRequest>")
    return "".join(out).encode("utf-8")


def playlist_action_xml(action: dict, namespace: str = NS_2013) -> bytes:
    """A PlaylistAction in DataContract order: CollectionStateToken, Id, InsertBeforeTrackId, IsPublished,
    Name, TrackActions (each TrackAction: Action, Id)."""
    out = [f'<PlaylistAction xmlns:i="{NS_INSTANCE}" xmlns="{namespace}">']
    for member in ("CollectionStateToken", "Id", "InsertBeforeTrackId", "IsPublished", "Name"):
        value = action.get(member)
        if value is None:
            continue
        text = ("true" if value else "false") if isinstance(value, bool) else _xml_escape(value)
        out.append(f"<{member}>{text}</{member}>")
    if action.get("TrackActions") is not None:
        out.append("<TrackActions>")
        for track_action in action["TrackActions"]:
            out.append("<TrackAction>")
            if track_action.get("Action") is not None:
                out.append(f"<Action>{_xml_escape(track_action['Action'])}</Action>")
            out.append(f"<Id>{_xml_escape(track_action['Id'])}</Id>")
            out.append("</TrackAction>")
        out.append("</TrackActions>")
    out.append("</PlaylistAction>")
    return "".join(out).encode("utf-8")


def _check_ids(track_ids) -> list[str]:
    if isinstance(track_ids, str):
        raise TypeError("pass a list of ids, not one string")
    track_ids = list(track_ids)
    for track_id in track_ids:
        if not isinstance(track_id, str):
            raise TypeError(f"ids must be strings, not {type(track_id).__name__}")
    return track_ids


# ---------------------------------------------------------------------------------------------------------
# The client


class Browse(Iterator[dict]):
    """Iterate every item of a collection browse, fetching page after page via ContinuationToken.

    ``pages`` counts the pages fetched so far; ``total_item_count`` is the server's estimate when it sent one;
    ``errors`` collects top-level errors of 200 answers (e.g. COLLECTION-INVALID-DATA: some items missing).
    """

    def __init__(self, client: GrooveClient, kind: str, params: dict):
        self._client = client
        self._member = BROWSE_KINDS[kind]
        self._path = f"/1/content/music/collection/{kind}/browse"
        self._params: dict | None = params
        self._items: list = []
        self._position = 0
        self.pages = 0
        self.total_item_count: int | None = None
        self.errors: list[ErrorDetail] = []

    def __iter__(self):
        return self

    def __next__(self) -> dict:
        while self._position >= len(self._items):
            if self._params is None:
                raise StopIteration
            self._fetch()
        item = self._items[self._position]
        self._position += 1
        return item

    def _fetch(self):
        answer = self._client._call("GET", self._path, "ContentResponse", params=self._params)
        self.pages += 1
        error = ErrorDetail.from_wire(answer.get("Error"))
        if error is not None:
            self.errors.append(error)
        page = answer.get(self._member)
        page = page if isinstance(page, dict) else {}
        items = page.get("Items")
        self._items = [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []
        self._position = 0
        if isinstance(page.get("TotalItemCount"), int):
            self.total_item_count = page["TotalItemCount"]
        token = page.get("ContinuationToken")
        # The continuation request repeats the path with only the token, as the SDK does (contract 1.3).
        self._params = {"continuationToken": token} if isinstance(token, str) and token else None


class GrooveClient:
    """A client of one Groove-compatible server for one user token (see the module docstring)."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        format: str = "json",
        namespace: str = "2013",
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
        user_agent: str = USER_AGENT,
    ):
        if format not in ("json", "xml"):
            raise ValueError("format must be 'json' or 'xml'")
        if namespace not in NAMESPACES:
            raise ValueError("namespace must be '2013' or '2016'")
        if not isinstance(token, str) or not token or any(ch in token for ch in "\r\n"):
            raise ValueError("token must be a non-empty string on one line")
        self.base_url = base_url.rstrip("/")
        self.format = format
        self.namespace = NAMESPACES[namespace]
        self.timeout = timeout
        self._token = token
        self._session = session if session is not None else requests.Session()
        if session is None:
            # Proxy settings from the environment are read once, not on every request (a stat of ~/.netrc and
            # a scan of the environment each time); and a ~/.netrc entry must never replace the Bearer header.
            self._session.proxies.update(requests.utils.get_environ_proxies(self.base_url))
            self._session.trust_env = False
        self._session.headers["User-Agent"] = user_agent
        self._session.headers["Accept"] = "application/xml" if format == "xml" else "application/json"

    def __repr__(self):
        return f"GrooveClient({self.base_url!r}, token=***, format={self.format!r})"

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        self._session.close()

    # -- transport ---------------------------------------------------------------------------------------

    def _redact(self, text: str | None) -> str | None:
        if text and self._token in text:
            return text.replace(self._token, "***")
        return text

    def _call(self, method: str, path: str, root: str, *, params=None, body: dict | None = None,
              xml_body: bytes | None = None) -> dict:
        """Send one request; return the decoded 200 answer or raise GrooveApiError / GrooveConnectionError."""
        headers = {"Authorization": f"Bearer {self._token}"}
        data = None
        if body is not None:
            if self.format == "xml":
                data = xml_body
                headers["Content-Type"] = "application/xml"
            else:
                data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
                headers["Content-Type"] = "application/json"
        started = time.monotonic()
        try:
            response = self._session.request(
                method, self.base_url + path, params=params, data=data, headers=headers, timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.Timeout:
            raise GrooveConnectionError("no answer within the timeout", method=method, path=path, timeout=True) from None
        except requests.RequestException as error:
            # The text of a requests exception names the URL, never the headers; shorten it anyway.
            reason = type(error).__name__
            raise GrooveConnectionError(f"connection failed ({reason})", method=method, path=path, timeout=False) from None
        try:
            content = response.content
        except requests.RequestException as error:
            raise GrooveConnectionError(
                f"the answer was cut off ({type(error).__name__})", method=method, path=path, timeout=False
            ) from None
        log.debug("%s %s -> %s in %.3fs", method, path, response.status_code, time.monotonic() - started)
        answer, unreadable = None, None
        if content:
            try:
                answer = self._decode(response, content, root)
            except _BodyUnreadable as error:
                unreadable = str(error)
        if response.status_code != 200:
            error = ErrorDetail.from_wire(answer.get("Error")) if answer else None
            if error is not None:
                error = ErrorDetail(error.code, self._redact(error.description), self._redact(error.message))
            raise GrooveApiError(
                status=response.status_code,
                error=error,
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
                method=method,
                path=path,
                detail=None if error is not None else (unreadable or f"{response.reason or 'no Groove Error in the answer'}"),
            )
        if answer is None:
            raise GrooveApiError(
                status=200, error=None, retry_after=None, method=method, path=path,
                detail=unreadable or "empty answer",
            )
        return answer

    def _decode(self, response, content: bytes, root: str) -> dict:
        mimetype = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        stripped = content.lstrip(b" \t\r\n\xef\xbb\xbf")
        if mimetype.endswith("xml") or (not mimetype.endswith("json") and stripped[:1] == b"<"):
            return read_xml_answer(content, root)
        return read_json_answer(content)

    # -- collection --------------------------------------------------------------------------------------

    def _track_action(self, operation: str, track_ids) -> TrackActionOutcome:
        track_ids = _check_ids(track_ids)
        xml_body = track_action_request_xml(track_ids, self.namespace) if self.format == "xml" else None
        answer = self._call(
            "POST", f"/1/content/music/collection/{operation}", "TrackActionResponse",
            body={"TrackIds": track_ids}, xml_body=xml_body,
        )
        return TrackActionOutcome(_track_results(answer.get("TrackActionResults")), ErrorDetail.from_wire(answer.get("Error")))

    def add(self, track_ids: Iterable[str]) -> TrackActionOutcome:
        """Add catalog tracks (``music.{GUID}``, ``music.isrc.{ISRC}``) to the collection: one result per id,
        in input order, each success with its collection entry id. The server takes at most 100 ids per call."""
        return self._track_action("add", track_ids)

    def delete(self, track_ids: Iterable[str]) -> TrackActionOutcome:
        """Remove collection entries (``music.AQQ...`` ids from browse or lookup): one result per id."""
        return self._track_action("delete", track_ids)

    def browse(self, kind: str, order_by: str | None = None, max_items: int | None = None) -> Browse:
        """Every item of the collection of ``kind`` (tracks, albums, artists, playlists, playlistsforyou), page
        after page. ``order_by`` is a Groove orderBy value (e.g. TrackTitle, CollectionDate); ``max_items`` is
        the page size (1..25). Nothing is sent until the first item is asked for."""
        kind = kind.lower()
        if kind not in BROWSE_KINDS:
            raise ValueError(f"kind must be one of {', '.join(BROWSE_KINDS)}")
        params = {}
        if order_by is not None:
            params["orderBy"] = order_by
        if max_items is not None:
            if type(max_items) is not int or not 1 <= max_items <= 25:
                raise ValueError("max_items (the page size) must be 1..25")
            params["maxItems"] = str(max_items)
        return Browse(self, kind, params)

    def lookup(self, ids: Iterable[str], *, source: str = "collection", extras: Iterable[str] = ()) -> Content:
        """Look up collection (or catalog) ids in one call: ids are joined with ``+`` in the path."""
        ids = _check_ids(ids)
        if not ids:
            raise ValueError("lookup needs at least one id")
        path = "/1/content/" + "+".join(quote(item, safe="-._~") for item in ids) + "/lookup"
        params = {"source": source}
        extras = list(extras)
        if extras:
            params["extras"] = "+".join(extras)
        answer = self._call("GET", path, "ContentResponse", params=params)
        lists = {}
        for member in _PAGED_LISTS:
            page = answer.get(member)
            items = page.get("Items") if isinstance(page, dict) else None
            lists[member.lower()] = tuple(item for item in items if isinstance(item, dict)) if isinstance(items, list) else ()
        return Content(error=ErrorDetail.from_wire(answer.get("Error")), **lists)

    # -- playlists ---------------------------------------------------------------------------------------

    def _playlist_action(self, operation: str, action: dict) -> PlaylistOutcome:
        xml_body = playlist_action_xml(action, self.namespace) if self.format == "xml" else None
        answer = self._call(
            "POST", f"/1/content/music/collection/playlists/{operation}", "PlaylistActionResponse",
            body=action, xml_body=xml_body,
        )
        result = answer.get("PlaylistActionResult")
        result = result if isinstance(result, dict) else {}
        is_published = result.get("IsPublished")
        return PlaylistOutcome(
            id=_str(result.get("Id")),
            name=_str(result.get("Name")),
            is_published=is_published if isinstance(is_published, bool) else None,
            track_results=_track_results(result.get("TrackActionResults")),
            error=ErrorDetail.from_wire(answer.get("Error")),
        )

    def create_playlist(self, name: str, *, is_published: bool | None = None,
                        track_ids: Iterable[str] = ()) -> PlaylistOutcome:
        """Create a playlist, optionally with catalog tracks (at most 100); the playlist is created even when
        some tracks fail (their results carry the errors)."""
        action: dict[str, Any] = {"Name": name}
        if is_published is not None:
            action["IsPublished"] = bool(is_published)
        track_ids = _check_ids(track_ids)
        if track_ids:
            action["TrackActions"] = [{"Id": track_id, "Action": "Add"} for track_id in track_ids]
        return self._playlist_action("create", action)

    def update_playlist(
        self,
        playlist_id: str,
        *,
        name: str | None = None,
        is_published: bool | None = None,
        add: Iterable[str] = (),
        delete: Iterable[str] = (),
        move: Iterable[str] = (),
        insert_before: str | None = None,
        collection_state_token: str | None = None,
    ) -> PlaylistOutcome:
        """Change one playlist: metadata, Add (catalog ids) and Delete (playlist entry ids) actions, or a
        reorder (``move`` entry ids to just before ``insert_before``, None = the end), which the server takes
        only alone. ``collection_state_token`` makes the server refuse (409) a stale update."""
        action: dict[str, Any] = {}
        if collection_state_token is not None:
            action["CollectionStateToken"] = collection_state_token
        action["Id"] = playlist_id
        if insert_before is not None:
            action["InsertBeforeTrackId"] = insert_before
        if is_published is not None:
            action["IsPublished"] = bool(is_published)
        if name is not None:
            action["Name"] = name
        track_actions = [{"Id": item, "Action": "Add"} for item in _check_ids(add)]
        track_actions += [{"Id": item, "Action": "Delete"} for item in _check_ids(delete)]
        track_actions += [{"Id": item, "Action": "Move"} for item in _check_ids(move)]
        if track_actions:
            action["TrackActions"] = track_actions
        return self._playlist_action("update", action)

    def delete_playlist(self, playlist_id: str) -> PlaylistOutcome:
        """Delete a playlist (``music.playlist.{guid}`` or ``music.AQM...``)."""
        return self._playlist_action("delete", {"Id": playlist_id})

    # -- profile -----------------------------------------------------------------------------------------

    def profile(self) -> Profile:
        """The user's profile: subscription, culture and collection state (its Token changes on every change)."""
        answer = self._call("GET", "/1/user/music/profile", "UserProfileResponse")
        collection = answer.get("Collection")
        subscription = answer.get("Subscription")
        has_subscription = answer.get("HasSubscription")
        return Profile(
            is_subscription_available_for_purchase=answer.get("IsSubscriptionAvailableForPurchase") is True,
            has_subscription=has_subscription if isinstance(has_subscription, bool) else None,
            culture=_str(answer.get("Culture")),
            collection=CollectionState(
                token=_str(collection.get("Token")),
                playlist_count=_int(collection.get("PlaylistCount")),
                remaining_playlist_count=_int(collection.get("RemainingPlaylistCount")),
                track_count=_int(collection.get("TrackCount")),
                remaining_track_count=_int(collection.get("RemainingTrackCount")),
            ) if isinstance(collection, dict) else None,
            subscription=SubscriptionState(
                type=_str(subscription.get("Type")),
                region=_str(subscription.get("Region")),
                end_date=_str(subscription.get("EndDate")),
            ) if isinstance(subscription, dict) else None,
            error=ErrorDetail.from_wire(answer.get("Error")),
        )


def _int(value):
    return value if type(value) is int else 0
