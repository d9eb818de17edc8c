"""Stand-alone JSON Schema files (draft 2020-12) cut from the OpenAPI document's component schemas.

OpenAPI 3.1 component schemas are JSON Schema 2020-12 already; what a stand-alone file needs is its own
``$schema``, ``$id`` and ``title``, and ``$ref``s that name sibling files instead of ``#/components/...``.
Generating the files from the document (``groove-compat openapi --json-schemas DIR``) keeps them from drifting
from the code; a test compares the checked-in ``schemas/json/v1/`` with what this module produces.
"""

import json
import os

BASE_ID = "https://groove-compat.invalid/schemas/json/"
COMPONENT_REF = "#/components/schemas/"
# OpenAPI-only annotations that JSON Schema 2020-12 does not define (``xml``, the deprecated ``example``).
OPENAPI_ONLY_KEYWORDS = frozenset({"xml", "example", "discriminator", "externalDocs"})


def _convert(node, prefix):
    if isinstance(node, list):
        return [_convert(item, prefix) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {}
    for key, value in node.items():
        if key in OPENAPI_ONLY_KEYWORDS:
            continue
        if key == "$ref" and isinstance(value, str) and value.startswith(COMPONENT_REF):
            name = value[len(COMPONENT_REF) :]
            if not name.startswith(prefix):
                raise ValueError(f"{value} is outside the {prefix!r} components and has no file here")
            converted[key] = f"{name[len(prefix):]}.schema.json"
        elif key == "properties" and isinstance(value, dict):
            # Member names are data, not keywords: convert their schemas, keep every name.
            converted[key] = {member: _convert(schema, prefix) for member, schema in value.items()}
        else:
            converted[key] = _convert(value, prefix)
    return converted


def json_schemas(document, prefix="v1.", folder="v1/"):
    """``{file name: schema}`` for each component schema of ``document`` whose name starts with ``prefix``.

    Files are named ``<Object>.schema.json`` (the component name without ``prefix``), have ``$id``
    ``BASE_ID + folder + file name``, and refer to each other by relative file name."""
    schemas = {}
    for name, component in document["components"]["schemas"].items():
        if not name.startswith(prefix):
            continue
        short = name[len(prefix) :]
        file_name = f"{short}.schema.json"
        body = _convert(component, prefix)
        schemas[file_name] = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"{BASE_ID}{folder}{file_name}",
            "title": short,
            **body,
        }
    return dict(sorted(schemas.items()))


def schema_text(schema):
    """The one serialisation of a schema file (as checked in)."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def write_json_schemas(document, directory, prefix="v1.", folder="v1/"):
    """Write the files of ``json_schemas`` into ``directory`` (created if missing); return their names.
    Files of the same suffix that the document no longer produces are removed, so the folder matches it."""
    os.makedirs(directory, exist_ok=True)
    schemas = json_schemas(document, prefix=prefix, folder=folder)
    for stale in os.listdir(directory):
        if stale.endswith(".schema.json") and stale not in schemas:
            os.remove(os.path.join(directory, stale))
    for file_name, schema in schemas.items():
        with open(os.path.join(directory, file_name), "w", encoding="utf-8") as handle:
            handle.write(schema_text(schema))
    return list(schemas)
