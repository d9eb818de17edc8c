"""The API reference page: the OpenAPI document rendered on the server into one self-contained HTML page.

No script, no font, no stylesheet or image from anywhere: the style is inline and allowed by its hash in the
page's Content-Security-Policy, so the page works offline and cannot fetch anything. It is rendered from the
document alone, so it shows exactly what ``/openapi.json`` says.
"""

import base64
import hashlib
import json
import re
from http import HTTPStatus

from jinja2 import Environment
from lxml import etree
from markupsafe import Markup, escape

CSS = """
:root { color-scheme: light; --ink: #1d232b; --muted: #5a6573; --line: #d8dde3; --panel: #f5f7f9;
  --get: #1f6feb; --post: #1a7f37; --put: #9a6700; --delete: #cf222e; --patch: #8250df; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); }
.layout { display: grid; grid-template-columns: 19rem 1fr; min-height: 100vh; }
nav { border-right: 1px solid var(--line); background: var(--panel); padding: 1rem; position: sticky; top: 0;
  height: 100vh; overflow: auto; font-size: 13px; }
nav h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); margin: 1rem 0 .3rem; }
nav ul { list-style: none; margin: 0; padding: 0; }
nav li { margin: .15rem 0; }
nav a { color: inherit; text-decoration: none; display: block; overflow-wrap: anywhere; }
nav a:hover { text-decoration: underline; }
main { padding: 1.5rem 2.5rem 4rem; max-width: 72rem; }
h1 { margin: 0 0 .5rem; font-size: 1.7rem; }
h1 small { font-size: .9rem; color: var(--muted); font-weight: normal; }
h2.dialect { border-bottom: 2px solid var(--ink); padding-bottom: .2rem; margin-top: 2.5rem; }
article.operation { border: 1px solid var(--line); border-radius: 6px; padding: .2rem 1.2rem 1rem; margin: 1.5rem 0; }
article.operation > h3 { font-size: 1.1rem; display: flex; gap: .6rem; align-items: baseline; flex-wrap: wrap; }
.method { display: inline-block; min-width: 4.2rem; text-align: center; color: #fff; border-radius: 4px;
  padding: .05rem .4rem; font: bold 12px/1.6 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.method.get { background: var(--get); } .method.post { background: var(--post); } .method.put { background: var(--put); }
.method.delete { background: var(--delete); } .method.patch { background: var(--patch); }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; }
p code, li code, td code { background: var(--panel); padding: 0 .2rem; border-radius: 3px; }
pre { background: var(--panel); border: 1px solid var(--line); border-radius: 4px; padding: .6rem .8rem;
  overflow: auto; white-space: pre; }
.summary { font-weight: 600; margin: .2rem 0; }
.auth { color: var(--muted); }
table { border-collapse: collapse; width: 100%; margin: .4rem 0 .8rem; font-size: 14px; }
th, td { border-bottom: 1px solid var(--line); text-align: left; padding: .3rem .5rem; vertical-align: top; }
th { background: var(--panel); font-weight: 600; }
h4 { margin: 1rem 0 .3rem; }
.status { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.status.s2 { color: var(--post); } .status.s4 { color: var(--put); } .status.s5 { color: var(--delete); }
details { margin: .3rem 0; }
summary { cursor: pointer; color: var(--muted); }
.media { color: var(--muted); font-size: 13px; }
section.schemas h3, section.security h3 { margin-top: 1.5rem; }
""".strip()

TEMPLATE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ info.title }} API reference</title>
<link rel="icon" href="data:,">
<style>{{ css }}</style>
</head>
<body>
<div class="layout">
<nav aria-label="Routes">
  <a href="#top"><strong>{{ info.title }} {{ info.version }}</strong></a>
  {% for group in groups %}
  <h2>{{ group.name }}</h2>
  <ul>
    {% for operation in group.operations %}
    <li><a href="#{{ operation.anchor }}"><span class="method {{ operation.method }}">{{ operation.method|upper }}</span>
      <code>{{ operation.path }}</code></a></li>
    {% endfor %}
  </ul>
  {% endfor %}
  <h2>Reference</h2>
  <ul>
    <li><a href="#schemas">Objects</a></li>
    <li><a href="#security">Authentication</a></li>
    <li><a href="/openapi.json">openapi.json</a></li>
  </ul>
</nav>
<main id="top">
<h1>{{ info.title }} <small>API reference, version {{ info.version }}, OpenAPI {{ openapi }}</small></h1>
{{ info.description|md }}
<p>The machine-readable document: <a href="/openapi.json"><code>/openapi.json</code></a>.</p>

{% for group in groups %}
<section class="dialect" id="tag-{{ group.name }}">
<h2 class="dialect">{{ group.name }}</h2>
{{ group.description|md }}
{% for operation in group.operations %}
<article class="operation" id="{{ operation.anchor }}" data-method="{{ operation.method|upper }}" data-path="{{ operation.path }}">
  <h3><span class="method {{ operation.method }}">{{ operation.method|upper }}</span> <code class="path">{{ operation.path }}</code></h3>
  <p class="summary">{{ operation.summary }}</p>
  {{ operation.description|md }}
  <p class="auth">Authentication: {{ operation.security }}</p>
  {% if operation.parameters %}
  <h4>Parameters</h4>
  <table>
    <tr><th>Name</th><th>In</th><th>Type</th><th>Required</th><th>Description</th></tr>
    {% for parameter in operation.parameters %}
    <tr><td><code>{{ parameter.name }}</code></td><td>{{ parameter["in"] }}</td><td>{{ parameter.type }}</td>
      <td>{{ "yes" if parameter.required else "no" }}</td><td>{{ parameter.description|md }}</td></tr>
    {% endfor %}
  </table>
  {% endif %}
  {% if operation.request %}
  <h4>Request body</h4>
  {{ operation.request.description|md }}
  {{ body(operation.request) }}
  {% endif %}
  <h4>Responses</h4>
  {% for response in operation.responses %}
  <div class="response">
    <h4><span class="status s{{ response.status[0] }}">{{ response.status }}</span> {{ response.phrase }}</h4>
    {{ response.description|md }}
    {% if response.headers %}
    <p class="media">Headers: {% for name in response.headers %}<code>{{ name }}</code>{% if not loop.last %}, {% endif %}{% endfor %}</p>
    {% endif %}
    {{ body(response) }}
  </div>
  {% endfor %}
</article>
{% endfor %}
</section>
{% endfor %}

<section class="schemas" id="schemas">
<h2 class="dialect">Objects</h2>
{% for schema in schemas %}
<h3 id="schema-{{ schema.name }}">{{ schema.name }}</h3>
{{ schema.description|md }}
{% if schema.xml %}<p class="media">XML element <code>{{ schema.xml }}</code>{% if schema.xml_order %}; element order {{ schema.xml_order }}{% endif %}</p>{% endif %}
{% if schema.properties %}
<table>
  <tr><th>Member</th><th>Type</th><th>Required</th><th>Description</th></tr>
  {% for property in schema.properties %}
  <tr><td><code>{{ property.name }}</code></td><td>{{ property.type }}</td><td>{{ "yes" if property.required else "no" }}</td>
    <td>{{ property.description|md }}</td></tr>
  {% endfor %}
</table>
{% else %}
<p>{{ schema.type }}</p>
{% endif %}
{% endfor %}
</section>

<section class="security" id="security">
<h2 class="dialect">Authentication</h2>
{% for scheme in security %}
<h3 id="security-{{ scheme.name }}">{{ scheme.name }}: {{ scheme.how }}</h3>
{{ scheme.description|md }}
{% endfor %}
</section>
</main>
</div>
</body>
</html>
"""

BODY_MACRO = """{% macro body(part) %}
{% for media in part.content %}
<p class="media">{{ media.type }}: {{ media.schema }}</p>
{% for example in media.examples %}
<details{% if loop.first and media.type == "application/json" %} open{% endif %}><summary>Example {{ example.name }}{% if example.summary %}: {{ example.summary }}{% endif %}</summary>
<pre>{{ example.text }}</pre></details>
{% endfor %}
{% endfor %}
{% endmacro %}"""

_CODE = re.compile(r"`([^`]+)`")
_STRONG = re.compile(r"\*\*([^*]+)\*\*")


def _inline(text):
    html = str(escape(text))
    html = _CODE.sub(lambda match: f"<code>{match.group(1)}</code>", html)
    return _STRONG.sub(lambda match: f"<strong>{match.group(1)}</strong>", html)


def markdown(text):
    """The little Markdown the document's descriptions use: paragraphs, ``- `` lists, code spans, bold."""
    if not text:
        return Markup("")
    blocks = []
    for block in re.split(r"\n\s*\n", str(text).strip()):
        lines = block.splitlines()
        if all(line.startswith("- ") or line.startswith("  ") for line in lines) and lines[0].startswith("- "):
            items = []
            for line in lines:
                if line.startswith("- "):
                    items.append(line[2:])
                else:
                    items[-1] += " " + line.strip()
            blocks.append("<ul>" + "".join(f"<li>{_inline(item)}</li>" for item in items) + "</ul>")
        else:
            blocks.append("<p>" + _inline(" ".join(line.strip() for line in lines)) + "</p>")
    return Markup("\n".join(blocks))


class _Document:
    def __init__(self, document):
        self.document = document

    def resolve(self, value):
        seen = 0
        while isinstance(value, dict) and "$ref" in value and seen < 16:
            node = self.document
            for part in value["$ref"].lstrip("#/").split("/"):
                node = node[part]
            value = node
            seen += 1
        return value

    def type_of(self, schema):
        """A readable type, with links to the objects it names."""
        if not schema:
            return Markup("any")
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            return Markup(f'<a href="#schema-{escape(name)}">{escape(name)}</a>')
        kind = schema.get("type")
        if isinstance(kind, list):
            text = Markup(" or ").join(self.type_of({**schema, "type": item}) for item in kind)
        elif kind == "array":
            text = Markup("array of ") + self.type_of(schema.get("items") or {})
        elif kind == "object" and isinstance(schema.get("additionalProperties"), dict):
            text = Markup("object")
        else:
            text = escape(kind or "any")
            if schema.get("format"):
                text += Markup(f" ({escape(schema['format'])})")
        if schema.get("enum"):
            text += Markup(": ") + Markup(", ").join(Markup("<code>%s</code>") % value for value in schema["enum"])
        if schema.get("pattern"):
            text += Markup(" matching <code>%s</code>") % schema["pattern"]
        return text

    def content(self, content):
        parts = []
        for media_type, media in (content or {}).items():
            examples = []
            for name, example in (media.get("examples") or {}).items():
                example = self.resolve(example)
                examples.append(
                    {"name": name, "summary": example.get("summary"), "text": _example_text(example.get("value"))}
                )
            parts.append({"type": media_type, "schema": self.type_of(media.get("schema") or {}), "examples": examples})
        return parts


def _example_text(value):
    if isinstance(value, str):
        if value.startswith("<"):
            try:
                parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=True)
                return etree.tostring(etree.fromstring(value.encode("utf-8"), parser), pretty_print=True).decode()
            except etree.XMLSyntaxError:
                return value
        return value
    return json.dumps(value, indent=2, ensure_ascii=False)


def _security_text(document, operation):
    requirements = operation.get("security")
    if not requirements:
        return Markup("none")
    schemes = document.get("components", {}).get("securitySchemes", {})
    parts = []
    for requirement in requirements:
        if not requirement:  # the empty requirement: credentials are optional
            parts.append(Markup("none"))
        for name in requirement:
            parts.append(Markup('<a href="#security-{0}">{1}</a>').format(name, _scheme_how(schemes.get(name, {}))))
    return Markup(" or ").join(parts)


def _scheme_how(scheme):
    if scheme.get("type") == "http":
        return f"Authorization: {scheme.get('scheme', '').capitalize()} <token>"
    if scheme.get("type") == "apiKey":
        return f"{scheme.get('name')} ({scheme.get('in')})"
    return scheme.get("type", "")


def _operations(document, resolver):
    groups = {}
    tag_descriptions = {tag["name"]: tag.get("description") for tag in document.get("tags", [])}
    for path, methods in document.get("paths", {}).items():
        for method, operation in methods.items():
            tag = (operation.get("tags") or ["Other"])[0]
            parameters = []
            for parameter in operation.get("parameters", []):
                parameter = resolver.resolve(parameter)
                parameters.append(
                    {
                        "name": parameter["name"],
                        "in": parameter["in"],
                        "type": resolver.type_of(parameter.get("schema") or {}),
                        "required": parameter.get("required", False),
                        "description": parameter.get("description"),
                    }
                )
            request = None
            if "requestBody" in operation:
                body = resolver.resolve(operation["requestBody"])
                request = {"description": body.get("description"), "content": resolver.content(body.get("content"))}
            responses = []
            for status, response in operation.get("responses", {}).items():
                response = resolver.resolve(response)
                try:
                    phrase = HTTPStatus(int(status)).phrase
                except ValueError:
                    phrase = ""
                responses.append(
                    {
                        "status": status,
                        "phrase": phrase,
                        "description": response.get("description"),
                        "headers": list(response.get("headers", {})),
                        "content": resolver.content(response.get("content")),
                    }
                )
            groups.setdefault(tag, []).append(
                {
                    "anchor": "op-" + re.sub(r"[^A-Za-z0-9_.-]", "-", operation.get("operationId", f"{method}-{path}")),
                    "method": method,
                    "path": path,
                    "summary": operation.get("summary", ""),
                    "description": operation.get("description"),
                    "security": _security_text(document, operation),
                    "parameters": parameters,
                    "request": request,
                    "responses": responses,
                }
            )
    return [
        {"name": name, "description": tag_descriptions.get(name), "operations": operations}
        for name, operations in groups.items()
    ]


def _xml_text(xml, namespaces):
    if not xml.get("name"):
        return None
    namespace = xml.get("namespace")
    text = f"<{xml['name']}> in {namespace or 'no namespace'}"
    others = [uri for uri in namespaces.values() if uri != namespace]
    return text + "".join(f", or in {uri}" for uri in others)


def _schemas(document, resolver):
    result = []
    for name, schema in document.get("components", {}).get("schemas", {}).items():
        required = set(schema.get("required", []))
        xml = schema.get("xml") or {}
        order = schema.get("x-xml-order") or {}
        orders = {tuple(members) for members in order.values()}
        if len(orders) == 1:
            xml_order = ", ".join(next(iter(orders)))
        else:
            xml_order = "; ".join(f"{year} namespace: {', '.join(members)}" for year, members in order.items())
        result.append(
            {
                "name": name,
                "description": schema.get("description"),
                "type": resolver.type_of(schema),
                "xml": _xml_text(xml, schema.get("x-xml-namespaces") or {}),
                "xml_order": xml_order,
                "properties": [
                    {
                        "name": member,
                        "type": resolver.type_of(property_schema),
                        "required": member in required,
                        "description": property_schema.get("description"),
                    }
                    for member, property_schema in schema.get("properties", {}).items()
                ],
            }
        )
    return result


def style_source(css):
    """The CSP source expression that allows exactly this inline style block."""
    return "sha256-" + base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode("ascii")


_environment = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
_environment.filters["md"] = markdown
_template = _environment.from_string(BODY_MACRO + TEMPLATE)


def render_page(document):
    """``(html, CSP style source)`` of the reference page of an OpenAPI document."""
    resolver = _Document(document)
    schemes = document.get("components", {}).get("securitySchemes", {})
    html = _template.render(
        css=Markup(CSS),
        info=document["info"],
        openapi=document["openapi"],
        groups=_operations(document, resolver),
        schemas=_schemas(document, resolver),
        security=[
            {"name": name, "how": _scheme_how(scheme), "description": scheme.get("description")}
            for name, scheme in schemes.items()
        ],
    )
    return html, style_source(CSS)
