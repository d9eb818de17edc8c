"""JSON and XML codecs of the Groove dialect.

Reading: a request body (JSON or DataContract XML in either namespace) becomes the same plain structure,
``{member: value}`` with canonical member names, which one marshmallow schema then validates.

Writing: one response model (nested dicts of canonical members; None means omitted), two encoders. The XML
encoder writes text directly in DataContract order, without building an element tree.
"""

import datetime
import json
import re
import threading

from lxml import etree

from .contracts import CONTRACTS, NS_2013, NS_2016, NS_ARRAYS, NS_INSTANCE, member_lookup

try:  # a fast JSON library for the common bodies; every answer is the one the standard library gives
    import orjson
except ImportError:  # pragma: no cover - orjson is a dependency; without it the standard paths serve alone
    orjson = None


class BodyError(Exception):
    """The body cannot be read as the request object; ``message`` says why in words a client can act on."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


MAX_XML_DEPTH = 16
XINCLUDE_NAMESPACES = ("http://www.w3.org/2001/XInclude", "http://www.w3.org/2003/XInclude")


# ---------------------------------------------------------------------------------------------------------
# Reading JSON


class _DuplicateMember(ValueError):
    pass


def _no_duplicate_members(pairs):
    result = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateMember(key)
        result[key] = value
    return result


def _no_constants(name):
    raise ValueError(f"{name} is not valid JSON")


_json_decoder = json.JSONDecoder(object_pairs_hook=_no_duplicate_members, parse_constant=_no_constants)


_FAST_JSON_DEPTH = 32


def _fast_json_document(body):
    """The document in ``body`` read by orjson, or None when the standard decoder must read it.

    orjson gives exactly the standard decoder's document for UTF-8 text of objects, arrays, strings, true,
    false and null, but it keeps the last of two members with one name and reads numbers its own way (large
    integers as floats). So a document holding a number goes the standard way, and so does one where a
    member may be named twice: every member has exactly one colon outside strings, colons inside strings
    only add to the count, so a body holding no more colons than the parsed document has members names
    no member twice. Everything orjson refuses (NaN, lone surrogates, other encodings, deep nesting, bad
    syntax) also goes the standard way, which words the error, and so does deep nesting, which orjson
    reads further than the standard decoder's recursion limit allows.
    """
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    members = 0
    pending = [(document, 0)]
    while pending:
        value, depth = pending.pop()
        if depth > _FAST_JSON_DEPTH:
            return None  # deep nesting: the standard decoder decides whether it is too deep
        kind = type(value)
        if kind is dict:
            members += len(value)
            pending.extend((item, depth + 1) for item in value.values())
        elif kind is list:
            for item in value:
                if type(item) is not str:
                    pending.append((item, depth + 1))
        elif not (kind is str or kind is bool or value is None):
            return None  # a number
    if body.count(b":") != members:
        return None
    return document


def read_json(body, type_name):
    """Parse a JSON request body into the plain structure of ``type_name``."""
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
    if orjson is not None:
        document = _fast_json_document(body)
        if document is not None:
            return canonical_members(document, type_name)
    try:
        text = body.decode(json.detect_encoding(body))
    except (UnicodeDecodeError, LookupError):
        raise BodyError("The request body is not valid UTF-8") from None
    try:
        document = _json_decoder.decode(text)
    except _DuplicateMember as duplicate:
        raise BodyError(f"The request body names the member '{duplicate.args[0]}' twice") from None
    except RecursionError:
        raise BodyError("The request body is nested too deeply") from None
    except ValueError as error:
        raise BodyError(f"The request body is not valid JSON: {error}") from None
    return canonical_members(document, type_name)


def canonical_members(document, type_name):
    """Rename members to their canonical spelling (matched case-insensitively); keep unknown ones apart."""
    if not isinstance(document, dict):
        raise BodyError(f"The request body must be a JSON object ({type_name})")
    lookup = _member_lookup(type_name)
    contract = CONTRACTS[type_name]
    result = {}
    for key, value in document.items():
        member = lookup.get(key.lower())
        if member is None:
            continue  # unknown members are ignored, as Json.NET and DataContract readers do
        if member in result:
            raise BodyError(f"The request body names the member '{member}' twice")
        kind = contract.types.get(member)
        if isinstance(kind, str) and isinstance(value, dict):
            value = canonical_members(value, kind)
        elif isinstance(kind, list) and isinstance(value, list):
            value = [canonical_members(item, kind[0]) if isinstance(item, dict) else item for item in value]
        result[member] = value
    return result


_member_lookups = {}


def _member_lookup(type_name):
    """``member_lookup`` made once per type (it is read for every request body)."""
    lookup = _member_lookups.get(type_name)
    if lookup is None:
        lookup = _member_lookups[type_name] = member_lookup(type_name)
    return lookup


# ---------------------------------------------------------------------------------------------------------
# Reading XML

_parsers = threading.local()


def _parser():
    parser = getattr(_parsers, "parser", None)
    if parser is None:
        # No entity is resolved, no DTD loaded, no network or file opened; huge trees are refused.
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
            collect_ids=False,
        )
        _parsers.parser = parser
    return parser


def read_xml(body, type_name):
    """Parse a DataContract XML body into ``(plain structure, root namespace)``.

    Members are matched by local name in any namespace (both Groove namespaces and none are read); list
    items by any element name, so both ``<d2p1:string>`` (seed 003) and ``<TrackId>`` (SDK) items work.
    """
    if body[:2] in (b"<\x00", b"\x00<"):
        # UTF-16 without a byte-order mark (which XML requires, and DataContract writers may omit): say it.
        body = (b"\xff\xfe" if body[0] == 0x3C else b"\xfe\xff") + body
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise BodyError("XML with a DOCTYPE or entity declarations is not accepted")
    try:
        root = etree.fromstring(body, _parser())
    except etree.XMLSyntaxError as error:
        raise BodyError(f"The request body is not well-formed XML: {error.msg}") from None
    except ValueError as error:
        raise BodyError(f"The request body is not well-formed XML: {error}") from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise BodyError("XML with a DOCTYPE or entity declarations is not accepted")
    # The first entity reference or XInclude element in document order, found by lxml itself (comments and
    # processing instructions are already gone): a Python loop over every element cost more than the parse.
    for element in root.iter(etree.Entity, *_XINCLUDE_ANY):
        if not isinstance(element.tag, str):
            raise BodyError("XML entity references are not accepted")
        raise BodyError("XInclude is not accepted")
    qname = etree.QName(root)
    if qname.namespace not in (NS_2013, NS_2016, None):
        raise BodyError(
            f"The root element must be in the namespace {NS_2013} or {NS_2016}, not {qname.namespace}"
        )
    if qname.localname != type_name:
        raise BodyError(f"The root element must be {type_name}, not {qname.localname}")
    return _xml_object(root, type_name, 1), qname.namespace


def root_namespace(body):
    """The namespace of an XML body's root element when it is a Groove namespace, else None.

    Reads only up to the root's start tag (the rest may be missing or malformed) and resolves nothing:
    used to answer an XML request in its own namespace when the request fails before or while parsing.
    """
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        return None
    parser = etree.XMLPullParser(
        events=("start",), resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        parser.feed(body)
        for _, element in parser.read_events():
            namespace = etree.QName(element).namespace
            return namespace if namespace in (NS_2013, NS_2016) else None
    except (etree.XMLSyntaxError, ValueError):
        pass
    return None


_NIL = "{%s}nil" % NS_INSTANCE
_XINCLUDE_ANY = tuple("{%s}*" % namespace for namespace in XINCLUDE_NAMESPACES)


def _is_nil(element):
    return element.get(_NIL) in ("true", "1")


def _xml_object(element, type_name, depth):
    if depth > MAX_XML_DEPTH:
        raise BodyError("The request body is nested too deeply")
    contract = CONTRACTS[type_name]
    lookup = _member_lookup(type_name)
    result = {}
    for child in element:
        member = lookup.get(etree.QName(child).localname.lower())
        if member is None or member in result:
            continue
        if _is_nil(child):
            result[member] = None
            continue
        kind = contract.types.get(member)
        if kind is None:
            if len(child):
                raise BodyError(f"The element {member} must hold text, not elements")
            result[member] = child.text or ""
        elif isinstance(kind, str):
            result[member] = _xml_object(child, kind, depth + 1)
        elif isinstance(kind, list):
            result[member] = [_xml_object(item, kind[0], depth + 2) for item in child]
        else:  # a list of strings, its items checked and read in one pass (two ElementPath find()s
            # before the read walked the items three times: 55 against 25 us for 100 items)
            items = []
            append = items.append
            for item in child:
                if len(item):  # an item holding an element
                    raise BodyError(f"The items of {member} must hold text, not elements")
                append(None if _is_nil(item) else (item.text or ""))
            result[member] = items
    return result


# ---------------------------------------------------------------------------------------------------------
# Writing


def format_duration_json(value):
    """TimeSpan the Json.NET way: ``hh:mm:ss``, ``d.hh:mm:ss`` past a day."""
    total = int(value.total_seconds())
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    text = f"{hours:02d}:{minutes:02d}:{seconds:02d}"
    return f"{days}.{text}" if days else text


def format_duration_xml(value):
    """TimeSpan the DataContract way: xs:duration such as ``PT6M7S``."""
    total = int(value.total_seconds())
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    text = "P" + (f"{days}D" if days else "") + "T"
    text += (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    text += f"{seconds}S" if (seconds or text.endswith("T")) else ""
    return text


def format_datetime(value):
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _json_scalar(value):
    if isinstance(value, datetime.timedelta):
        return format_duration_json(value)
    if isinstance(value, datetime.datetime):
        return format_datetime(value)
    return value


def _json_object(type_name, data):
    contract = CONTRACTS[type_name]
    result = {}
    for member in contract.json:
        value = data.get(member)
        if value is None:
            continue
        kind = contract.types.get(member)
        if kind is None:
            result[member] = _json_scalar(value)
        elif isinstance(kind, str):
            result[member] = _json_object(kind, value)
        elif isinstance(kind, list):
            result[member] = [_json_object(kind[0], item) for item in value]
        else:
            result[member] = list(value)
    return result


def _successes(data):
    """``[(InputId, Id), ...]`` when ``data`` is a TrackActionResponse of successes only (the answer to
    almost every batch), else None."""
    if len(data) != 1:
        return None
    results = data.get("TrackActionResults")
    if type(results) is not list:
        return None
    pairs = []
    for item in results:
        input_id = item.get("InputId")
        entry_id = item.get("Id")
        if type(input_id) is not str or type(entry_id) is not str or len(item) != 2:
            return None
        pairs.append((input_id, entry_id))
    return pairs


def _encode_successes_json(pairs):
    try:
        return orjson.dumps({"TrackActionResults": [{"InputId": input_id, "Id": entry_id} for input_id, entry_id in pairs]})
    except TypeError:  # a lone surrogate: the general path writes it as '?'
        return None


def encode_json(type_name, data):
    """UTF-8 JSON of a response object: compact, members in Json.NET order, null members omitted."""
    if type_name == "TrackActionResponse" and orjson is not None:
        # The same bytes as below (orjson escapes exactly as json.dumps(ensure_ascii=False) does), written
        # without walking the contract for each of the 100 results.
        pairs = _successes(data)
        if pairs is not None:
            body = _encode_successes_json(pairs)
            if body is not None:
                return body
    text = json.dumps(_json_object(type_name, data), ensure_ascii=False, separators=(",", ":"))
    # A lone surrogate (from a \\ud800 escape in the request) cannot be UTF-8: write U+003F instead.
    return text.encode("utf-8", "replace")


_XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_XML_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#xD;"})
# Any character xml_text would change: when none is present, text is written as it is.
_XML_NEEDS_ESCAPING = re.compile("[&<>\r]|[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# The same two sets for ASCII text, the usual case: a plain character set is scanned about five times as
# fast as one with ranges beyond the BMP (17 vs 86 us over the 8 KB of a 100-id answer's ids).
_ASCII_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
_ASCII_NEEDS_ESCAPING = re.compile("[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f]")


def xml_text(value):
    """Escape a string for XML text content; characters XML 1.0 cannot carry become U+FFFD."""
    invalid = _ASCII_INVALID if value.isascii() else _XML_INVALID
    return invalid.sub("\ufffd", value).translate(_XML_ESCAPES)


def needs_xml_escaping(text):
    """Whether ``xml_text`` would change ``text``."""
    return (_ASCII_NEEDS_ESCAPING if text.isascii() else _XML_NEEDS_ESCAPING).search(text) is not None


def _xml_scalar(value):
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return xml_text(value)
    if isinstance(value, datetime.timedelta):
        return format_duration_xml(value)
    if isinstance(value, datetime.datetime):
        return format_datetime(value)
    return str(value)


def _write_xml_object(type_name, data, namespace, out):
    contract = CONTRACTS[type_name]
    types = contract.types
    for member in contract.xml_order(namespace):
        value = data.get(member)
        if value is None:
            continue
        kind = types.get(member)
        if kind is None:
            out.append(f"<{member}>{_xml_scalar(value)}</{member}>")
        elif isinstance(kind, str):
            out.append(f"<{member}>")
            _write_xml_object(kind, value, namespace, out)
            out.append(f"</{member}>")
        elif isinstance(kind, list):
            item_name = kind[0]
            out.append(f"<{member}>")
            for item in value:
                out.append(f"<{item_name}>")
                _write_xml_object(item_name, item, namespace, out)
                out.append(f"</{item_name}>")
            out.append(f"</{member}>")
        else:
            item_name = kind[1]
            if item_name == "string":  # plain List<string>: items in the arrays namespace (contract 3.2)
                out.append(f'<{member} xmlns:d2p1="{NS_ARRAYS}">')
                out.extend(f"<d2p1:string>{xml_text(item)}</d2p1:string>" for item in value)
            else:
                out.append(f"<{member}>")
                out.extend(f"<{item_name}>{xml_text(item)}</{item_name}>" for item in value)
            out.append(f"</{member}>")


def _encode_successes_xml(pairs, namespace):
    """What the general writer gives for a TrackActionResponse of successes: per result ``Id`` then
    ``InputId`` (DataContract order), text escaped only when some text needs it (checked once for all)."""
    if needs_xml_escaping("".join(input_id + entry_id for input_id, entry_id in pairs)):
        pairs = [(xml_text(input_id), xml_text(entry_id)) for input_id, entry_id in pairs]
    results = "".join(
        f"<TrackActionResult><Id>{entry_id}</Id><InputId>{input_id}</InputId></TrackActionResult>"
        for input_id, entry_id in pairs
    )
    return (
        f'<TrackActionResponse xmlns:i="{NS_INSTANCE}" xmlns="{namespace}">'
        f"<TrackActionResults>{results}</TrackActionResults></TrackActionResponse>"
    ).encode("utf-8")


def encode_xml(type_name, data, namespace):
    """UTF-8 DataContract XML of a response object in ``namespace``, as DataContractSerializer writes it."""
    if type_name == "TrackActionResponse":
        pairs = _successes(data)
        if pairs is not None:
            return _encode_successes_xml(pairs, namespace)
    out = [f'<{type_name} xmlns:i="{NS_INSTANCE}" xmlns="{namespace}">']
    _write_xml_object(type_name, data, namespace, out)
    out.append(f"</{type_name}>")
    return "".join(out).encode("utf-8")


def encode_error_only(type_name, error, fmt, namespace):
    """An answer holding only ``Error``, under the endpoint's root, for any response type."""
    if fmt == "xml":
        out = [f'<{type_name} xmlns:i="{NS_INSTANCE}" xmlns="{namespace}"><Error>']
        _write_xml_object("Error", error, namespace, out)
        out.append(f"</Error></{type_name}>")
        return "".join(out).encode("utf-8")
    return json.dumps({"Error": _json_object("Error", error)}, ensure_ascii=False, separators=(",", ":")).encode(
        "utf-8", "replace"
    )
