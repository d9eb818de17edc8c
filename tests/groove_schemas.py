"""Live Groove answers checked against the published contract files in ``schemas/``, and request helpers.

- ``validate(response, type_name)``: the answer's body against the JSON Schema ``schemas/json/<type>.schema.json``
  or, for XML, the XSD of its root namespace ``schemas/xml/<2013|2016>/<type>.xsd``; returns the decoded JSON
  document or the parsed XML root. JSONP answers are unwrapped first.
- ``children(element)``: local names of an element's children, in document order (DataContract order).
- ``find(element, *path)``: the descendant at a path of local names, in the element's namespace.
- ``call(client, method, url, type_name, ...)``: send a request, validate the answer, return ``(response, body)``.
"""

import functools
import glob
import json
import os
import re

from jsonschema import Draft202012Validator
from lxml import etree
from referencing import Registry, Resource

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCHEMAS = os.path.join(ROOT, "schemas")
NS_2013 = "http://schemas.microsoft.com/xboxmusic/2013/10/platform"
NS_2016 = "http://schemas.microsoft.com/groovemusic/2016/09/api"
FOLDERS = {NS_2013: "2013", NS_2016: "2016"}
JSONP = re.compile(rb"^/\*\*/([A-Za-z_$][\w$.]*)\((.*)\);$", re.S)


@functools.cache
def _registry_and_schemas():
    documents = {}
    for path in glob.glob(os.path.join(SCHEMAS, "json", "*.schema.json")):
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
        documents[os.path.basename(path)[: -len(".schema.json")]] = document
    registry = Registry().with_resources(
        (document["$id"], Resource.from_contents(document)) for document in documents.values()
    )
    return registry, documents


@functools.cache
def json_validator(type_name):
    registry, documents = _registry_and_schemas()
    Draft202012Validator.check_schema(documents[type_name])
    return Draft202012Validator(documents[type_name], registry=registry)


@functools.cache
def xml_schema(folder, type_name):
    return etree.XMLSchema(etree.parse(os.path.join(SCHEMAS, "xml", folder, f"{type_name}.xsd")))


def validate_json(body, type_name):
    document = json.loads(body)
    problems = [f"{list(error.path)}: {error.message}" for error in json_validator(type_name).iter_errors(document)]
    assert not problems, "; ".join(problems)
    return document


def validate_xml(body, type_name):
    root = etree.fromstring(body)
    name = etree.QName(root)
    assert name.localname == type_name, name.localname
    assert name.namespace in FOLDERS, name.namespace
    schema = xml_schema(FOLDERS[name.namespace], type_name)
    assert schema.validate(root), str(schema.error_log)
    return root


def validate(response, type_name):
    """The body of a Flask test response validated by its Content-Type; JSON document or XML root."""
    content_type = response.headers["Content-Type"]
    body = response.get_data()
    if content_type == "application/xml; charset=utf-8":
        return validate_xml(body, type_name)
    if content_type == "application/javascript; charset=utf-8":
        match = JSONP.match(body)
        assert match, body[:200]
        body = match.group(2)
    else:
        assert content_type == "application/json; charset=utf-8", content_type
    return validate_json(body, type_name)


def children(element):
    return [etree.QName(child).localname for child in element]


def find(element, *path):
    namespace = etree.QName(element).namespace
    for name in path:
        element = element.find(f"{{{namespace}}}{name}")
        if element is None:
            return None
    return element


def find_all(element, *path):
    """Every element at a path of local names (the last step may match several)."""
    namespace = etree.QName(element).namespace
    return element.findall("/".join(f"{{{namespace}}}{name}" for name in path))


def call(client, method, url, type_name, *, headers=None, json_body=None, data=None, content_type=None):
    """One request through the Flask test client; the answer is validated against its schema."""
    response = client.open(url, method=method, headers=headers or {}, json=json_body, data=data,
                           content_type=content_type)
    return response, validate(response, type_name)
