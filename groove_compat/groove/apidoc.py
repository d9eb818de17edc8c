"""How the Groove dialect appears in the OpenAPI document.

- Request bodies: the marshmallow ``<Name>Schema`` of ``schemas.py`` (the one validation path), with the
  XML names of the contract added.
- Response bodies: generated from ``contracts.py``, the single source of the response objects: members in
  JSON order, member kinds, XML element names, the 2013 namespace, and the 2016 namespace as the alternative
  (``x-xml-namespaces``, ``x-xml-order`` and the XML examples of both).
- Errors: codes from the ``errors.CATALOG`` as the view declares them, plus the ones this dialect's edge
  (``web.py``) answers for every route; each error status has one example per code, written by the codec.
- Examples declared on a view are encoded by the codec, so they are the server's own bytes for that data.
"""

import json
from dataclasses import replace
from http import HTTPStatus

from apispec.ext.marshmallow import MarshmallowPlugin

from ..openapi import Dialect, DocumentationError
from ..openapi.generator import error_list
from . import codec, errors, schemas, web
from .contracts import CONTRACTS, ERROR_COMPANIONS, NAMESPACES, NS_2013, NS_2016, NS_ARRAYS

SCALAR_SCHEMAS = {
    None: {"type": "string"},
    "integer": {"type": "integer", "format": "int32"},
    "boolean": {"type": "boolean"},
    "date-time": {"type": "string", "format": "date-time"},
    "duration": {
        "type": "string",
        "description": "TimeSpan: `hh:mm:ss` (`d.hh:mm:ss` past a day) in JSON, xs:duration (`PT6M7S`) in XML.",
    },
}

JSONP_ANSWER = "With `jsonp=name`: the JSON answer as `/**/name(...);`."

COMMON_PARAMETERS = {
    "contentType": {
        "description": (
            "Answer format, `json` or `xml`; overrides `Accept`, for clients that cannot set headers. "
            "Without it: `Accept`, then the request body's format, then JSON."
        ),
        "schema": {"type": "string", "enum": ["json", "xml"]},
    },
    "jsonp": {
        "description": (
            "A JavaScript callback name: a JSON answer is sent as `/**/name(...);` with Content-Type "
            "`application/javascript`."
        ),
        "schema": {"type": "string", "pattern": web.JSONP_CALLBACK.pattern},
    },
    "language": {
        "description": (
            "Language of the legacy service (`fr` or `fr-FR`); sets the profile's `Culture`, without effect on "
            "collections."
        ),
        "schema": {"type": "string", "pattern": web.LANGUAGE.pattern},
    },
    "country": {
        "description": (
            "Two-letter country of the legacy service (`FR`); sets the profile's `Culture`, without effect on "
            "collections."
        ),
        "schema": {"type": "string", "pattern": web.COUNTRY.pattern},
    },
    "accessToken": {
        "description": (
            "Legacy developer token (`Bearer <token>`, URL-encoded) that ADM-era clients send next to the user's "
            "`Authorization` header; accepted and ignored. The user token in `Authorization` is what counts."
        ),
        "schema": {"type": "string"},
    },
}

DESCRIPTION = """\
The legacy Groove Music collection API, as its clients expect it:

- Paths start with `/1/`; their fixed words (`collection/Add`, `Collection/Tracks/browse`) and the names of \
query parameters are matched case-insensitively, as the .NET SDK needs.
- Bodies are JSON or DataContract XML. XML requests are read in either namespace, \
`http://schemas.microsoft.com/xboxmusic/2013/10/platform` (the seed's, default) or \
`http://schemas.microsoft.com/groovemusic/2016/09/api` (the 2016 SDK's); an XML answer uses the request's \
namespace, else the one set by `GROOVE_COMPAT_XML_DEFAULT_NAMESPACE`. XML elements come in DataContract order.
- Answer format: `contentType` parameter, then `Accept`, then the request body's format, then JSON. \
Answers of 1 KiB and more are gzip-compressed when the client accepts it.
- Every answer, errors included, is the endpoint's response object; a whole-request failure holds only `Error`. \
Error codes are written with hyphens (`COLLECTION-INVALID-ID`), or with underscores when \
`GROOVE_COMPAT_ERROR_CODE_STYLE=underscore`; both spellings are read."""

# Messages that the edge always writes with a code, so that their examples show them.
FIXED_MESSAGES = {"INVALID_AUTHORIZATION_HEADER": errors.MESSAGE_USER_AUTHENTICATION}


def _respelled(value, style):
    """Example data with every ErrorCode in the deployment's spelling."""
    if isinstance(value, list):
        return [_respelled(item, style) for item in value]
    if not isinstance(value, dict):
        return value
    result = {key: _respelled(item, style) for key, item in value.items()}
    if isinstance(result.get("ErrorCode"), str):
        result["ErrorCode"] = errors.spell(errors.canonical_code(result["ErrorCode"]), style)
    return result


def _ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def _xml_order(contract):
    return {"2013": list(contract.xml_order(NS_2013)), "2016": list(contract.xml_order(NS_2016))}


class GrooveDialect(Dialect):
    name = "Groove"
    prefix = "/1/"
    description = DESCRIPTION
    security = ("bearer",)
    media_types = ("application/json", "application/xml")
    order = 10

    def setup(self, spec, app):
        for plugin in spec.plugins:
            if isinstance(plugin, MarshmallowPlugin):  # xs:boolean text or a JSON boolean: a boolean to clients
                plugin.map_to_openapi_type(schemas.XmlBoolean, "boolean", None)
        for name, parameter in COMMON_PARAMETERS.items():
            spec.components.parameter(name, "query", {"name": name, "required": False, **parameter})

    def common_parameters(self, route):
        return list(COMMON_PARAMETERS)  # component names: apispec writes them as $refs

    def extra_response_content(self, route):
        # With `jsonp`, any answer (errors too) is the JSON answer wrapped in a call.
        return {"application/javascript": {"schema": {"type": "string", "description": JSONP_ANSWER}}}

    def path_parameter(self, name):
        if name == "namespace":
            return {
                "description": "The media namespace: `music`, the only one (another answers 404).",
                "schema": {"type": "string", "enum": ["music"]},
            }
        return {}

    # --- bodies ---------------------------------------------------------------------------------------
    def body_schema(self, spec, app, body, *, request):
        if not isinstance(body, str):
            return super().body_schema(spec, app, body, request=request)
        if body not in CONTRACTS:
            raise DocumentationError(f"{body!r} is not a contract of groove/contracts.py")
        if request:
            self._request_component(spec, body)
        else:
            self._contract_component(spec, body)
        return _ref(body)

    def _request_component(self, spec, name):
        """The marshmallow schema of a request object, with the contract's XML names added."""
        schema = getattr(schemas, f"{name}Schema", None)
        if schema is None:
            raise DocumentationError(f"request {name}: groove/schemas.py has no {name}Schema")
        if name in spec.components.schemas:
            return
        spec.components.schema(name, schema=schema)
        self._annotate_xml(spec, name)

    def _annotate_xml(self, spec, name):
        component = spec.components.schemas[name]
        contract = CONTRACTS[name]
        component["xml"] = {"name": name, "namespace": NS_2013}
        component["x-xml-namespaces"] = dict(NAMESPACES)
        component["x-xml-order"] = _xml_order(contract)
        for member, kind in contract.types.items():
            schema = component.get("properties", {}).get(member)
            if schema is None:
                continue
            if isinstance(kind, tuple):
                schema["xml"] = {"wrapped": True}
                schema.setdefault("items", {})["xml"] = self._string_item_xml(kind[1])
            elif isinstance(kind, list):
                schema["xml"] = {"wrapped": True}
                if kind[0] in spec.components.schemas and kind[0] in CONTRACTS:
                    self._annotate_xml(spec, kind[0])
            elif isinstance(kind, str) and kind in spec.components.schemas:
                self._annotate_xml(spec, kind)

    @staticmethod
    def _string_item_xml(item_name):
        if item_name == "string":  # plain List<string>: items in the arrays namespace (contract 3.2)
            return {"name": "string", "namespace": NS_ARRAYS, "prefix": "d2p1"}
        return {"name": item_name}

    def _contract_component(self, spec, name):
        """A response object, generated from its contract."""
        if name in spec.components.schemas:
            return
        contract = CONTRACTS[name]
        # Registered before its members are described: contracts nest each other (Track -> Album -> TrackList).
        spec.components.schema(
            name,
            {
                "type": "object",
                "properties": {},
                "additionalProperties": False,
                "xml": {"name": name, "namespace": NS_2013},
                "x-xml-namespaces": dict(NAMESPACES),
                "x-xml-order": _xml_order(contract),
            },
        )
        properties = spec.components.schemas[name]["properties"]
        for member in contract.json:
            properties[member] = self._member_schema(spec, name, contract, member)

    def _member_schema(self, spec, name, contract, member):
        kind = contract.types.get(member)
        if kind is None:
            scalar = contract.scalars.get(member)
            if scalar not in SCALAR_SCHEMAS:
                raise DocumentationError(f"contract {name}.{member}: unknown scalar kind {scalar!r}")
            return dict(SCALAR_SCHEMAS[scalar])
        if isinstance(kind, str):
            self._contract_component(spec, kind)
            schema = _ref(kind)
            if member != kind:  # the element is named after the member, not the contract
                schema["xml"] = {"name": member}
            return schema
        if isinstance(kind, list):
            self._contract_component(spec, kind[0])
            return {"type": "array", "items": _ref(kind[0]), "xml": {"wrapped": True}}
        if isinstance(kind, tuple) and len(kind) == 2 and kind[0] == "strings":
            return {
                "type": "array",
                "items": {"type": "string", "xml": self._string_item_xml(kind[1])},
                "xml": {"wrapped": True},
            }
        raise DocumentationError(f"contract {name}.{member}: groove/apidoc.py does not know the kind {kind!r}")

    def request_body(self, spec, app, route):
        body = super().request_body(spec, app, route)
        body["description"] = (
            f"A {route.documentation.request} as JSON (`application/json`, `text/json`) or DataContract XML "
            "(`application/xml`, `text/xml`) in either namespace. Without a Content-Type, a body that starts "
            f"with `<` is read as XML. At most {app.config['MAX_CONTENT_LENGTH']} bytes."
        )
        return body

    def error_body(self, spec, app, route, status):
        type_name = self.response_type(route)
        self._contract_component(spec, type_name)
        return _ref(type_name)

    @staticmethod
    def response_type(route):
        type_name = getattr(route.view, "groove_response_type", None)
        if type_name is None:
            success = route.documentation.responses.get(200)
            type_name = success.body if success is not None and isinstance(success.body, str) else None
        if type_name is None:
            raise DocumentationError("a Groove view needs @web.groove_endpoint(type) or a 200 body contract name")
        return type_name

    # --- errors ---------------------------------------------------------------------------------------
    def automatic_errors(self, route):
        documentation = route.documentation
        found = {}

        def add(status, code, when):
            codes = found.setdefault(status, {})
            codes[code] = f"{codes[code]}; {when}" if codes.get(code) else when

        add(400, "INVALID_INPUT_PARAMETER", "`contentType` is not `json` or `xml`, or `jsonp` is not a callback name")
        add(400, "INVALID_INPUT_PARAMETER", "`language` is not a language code (`fr`, `fr-FR`) or `country` not a "
            "country code (`FR`)")
        security = self.security if documentation.security is None else documentation.security
        if "bearer" in security and None not in security:  # a view with optional credentials declares its own
            add(401, "INVALID_AUTHORIZATION_HEADER", "no `Authorization: Bearer` token, or an unknown or revoked one")
            add(429, "TOO_MANY_REQUESTS", "the token made more requests than `GROOVE_COMPAT_RATE_LIMIT_PER_MINUTE` "
                "allows (after a burst of `GROOVE_COMPAT_RATE_LIMIT_BURST`); `Retry-After` says when to retry")
        if "namespace" in route.variables:
            add(404, "INVALID_INPUT_PARAMETER", "the namespace is not `music`")
        if documentation.request is not None:
            add(400, "MISSING_INPUT_PARAMETER", "the body is empty")
            add(400, "INVALID_INPUT_PARAMETER", "the body is not well-formed JSON or XML, or not the request object")
            add(413, "INVALID_INPUT_PARAMETER", "the body is larger than the server accepts")
            add(415, "INVALID_INPUT_PARAMETER", "the Content-Type is neither JSON nor XML")
        if documentation.item_errors:
            add(200, "COLLECTION_SOME_OPERATIONS_FAILED", "at least one item failed (then without Message)")
        add(500, "INTERNAL_SERVER_ERROR", "an unexpected failure; the request changed nothing")
        return found

    def describe_error(self, app, code):
        if code not in errors.CATALOG:
            raise DocumentationError(f"error code {code!r} is not in groove/errors.py CATALOG")
        return errors.spell(code, app.config["ERROR_CODE_STYLE"]), errors.CATALOG[code][1]

    def response(self, spec, app, route, status, declared, codes):
        response = super().response(spec, app, route, status, declared, codes)
        if status == 200 and route.documentation.item_errors:
            item_errors = self.spelled_errors(app, route.documentation.item_errors)
            response["x-item-error-codes"] = list(item_errors)
            response["description"] += (
                "\n\nA failed item carries `Error` instead of its result, with `ErrorCode`:\n\n"
                + error_list(item_errors)
            )
        if status == 401 and "INVALID_AUTHORIZATION_HEADER" in codes:
            response["headers"]["WWW-Authenticate"] = {
                "description": (
                    "`Bearer`; for a revoked token `Bearer error='token_expired'`, which makes the 2013-era "
                    "portable client refresh its token and retry."
                ),
                "schema": {"type": "string"},
            }
        if status == 429 and "TOO_MANY_REQUESTS" in codes:
            response["headers"]["Retry-After"] = {
                "description": "Whole seconds to wait before the token's next request is accepted.",
                "schema": {"type": "integer", "minimum": 1},
            }
        return response

    def response_description(self, app, route, status, body, codes):
        phrase = HTTPStatus(status).phrase
        if not codes:
            return f"{phrase}."
        spelled = error_list(self.spelled_errors(app, codes))
        if body is None:
            type_name = self.response_type(route)
            holding = "only `Error`"
            if ERROR_COMPANIONS.get(type_name):
                holding = " and ".join(f"`{member}`" for member in ERROR_COMPANIONS[type_name]) + " and `Error`"
            return (
                f"{phrase}: the whole request failed; the answer is a {type_name} holding {holding}, with "
                f"`ErrorCode`:\n\n{spelled}"
            )
        return f"{phrase}. The answer may also carry `Error`:\n\n{spelled}"

    def error_examples(self, app, route, status, codes, media_type):
        style = app.config["ERROR_CODE_STYLE"]
        namespace = NAMESPACES[app.config["XML_DEFAULT_NAMESPACE"]]
        type_name = self.response_type(route)
        examples = {}
        for code in codes:
            error = errors.error_object(code, FIXED_MESSAGES.get(code), style=style)
            name = errors.spell(code, style)
            companions = ERROR_COMPANIONS.get(type_name)
            if companions:  # as web.render_error writes them: with the members every answer carries
                data = {**companions, "Error": error}
                if media_type == "application/xml":
                    value = codec.encode_xml(type_name, data, namespace).decode("utf-8")
                else:
                    value = json.loads(codec.encode_json(type_name, data))
            elif media_type == "application/xml":
                value = codec.encode_error_only(type_name, error, "xml", namespace).decode("utf-8")
            else:
                value = json.loads(codec.encode_error_only(type_name, error, "json", namespace))
            examples[name] = {"value": value}
        return examples

    # --- examples -------------------------------------------------------------------------------------
    def encode_examples(self, app, route, examples, media_type, *, body, request):
        if not isinstance(body, str):
            return super().encode_examples(app, route, examples, media_type, body=body, request=request)
        style = app.config["ERROR_CODE_STYLE"]
        encoded = {}
        for example in examples:
            example = replace(example, value=_respelled(example.value, style))
            if media_type == "application/xml":
                for year, namespace in NAMESPACES.items():
                    value = codec.encode_xml(body, example.value, namespace).decode("utf-8")
                    summary = f"{example.summary or example.name}, {year} namespace"
                    encoded[f"{example.name} ({year})"] = {"summary": summary, "value": value}
            else:
                # A request example is what a client sends; a response example is the codec's own output.
                value = example.value if request else json.loads(codec.encode_json(body, example.value))
                encoded[example.name] = {"value": value, **({"summary": example.summary} if example.summary else {})}
        return encoded
