"""Header abuse against every route, over raw sockets to a live server (so nothing is tidied on the way).

Credentials (missing, empty, wrong scheme, 10 KB, 20 KB), Content-Type (missing, wrong, lying), Accept
(odd values), and malformed HTTP that gunicorn itself refuses: each gets its documented status with a
Groove body of the route's response type, within one second, and nothing is stored.

``CASES`` rows: ``(id, build(route, token) -> (headers, body, target), status, error code, format)``.
"""

import json
import time

import pytest

from conftest import seeded_database
from reliability import ROUTES, UNKNOWN_TRACK, ServerProcess, parse_groove_answer, raw_http, snapshot, xml_request

OK = (200, "COLLECTION_SOME_OPERATIONS_FAILED")  # authenticated and parsed; the unknown id failed alone
UNAUTHORIZED = (401, "INVALID_AUTHORIZATION_HEADER")
UNSUPPORTED = (415, "INVALID_INPUT_PARAMETER")
REFUSED = (400, "INVALID_INPUT_PARAMETER")


def json_body(route):
    return json.dumps(route.valid_body).encode()


def xml_body(route):
    return xml_request(route.valid_body["TrackIds"]).encode()


def request(authorization=None, content_type="application/json", accept=None, body=json_body, extra=(), target=None):
    """A case builder: the headers and body of one request; ``None`` leaves a header out."""

    def build(route, token):
        headers = []
        if authorization is not None:
            headers.append(("Authorization", authorization.replace("{token}", token)))
        if content_type is not None:
            headers.append(("Content-Type", content_type))
        if accept is not None:
            headers.append(("Accept", accept))
        headers.extend(extra)
        data = body(route) if callable(body) else body
        return headers, data, (target or route.path)

    return build


CASES = [
    # Credentials.
    ("valid", request("Bearer {token}"), *OK, "json"),
    ("authorization-missing", request(None), *UNAUTHORIZED, "json"),
    ("authorization-empty", request(""), *UNAUTHORIZED, "json"),
    ("scheme-only", request("Bearer"), *UNAUTHORIZED, "json"),
    ("scheme-and-spaces", request("Bearer    "), *UNAUTHORIZED, "json"),
    ("scheme-lower-case", request("bearer {token}"), *OK, "json"),
    ("scheme-upper-case", request("BEARER {token}"), *OK, "json"),
    ("no-scheme", request("{token}"), *UNAUTHORIZED, "json"),
    ("basic-scheme", request("Basic dXNlcjpwYXNzd29yZA=="), *UNAUTHORIZED, "json"),
    ("token-scheme-with-valid-token", request("Token {token}"), *UNAUTHORIZED, "json"),
    ("basic-scheme-with-valid-token", request("Basic {token}"), *UNAUTHORIZED, "json"),
    ("token-with-trailing-junk", request("Bearer {token} junk"), *UNAUTHORIZED, "json"),
    ("token-truncated", request("Bearer {token}"[:-3]), *UNAUTHORIZED, "json"),
    ("token-of-another-install", request("Bearer gct_" + "A" * 43), *UNAUTHORIZED, "json"),
    ("token-10-kb", request("Bearer " + "A" * 10_000), *UNAUTHORIZED, "json"),
    ("valid-token-padded-to-10-kb", request("Bearer {token}" + " " * 10_000), *OK, "json"),
    ("token-20-kb", request("Bearer " + "A" * 20_000), 431, "INVALID_INPUT_PARAMETER", "json"),
    ("token-latin-1-bytes", request("Bearer caf\xe9\xff"), *UNAUTHORIZED, "json"),
    ("two-authorization-headers", request("Bearer {token}", extra=[("Authorization", "Bearer wrong")]), *UNAUTHORIZED, "json"),
    ("token-only-in-query", request(None, target="{path}?accessToken=Bearer%20{token}"), *UNAUTHORIZED, "json"),
    ("xml-401", request(None, content_type="application/xml", body=xml_body), *UNAUTHORIZED, "xml"),
    # Content-Type.
    ("content-type-missing-json", request("Bearer {token}", content_type=None), *OK, "json"),
    ("content-type-missing-xml", request("Bearer {token}", content_type=None, body=xml_body), *OK, "xml"),
    ("content-type-empty", request("Bearer {token}", content_type=""), *OK, "json"),
    ("content-type-text-plain", request("Bearer {token}", content_type="text/plain"), *UNSUPPORTED, "json"),
    ("content-type-form", request("Bearer {token}", content_type="application/x-www-form-urlencoded", body=b"TrackIds=x"), *UNSUPPORTED, "json"),
    ("content-type-multipart", request("Bearer {token}", content_type="multipart/form-data; boundary=x", body=b"--x\r\n\r\nx\r\n--x--"), *UNSUPPORTED, "json"),
    ("content-type-octet-stream", request("Bearer {token}", content_type="application/octet-stream"), *UNSUPPORTED, "json"),
    ("content-type-garbage-is-no-content-type", request("Bearer {token}", content_type=";;;===,,,"), *OK, "json"),
    ("content-type-5-kb", request("Bearer {token}", content_type="application/" + "x" * 5000), *UNSUPPORTED, "json"),
    ("json-body-labelled-xml", request("Bearer {token}", content_type="application/xml"), *REFUSED, "xml"),
    ("xml-body-labelled-json", request("Bearer {token}", content_type="application/json", body=xml_body), *REFUSED, "json"),
    ("json-charset-utf-16-but-utf-8", request("Bearer {token}", content_type="application/json; charset=utf-16"), *OK, "json"),
    ("json-charset-bogus", request("Bearer {token}", content_type="application/json; charset=bogus"), *OK, "json"),
    ("json-upper-case-type", request("Bearer {token}", content_type="APPLICATION/JSON"), *OK, "json"),
    ("text-xml", request("Bearer {token}", content_type="text/xml", body=xml_body), *OK, "xml"),
    ("soap-xml", request("Bearer {token}", content_type="application/soap+xml", body=xml_body), *OK, "xml"),
    ("gzip-content-encoding", request("Bearer {token}", extra=[("Content-Encoding", "gzip")], body=b"\x1f\x8b\x08\x00" + b"\x00" * 64), *REFUSED, "json"),
    ("expect-100-continue", request("Bearer {token}", extra=[("Expect", "100-continue")]), *OK, "json"),
    # Accept.
    ("accept-any", request("Bearer {token}", accept="*/*"), *OK, "json"),
    ("accept-xml", request("Bearer {token}", accept="application/xml"), *OK, "xml"),
    ("accept-xml-for-json-body-refused", request("Bearer {token}", accept="application/xml", content_type="text/plain"), *UNSUPPORTED, "xml"),
    ("accept-html", request("Bearer {token}", accept="text/html"), *OK, "json"),
    ("accept-image", request("Bearer {token}", accept="image/png", body=xml_body, content_type="application/xml"), *OK, "xml"),
    ("accept-xml-refused-by-q0", request("Bearer {token}", accept="application/xml;q=0"), *OK, "json"),
    ("accept-prefers-xml-by-q", request("Bearer {token}", accept="application/json;q=0.1, application/xml;q=0.9"), *OK, "xml"),
    ("accept-garbage", request("Bearer {token}", accept=";;;,,,==q=x"), *OK, "json"),
    ("accept-8-kb", request("Bearer {token}", accept=", ".join(f"application/x-{n}" for n in range(600))), *OK, "json"),
    ("accept-xml-401", request(None, accept="application/xml"), *UNAUTHORIZED, "xml"),
    ("content-type-query-xml", request("Bearer {token}", target="{path}?contentType=xml"), *OK, "xml"),
    ("content-type-query-bogus", request("Bearer {token}", target="{path}?contentType=bogus"), *REFUSED, "json"),
    # What gunicorn refuses before the application runs.
    ("header-line-20-kb", request("Bearer {token}", extra=[("X-Junk", "x" * 20_000)]), 431, "INVALID_INPUT_PARAMETER", "json"),
    ("one-hundred-and-one-headers", request("Bearer {token}", extra=[(f"X-H{n}", "x") for n in range(101)]), 431, "INVALID_INPUT_PARAMETER", "json"),
    ("request-line-10-kb", request("Bearer {token}", target="{path}?q=" + "x" * 10_000), 414, "INVALID_INPUT_PARAMETER", "json"),
    ("content-length-not-a-number", request("Bearer {token}", extra=[("Content-Length", "abc")]), 400, "INVALID_INPUT_PARAMETER", "json"),
    ("content-length-twice-different", request("Bearer {token}", extra=[("Content-Length", "3")]), 400, "INVALID_INPUT_PARAMETER", "json"),
    ("transfer-encoding-gzip", request("Bearer {token}", extra=[("Transfer-Encoding", "gzip")]), 400, "INVALID_INPUT_PARAMETER", "json"),
    ("chunked-and-content-length", request("Bearer {token}", extra=[("Transfer-Encoding", "chunked")]), 400, "INVALID_INPUT_PARAMETER", "json"),
    ("header-with-nul", request("Bearer {token}", extra=[("X-Junk", "a\x00b")]), 400, "INVALID_INPUT_PARAMETER", "json"),
    ("header-name-with-space", request("Bearer {token}", extra=[("X Junk", "x")]), 400, "INVALID_INPUT_PARAMETER", "json"),
]


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile-headers")
    database = folder / "groove-compat.sqlite"
    users = seeded_database(database)
    with ServerProcess(database) as server:
        server.users = users
        yield server


def encode_request(method, target, headers, body):
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in headers]
    lines.append(f"Content-Length: {len(body)}")  # a case's own Content-Length comes on top of it
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def answer_body(response):
    """The body as a client reads it (gzip is only used when asked for, and these requests never ask)."""
    assert response.header("content-encoding") is None
    return response.body


@pytest.mark.parametrize("route", ROUTES, ids=str)
@pytest.mark.parametrize("case, build, status, code, answer_format", CASES, ids=[case[0] for case in CASES])
def test_header_abuse_is_answered_safely(hostile_server, route, case, build, status, code, answer_format):
    token = hostile_server.users["alice"].token
    headers, body, target = build(route, token)
    target = target.replace("{path}", route.path).replace("{token}", token)
    before = snapshot(hostile_server.database)
    started = time.monotonic()
    response = raw_http(hostile_server.url, encode_request(route.method, target, headers, body))
    elapsed = time.monotonic() - started
    assert response.status == status, response.body[:300]
    answered_format, answered_code, _ = parse_groove_answer(
        response.header("content-type"), answer_body(response), route.response_type
    )
    assert (answered_format, answered_code) == (answer_format, code)
    if status == 401:
        assert response.header("www-authenticate") == "Bearer"
    assert elapsed < 1.0, f"answered in {elapsed:.2f}s"
    assert snapshot(hostile_server.database) == before
    assert token.encode() not in response.body


def test_refusals_before_the_application_are_logged_without_the_token(hostile_server):
    """The 431 for a 20 KB header is logged like any answer (status, route) and never shows the header."""
    token = hostile_server.users["alice"].token
    secret = "Bearer " + token + "Z" * 20_000
    route = ROUTES[0]
    response = raw_http(hostile_server.url, encode_request(route.method, route.path, [("Authorization", secret)], json_body(route)))
    assert response.status == 431
    time.sleep(0.2)
    log = hostile_server.log_text()
    assert token not in log
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{") and '"status":431' in line]
    assert lines and lines[-1]["error"] == "INVALID_INPUT_PARAMETER"


def test_raw_requests_reach_the_server_unchanged(hostile_server):
    """The raw path really sends what it says: a plain valid request over it adds nothing and answers 200."""
    route = ROUTES[0]
    body = json.dumps({"TrackIds": [UNKNOWN_TRACK]}).encode()
    response = raw_http(
        hostile_server.url,
        encode_request(route.method, route.path, [("Authorization", "Bearer " + hostile_server.users["alice"].token), ("Content-Type", "application/json")], body),
    )
    assert response.status == 200
    assert json.loads(response.body)["TrackActionResults"][0]["InputId"] == UNKNOWN_TRACK
