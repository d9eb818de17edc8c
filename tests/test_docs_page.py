"""GET /docs: the API reference page, rendered on the server from the OpenAPI document; self-contained, and
checked in a real browser (Debian's headless chromium) that it lists every route and fetches nothing else."""

import json
import os
import re
import shutil
import subprocess

import pytest
import requests
from lxml import html

from groove_compat import openapi
from groove_compat.openapi.page import CSS, markdown, style_source

# Chromium may only resolve the test server's address: nothing it does can reach another host.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--no-pings",
    "--disable-domain-reliability",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--enable-logging=stderr",
    "--v=0",
]


def _operations(document):
    return {(method.upper(), path) for path, methods in document["paths"].items() for method in methods}


def _listed(page):
    return {(article.get("data-method"), article.get("data-path")) for article in page.xpath("//article[@data-path]")}


def _external_references(page):
    """Every attribute or style that would make a browser fetch something."""
    found = []
    for element in page.iter():
        if not isinstance(element.tag, str):
            continue
        for attribute in ("src", "srcset", "data", "poster", "action", "formaction", "background"):
            if element.get(attribute) is not None:
                found.append(f"<{element.tag} {attribute}={element.get(attribute)!r}>")
        if element.tag == "link" and element.get("rel") != "icon":
            found.append(f"<link rel={element.get('rel')!r}>")
        if element.tag == "link" and element.get("rel") == "icon" and not element.get("href", "").startswith("data:"):
            found.append(f"<link rel=icon href={element.get('href')!r}>")
        if element.tag in ("script", "iframe", "object", "embed", "img", "video", "audio", "source", "base"):
            found.append(f"<{element.tag}>")
    for style in page.xpath("//style/text()") + page.xpath("//@style"):
        if re.search(r"url\(|@import", style):
            found.append("style fetches: " + style[:60])
    return found


def test_page_lists_every_operation_of_the_document(app, client):
    response = client.get("/docs")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = html.fromstring(response.data)
    document = openapi.document(app)
    assert _listed(page) == _operations(document)
    assert len(_listed(page)) == len(page.xpath("//article[@data-path]"))  # each once
    nav_links = {link.get("href") for link in page.xpath("//nav//a")}
    assert {f"#{article.get('id')}" for article in page.xpath("//article[@data-path]")} <= nav_links


def test_page_is_self_contained(client):
    response = client.get("/docs")
    page = html.fromstring(response.data)
    assert _external_references(page) == []
    assert page.xpath("//style/text()") == [CSS]
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert f"style-src '{style_source(CSS)}'" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_page_shows_parameters_bodies_examples_and_error_codes(app, client):
    page = html.fromstring(client.get("/docs").data)
    document = openapi.document(app)
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            article = page.xpath(f'//article[@data-path="{path}"][@data-method="{method.upper()}"]')[0]
            text = article.text_content()
            assert operation["summary"] in text
            for parameter in operation.get("parameters", []):
                name = parameter.get("name") or parameter["$ref"].rsplit("/", 1)[-1]
                assert name in [cell.text_content() for cell in article.xpath(".//table//td[1]")]
            for status, response in operation["responses"].items():
                assert status in [span.text_content() for span in article.xpath(".//span[contains(@class,'status')]")]
                for code in response.get("x-error-codes", []) + response.get("x-item-error-codes", []):
                    assert code in text, (path, status, code)
            examples = [
                name
                for part in [operation.get("requestBody", {})] + list(operation["responses"].values())
                for media in part.get("content", {}).values()
                for name in media.get("examples", {})
            ]
            assert len(article.xpath(".//details/pre")) == len(examples)
    # The seed's XML request is shown element by element, pretty-printed.
    assert "<d2p1:string>music.A83EB907-0100-11DB-89CA-0019B92A3933</d2p1:string>" in page.text_content()
    assert {schema.get("id") for schema in page.xpath("//section[@id='schemas']/h3")} == {
        f"schema-{name}" for name in document["components"]["schemas"]
    }


@pytest.mark.parametrize(
    "text,expected",
    [
        ("plain <b>", "<p>plain &lt;b&gt;</p>"),
        ("a `code` and **bold**", "<p>a <code>code</code> and <strong>bold</strong></p>"),
        (
            "intro:\n\n- one\n- two `x`\n  continued",
            "<p>intro:</p>\n<ul><li>one</li><li>two <code>x</code> continued</li></ul>",
        ),
        ("line one\nline two", "<p>line one line two</p>"),
        (None, ""),
    ],
)
def test_descriptions_are_rendered_escaped(text, expected):
    assert str(markdown(text)) == expected


def _chromium():
    executable = shutil.which("chromium")
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: .ci/run installs it (apt-get install chromium chromium-driver)")
        pytest.skip("chromium is not installed (apt-get install chromium chromium-driver)")
    return executable


def _page_requests(net_log_path, site):
    """URLs requested on behalf of pages of ``site``, from chromium's net log: every request the page makes,
    to any host, carries the page's site as its network isolation key; the browser's own background
    requests carry another key (or none) and are left out."""
    with open(net_log_path, encoding="utf-8") as file:
        text = file.read()
    if not text.rstrip().endswith("}"):  # a log cut short at exit lacks its closing brackets
        text = text.rstrip().rstrip(",") + "]}"
    log = json.loads(text)
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    urls = []
    for event in log["events"]:
        parameters = event.get("params", {})
        if event["type"] == start_job and parameters.get("network_isolation_key", "").split(" ")[0] == site:
            urls.append(parameters["url"])
    return urls


def test_page_in_headless_chromium_lists_every_route_and_fetches_nothing_else(live_server, tmp_path):
    chromium = _chromium()
    document = requests.get(live_server.url + "/openapi.json", timeout=10).json()
    net_log = tmp_path / "net-log.json"
    completed = subprocess.run(
        [
            chromium,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--log-net-log={net_log}",
            "--dump-dom",
            live_server.url + "/docs",
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr.decode(errors="replace")[-2000:]
    page = html.fromstring(completed.stdout)
    assert _listed(page) == _operations(document)
    assert page.xpath("//h1")[0].text_content().startswith("groove-compat")
    assert _external_references(page) == []
    # The browser applied the page as served: no Content-Security-Policy violation (the inline style is allowed).
    log = completed.stderr.decode(errors="replace")
    assert "Content Security Policy" not in log and "Refused to" not in log, log[-2000:]
    requested = _page_requests(net_log, "http://127.0.0.1")
    assert live_server.url + "/docs" in requested
    assert [url for url in requested if not url.startswith(live_server.url + "/")] == []
