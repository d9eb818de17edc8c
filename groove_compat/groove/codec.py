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


def read_json(body, type_name):
    """Parse a JSON request body into the plain structure of ``type_name``."""
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
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
    lookup = member_lookup(type_name)
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
    for element in root.iter():
        if not isinstance(element.tag, str):
            raise BodyError("XML entity references are not accepted")
        if element.tag.startswith("{") and element.tag[1:].split("}", 1)[0] in XINCLUDE_NAMESPACES:
            raise BodyError("XInclude is not accepted")
    qname = etree.QName(root)
    if qname.namespace not in (NS_2013, NS_2016, None):
        raise BodyError(
            f"The root element must be in the namespace {NS_2013} or {NS_2016}, not {qname.namespace}"
        )
    if qname.localname != type_name:
        raise BodyError(f"The root element must be {type_name}, not {qname.localname}")
    return _xml_object(root, type_name, 1), qname.namespace


_NIL = "{%s}nil" % NS_INSTANCE


def _is_nil(element):
    return element.get(_NIL) in ("true", "1")


def _xml_object(element, type_name, depth):
    if depth > MAX_XML_DEPTH:
        raise BodyError("The request body is nested too deeply")
    contract = CONTRACTS[type_name]
    lookup = member_lookup(type_name)
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
        else:  # a list of strings
            items = []
            for item in child:
                if len(item):
                    raise BodyError(f"The items of {member} must hold text, not elements")
                items.append(None if _is_nil(item) else (item.text or ""))
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


def encode_json(type_name, data):
    """UTF-8 JSON of a response object: compact, members in Json.NET order, null members omitted."""
    text = json.dumps(_json_object(type_name, data), ensure_ascii=False, separators=(",", ":"))
    # A lone surrogate (from a \\ud800 escape in the request) cannot be UTF-8: write U+003F instead.
    return text.encode("utf-8", "replace")


_XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_XML_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#xD;"})


def xml_text(value):
    """Escape a string for XML text content; characters XML 1.0 cannot carry become U+FFFD."""
    return _XML_INVALID.sub("\ufffd", value).translate(_XML_ESCAPES)


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


def encode_xml(type_name, data, namespace):
    """UTF-8 DataContract XML of a response object in ``namespace``, as DataContractSerializer writes it."""
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
