"""Validation of live answers against the published contract files in ``schemas/``.

- ``validate_xml(body, type_name)``: the XSD of the root's namespace (``schemas/xml/<2013|2016>/<type>.xsd``);
  returns the parsed root element.
- ``validate_json(body, type_name)``: the JSON Schema ``schemas/json/<type>.schema.json`` (``v1/<Object>`` for the
  v1 dialect's), with a
  ``referencing`` registry built from every file in ``schemas/json`` so relative ``$ref``s resolve; returns the
  decoded document.
- ``validate_answer(response, type_name)``: either of the above, chosen by the answer's Content-Type; returns
  ``("json", document)`` or ``("xml", root)``.
- ``element_names(element)``: local names of an element's children, in document order (DataContract order).
- ``assert_entry_id_shape(entry_id, catalog_id)``: a collection entry id in the shape of contract section 5.
"""

import base64
import functools
import glob
import json
import os
import uuid

from jsonschema import Draft202012Validator
from lxml import etree
from referencing import Registry, Resource

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCHEMAS = os.path.join(ROOT, "schemas")
JSON_SCHEMA_ID = "https://groove-compat.invalid/schemas/json/{}.schema.json"

NS_2013 = "http://schemas.microsoft.com/xboxmusic/2013/10/platform"
NS_2016 = "http://schemas.microsoft.com/groovemusic/2016/09/api"
NS_ARRAYS = "http://schemas.microsoft.com/2003/10/Serialization/Arrays"
NS_INSTANCE = "http://www.w3.org/2001/XMLSchema-instance"
FOLDER_OF_NAMESPACE = {NS_2013: "2013", NS_2016: "2016"}


@functools.cache
def _json_documents():
    documents = {}
    for path in sorted(glob.glob(os.path.join(SCHEMAS, "json", "**", "*.json"), recursive=True)):
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
        documents[document["$id"]] = document
    return documents


@functools.cache
def json_validator(type_name):
    documents = _json_documents()
    registry = Registry().with_resources(
        (identifier, Resource.from_contents(document)) for identifier, document in documents.items()
    )
    schema = documents[JSON_SCHEMA_ID.format(type_name)]
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, registry=registry)


@functools.cache
def xml_schema(folder, type_name):
    return etree.XMLSchema(etree.parse(os.path.join(SCHEMAS, "xml", folder, f"{type_name}.xsd")))


def validate_json(body, type_name="TrackActionResponse"):
    """Decode ``body`` (bytes, str or an already decoded object) and validate it; return the document."""
    document = json.loads(body) if isinstance(body, (bytes, str)) else body
    errors = sorted(json_validator(type_name).iter_errors(document), key=lambda error: list(error.path))
    assert not errors, "; ".join(f"{list(error.path)}: {error.message}" for error in errors)
    return document


def validate_xml(body, type_name="TrackActionResponse"):
    """Parse ``body`` and validate it against the XSD of its root namespace; return the root element."""
    root = etree.fromstring(body)
    qname = etree.QName(root)
    assert qname.localname == type_name, f"root is {qname.localname}, expected {type_name}"
    assert qname.namespace in FOLDER_OF_NAMESPACE, f"root namespace {qname.namespace!r} is not a Groove namespace"
    schema = xml_schema(FOLDER_OF_NAMESPACE[qname.namespace], type_name)
    assert schema.validate(root), str(schema.error_log)
    return root


def validate_answer(response, type_name="TrackActionResponse"):
    """Validate a Flask test response or a requests response by its Content-Type."""
    content_type = response.headers.get("Content-Type", "")
    body = response.data if hasattr(response, "data") else response.content
    if content_type.startswith("application/xml"):
        return "xml", validate_xml(body, type_name)
    assert content_type.startswith("application/json"), f"unexpected Content-Type {content_type!r}"
    return "json", validate_json(body, type_name)


def element_names(element):
    return [etree.QName(child).localname for child in element]


def child(element, name):
    """The child of ``element`` with local name ``name`` in the element's own namespace, or None."""
    namespace = etree.QName(element).namespace
    return element.find(f"{{{namespace}}}{name}" if namespace else name)


def decode_entry_id(entry_id):
    assert entry_id.startswith("music."), entry_id
    text = entry_id[len("music."):]
    assert set(text) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), text
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def assert_entry_id_shape(entry_id, catalog_id):
    """Contract section 5: ``music.AQQ`` + 34 base64url characters after ``music.``, decoding to 25 bytes
    ``01 04 1F`` + 16 bytes + the first 6 bytes of the catalog GUID in .NET byte order."""
    assert entry_id.startswith("music.AQQ"), entry_id
    assert len(entry_id) == len("music.") + 34, entry_id
    raw = decode_entry_id(entry_id)
    assert len(raw) == 25
    assert raw[:3] == b"\x01\x04\x1f"
    guid = uuid.UUID(catalog_id[len("music."):])
    assert raw[19:] == guid.bytes_le[:6], (raw[19:].hex(), guid.bytes_le[:6].hex())
