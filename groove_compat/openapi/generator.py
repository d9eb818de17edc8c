"""Build the OpenAPI document of an application by walking ``app.url_map`` and ``app.view_functions``.

Each route belongs to the dialect with the longest matching path prefix; the dialect turns the view's
declaration (``declarations.documented``) into an operation. ``Dialect`` below is the generic behaviour
(marshmallow or JSON Schema bodies, JSON only); the dialects subclass it in ``groove/apidoc.py`` and
``v1/apidoc.py``.
"""

import importlib.metadata
import re
from dataclasses import dataclass
from http import HTTPStatus

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from werkzeug.routing import Rule

from .declarations import DocumentationError, Response, documentation_of

OPENAPI_VERSION = "3.1.0"
METHOD_ORDER = ("get", "put", "post", "delete", "patch")
IGNORED_METHODS = frozenset({"HEAD", "OPTIONS"})
IGNORED_ENDPOINTS = frozenset({"static"})
_VARIABLE = re.compile(r"<(?:[^<>:]+:)?([^<>:]+)>")

SECURITY_SCHEMES = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": (
            "A user token in `Authorization: Bearer <token>` (Groove dialect; the v1 dialect takes it too when "
            "no `X-API-Key` is sent). Tokens are issued with "
            "`groove-compat tokens issue USER`, shown once, and revoked with `groove-compat tokens revoke`."
        ),
    },
    "apiKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": (
            "The same user tokens, sent as `X-API-Key: <token>` (v1 dialect). "
            "Issued with `groove-compat tokens issue USER`."
        ),
    },
}

REQUEST_ID_HEADER = {
    "description": "Id of this request (`req_` and 16 hex digits), also in the server's access log line.",
    "schema": {"type": "string", "pattern": "^req_[0-9a-f]{16}$"},
}

DOCUMENT_DESCRIPTION = """\
One server, one SQLite store, two wire dialects over the same collections:

- **Groove** (`/1/...`): what legacy Groove Music collection clients send, answered as Microsoft's retired \
service did: JSON and DataContract XML, Groove error bodies.
- **v1** (`/v1/...`): an organization-scoped JSON API over the same data, authenticated with `X-API-Key` \
(or `Authorization: Bearer`).
- **Operations**: health and this documentation.

This document is generated from the running code (`groove-compat openapi` prints it); the reference page \
`/docs` is rendered from it."""


def package_version():
    try:
        return importlib.metadata.version("groove-compat")
    except importlib.metadata.PackageNotFoundError:  # running from a source tree that is not installed
        return "0.0.0"


def component_name(schema):
    """Component name of a marshmallow schema (class, or instance as apispec passes nested ones): its class name
    without ``Schema``; a dialect sub-package other than the Groove one prefixes it (``v1.Track``), so that two
    dialects' objects of one name stay apart."""
    schema_class = schema if isinstance(schema, type) else type(schema)
    name = schema_class.__name__
    if name.endswith("Schema") and len(name) > len("Schema"):
        name = name[: -len("Schema")]
    parts = schema_class.__module__.split(".")
    if len(parts) > 2 and parts[0] == "groove_compat" and parts[1] not in ("groove", "openapi"):
        name = f"{parts[1]}.{name}"
    return name


@dataclass
class Route:
    """One documented (rule, method) pair."""

    rule: Rule
    method: str  # lower case
    path: str  # OpenAPI form: /1/content/{namespace}/collection/add
    view: object
    documentation: object
    dialect: object

    @property
    def endpoint(self):
        return self.rule.endpoint

    @property
    def variables(self):
        return _VARIABLE.findall(self.rule.rule)

    @property
    def operation_id(self):
        methods = [m for m in self.rule.methods if m not in IGNORED_METHODS]
        return self.endpoint if len(methods) == 1 else f"{self.endpoint}.{self.method}"


def openapi_path(rule):
    return _VARIABLE.sub(lambda match: "{" + match.group(1) + "}", rule.rule)


def _converter_schema(converter):
    kind = type(converter).__name__
    if kind == "IntegerConverter":
        return {"type": "integer"}
    if kind == "FloatConverter":
        return {"type": "number"}
    if kind == "UUIDConverter":
        return {"type": "string", "format": "uuid"}
    return {"type": "string"}


def error_list(spelled):
    """Markdown lines for ``{code: (description, when)}``: "- `CODE` (Description): when"."""
    lines = []
    for code, (description, when) in spelled.items():
        line = f"- `{code}`" + (f" ({description})" if description else "")
        lines.append(line + (f": {when}" if when else ""))
    return "\n".join(lines)


class Dialect:
    """How the routes under ``prefix`` are documented. The defaults suit a JSON API whose bodies are
    marshmallow schemas; a dialect with its own object model overrides ``body_schema`` and friends."""

    name = "Operations"
    prefix = "/"
    description = "Health checks and this documentation."
    security = ()  # default scheme names of the dialect's routes
    media_types = ("application/json",)
    order = 90  # position of the dialect's section in the document

    # --- hooks a dialect overrides --------------------------------------------------------------------
    def setup(self, spec, app):
        """Register the components the dialect's operations refer to (called once per document)."""

    def common_parameters(self, route):
        """Parameters of every operation of the dialect: objects, or names of components registered in ``setup``."""
        return []

    def path_parameter(self, name):
        """Description and schema of a path variable the view did not declare."""
        return {}

    def body_schema(self, spec, app, body, *, request):
        """The schema of a declared body: marshmallow schemas go to apispec, dicts are JSON Schema, a string
        names a component registered by the dialect."""
        if isinstance(body, str):
            if body not in spec.components.schemas:
                raise DocumentationError(f"dialect {self.name}: no component named {body!r}")
            return {"$ref": f"#/components/schemas/{body}"}
        return body

    def error_body(self, spec, app, route, status):
        """The body of an error status that lists codes without a body; None: the view must give one."""
        return None

    def automatic_errors(self, route):
        """``{status: {code: when}}`` that the dialect's edge produces for this route, whatever the view does."""
        return {}

    def describe_error(self, app, code):
        """How a code is written in the document (the deployment's spelling) and its fixed description."""
        return code, None

    def error_examples(self, app, route, status, codes, media_type):
        return {}

    def encode_examples(self, app, route, examples, media_type, *, body, request):
        """OpenAPI ``examples`` of a media type from declared examples (generic: JSON values as given)."""
        if media_type != "application/json":
            return {}
        return {example.name: _example(example.summary, example.value) for example in examples}

    def response_description(self, app, route, status, body, errors):
        description = HTTPStatus(status).phrase + "."
        if errors:
            description += "\n\n" + error_list(self.spelled_errors(app, errors))
        return description

    # --- the generic assembly ---------------------------------------------------------------------------
    def operation(self, spec, app, route):
        documentation = route.documentation
        operation = {"operationId": route.operation_id, "tags": [self.name], "summary": documentation.summary}
        if documentation.description:
            operation["description"] = documentation.description
        parameters = self.parameters(route)
        if parameters:
            operation["parameters"] = parameters
        if documentation.request is not None:
            operation["requestBody"] = self.request_body(spec, app, route)
        operation["responses"] = self.responses(spec, app, route)
        security = self.security if documentation.security is None else documentation.security
        for scheme in security:
            if scheme is not None and scheme not in spec.components.security_schemes:
                raise DocumentationError(f"{route.endpoint}: unknown security scheme {scheme!r}")
        if security:
            # None: the operation also answers without credentials (OpenAPI's empty requirement, `{}`).
            operation["security"] = [{} if scheme is None else {scheme: []} for scheme in security]
        if documentation.deprecated:
            operation["deprecated"] = True
        return operation

    def parameters(self, route):
        declared = {(p["in"], p.get("name")): p for p in route.documentation.parameters}
        parameters = []
        for variable in route.variables:
            parameter = {
                "name": variable,
                "in": "path",
                "required": True,
                "schema": _converter_schema(route.rule._converters[variable]),
                **self.path_parameter(variable),
            }
            parameter.update(declared.pop(("path", variable), {}))
            parameters.append(parameter)
        parameters.extend(declared.values())
        parameters.extend(self.common_parameters(route))
        return parameters

    def request_body(self, spec, app, route):
        schema = self.body_schema(spec, app, route.documentation.request, request=True)
        examples = route.documentation.examples.get("request", ())
        content = {}
        for media_type in self.media_types:
            content[media_type] = {"schema": schema}
            encoded = self.encode_examples(
                app, route, examples, media_type, body=route.documentation.request, request=True
            )
            if encoded:
                content[media_type]["examples"] = encoded
        return {"required": True, "content": content}

    def responses(self, spec, app, route):
        documentation = route.documentation
        automatic = self.automatic_errors(route)
        result = {}
        for status in sorted(set(documentation.responses) | set(automatic)):
            declared = documentation.responses.get(status, Response())
            errors = _merge_errors(automatic.get(status, {}), declared.errors)
            result[str(status)] = self.response(spec, app, route, status, declared, errors)
        return result

    def response(self, spec, app, route, status, declared, errors):
        body = declared.body
        schema = None
        if body is not None:
            schema = self.body_schema(spec, app, body, request=False)
        elif errors:
            schema = self.error_body(spec, app, route, status)
            if schema is None:
                raise DocumentationError(
                    f"{route.endpoint}: response {status} lists error codes, but dialect {self.name} has no "
                    "error body: declare it as Response(body=..., errors=...)"
                )
        response = {
            "description": declared.description or self.response_description(app, route, status, body, errors),
            "headers": {"X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}},
        }
        response["headers"].update(declared.headers)
        if errors:
            response["x-error-codes"] = list(self.spelled_errors(app, errors))
        if schema is not None:
            content = {}
            examples = route.documentation.examples.get(status, ())
            for media_type in declared.media_types or self.media_types:
                content[media_type] = {"schema": schema}
                encoded = {}
                if examples:
                    encoded.update(self.encode_examples(app, route, examples, media_type, body=body, request=False))
                if errors and body is None:
                    encoded.update(self.error_examples(app, route, status, errors, media_type))
                if encoded:
                    content[media_type]["examples"] = encoded
            content.update(self.extra_response_content(route))
            response["content"] = content
        return response

    def extra_response_content(self, route):
        """Media types an answer may also take besides the dialect's body formats: ``{type: object}``."""
        return {}

    def spelled_errors(self, app, errors):
        """``{code as written: (fixed description, when)}``."""
        spelled = {}
        for code, when in errors.items():
            name, description = self.describe_error(app, code)
            spelled[name] = (description, when)
        return spelled


def _example(summary, value):
    example = {"value": value}
    if summary:
        example["summary"] = summary
    return example


def _merge_errors(automatic, declared):
    merged = dict(automatic)
    for code, when in declared.items():
        if merged.get(code) and when and when not in merged[code]:
            merged[code] = f"{merged[code]}; {when}"
        else:
            merged[code] = when or merged.get(code)
    return merged


DEFAULT_DIALECTS = (Dialect(),)


def dialects_of(app):
    """The registered dialects by name (the defaults, replaced by what ``register_dialect`` put in)."""
    dialects = {dialect.name: dialect for dialect in DEFAULT_DIALECTS}
    dialects.update(app.extensions.get("groove_compat.openapi.dialects", {}))
    return dialects


def dialect_for(dialects, path):
    matching = [dialect for dialect in dialects.values() if path.startswith(dialect.prefix)]
    return max(matching, key=lambda dialect: len(dialect.prefix))


def _rules(app):
    for rule in sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule):
        if rule.endpoint in IGNORED_ENDPOINTS:
            continue
        yield rule


def undocumented_routes(app):
    """``["METHOD /path (endpoint)", ...]`` for every route whose view has no ``@documented``."""
    missing = []
    for rule in _rules(app):
        if documentation_of(app.view_functions[rule.endpoint]) is None:
            methods = ",".join(sorted(m for m in rule.methods if m not in IGNORED_METHODS))
            missing.append(f"{methods} {rule.rule} ({rule.endpoint})")
    return missing


def routes(app):
    """Every documented (rule, method), in document order: dialect, path, method."""
    dialects = dialects_of(app)
    found = []
    for rule in _rules(app):
        view = app.view_functions[rule.endpoint]
        documentation = documentation_of(view)
        if documentation is None:
            continue  # listed by undocumented_routes, which a test keeps empty
        dialect = dialect_for(dialects, rule.rule)
        for method in rule.methods - IGNORED_METHODS:
            found.append(Route(rule, method.lower(), openapi_path(rule), view, documentation, dialect))
    order = {method: index for index, method in enumerate(METHOD_ORDER)}
    found.sort(key=lambda route: (route.dialect.order, route.path, order.get(route.method, 99)))
    return found


def build_document(app):
    """The OpenAPI document of ``app`` as a dict (deterministic for one set of routes and settings)."""
    spec = APISpec(
        title="groove-compat",
        version=package_version(),
        openapi_version=OPENAPI_VERSION,
        plugins=[MarshmallowPlugin(schema_name_resolver=component_name)],
        info={"description": DOCUMENT_DESCRIPTION, "license": {"name": "MIT", "identifier": "MIT"}},
    )
    for name, scheme in SECURITY_SCHEMES.items():
        spec.components.security_scheme(name, scheme)
    spec.components.header("X-Request-Id", REQUEST_ID_HEADER)
    documented_routes = routes(app)
    dialects = []
    for route in documented_routes:
        if route.dialect not in dialects:
            dialects.append(route.dialect)
    for dialect in dialects:
        spec.tag({"name": dialect.name, "description": dialect.description})
        dialect.setup(spec, app)
    paths = {}
    for route in documented_routes:
        try:
            operation = route.dialect.operation(spec, app, route)
        except DocumentationError as error:
            raise DocumentationError(f"{route.method.upper()} {route.path}: {error}") from None
        paths.setdefault(route.path, {})[route.method] = operation
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    generated = spec.to_dict()
    # Readers expect the usual order: version, info, tags, paths, components.
    order = ("openapi", "info", "tags", "paths", "components")
    return {key: generated[key] for key in order if key in generated} | {
        key: value for key, value in generated.items() if key not in order
    }
