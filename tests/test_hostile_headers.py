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
from reliability import (
    ONE_PLAYLIST,
    ROUTES,
    UNKNOWN_TRACK,
    ServerProcess,
    fill,
    parse_answer,
    raw_http,
    snapshot,
    targets_of,
)
from test_hostile_xml import document

OK = ("OK", "OK")  # authenticated and parsed: the route's answer to its valid request (``Route.ok``)
UNAUTHORIZED = (401, "INVALID_AUTHORIZATION_HEADER")
UNSUPPORTED = (415, "INVALID_INPUT_PARAMETER")
REFUSED = (400, "INVALID_INPUT_PARAMETER")


def json_body(route):
    return json.dumps(route.valid_body).encode() if route.valid_body is not None else b""


def xml_body(route):
    return document(route).encode() if route.valid_body is not None else b""


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
        headers.extend((name, value.replace("{token}", token)) for name, value in extra)
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


# A route without a body reads none: the cases about the body's type and encoding get the valid answer
# there, in the format the request asks for (a Content-Type still says which format the client speaks).
BODY_CASES = {
    "content-type-text-plain", "content-type-form", "content-type-multipart", "content-type-octet-stream",
    "content-type-5-kb", "json-body-labelled-xml", "xml-body-labelled-json", "gzip-content-encoding",
    "accept-xml-for-json-body-refused",
}
# The profile answers a request without a user token (no header, or a bearer token it does not know:
# an application token to it) with the partial answer, 200 (contract 1.8); a header that is not a
# bearer token is still a 401.
PROFILE_PARTIAL = {
    "authorization-missing", "token-with-trailing-junk", "token-truncated", "token-of-another-install",
    "token-10-kb", "token-latin-1-bytes", "two-authorization-headers", "token-only-in-query", "xml-401",
    "accept-xml-401",
}


# What gunicorn refuses while it reads the request head (oversized or malformed headers, a request line
# over 8 KB) is answered from the request's first bytes, which name the path: the endpoint's own type.
def groove_cases():
    for route in ROUTES:
        if route.dialect != "groove":
            continue
        for case, build, status, code, answer_format in CASES:
            if route.request_type is None and case in BODY_CASES:
                status, code = OK
            if route.request_type is None and case == "content-type-missing-xml":
                answer_format = "json"  # no Content-Type and a body nobody reads: the default format
            if route.name == "groove.profile" and case in PROFILE_PARTIAL:
                status, code = 200, None
            if (status, code) == OK:
                status, code = route.ok
            # Refused by gunicorn before the application ran: the request's first bytes still name the path,
            # so the answer is the endpoint's own response type.
            yield route, case, build, status, code, answer_format


GROOVE_CASES = list(groove_cases())


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile-headers")
    database = folder / "groove-compat.sqlite"
    users = seeded_database(database)
    targets = targets_of(database, users["alice"])
    with ServerProcess(database, env=ONE_PLAYLIST) as server:
        server.users = users
        server.targets = targets
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


def check(server, route, build, status, code, answer_format):
    token = server.users["alice"].token
    route = Filled(route, server.targets)
    headers, body, target = build(route, token)
    if target.startswith("{path}?"):
        target = route.with_query(server.targets, target[len("{path}?"):])
    target = target.replace("{path}", route.path).replace("{token}", token)
    before = snapshot(server.database)
    started = time.monotonic()
    response = raw_http(server.url, encode_request(route.method, target, headers, body))
    elapsed = time.monotonic() - started
    assert response.status == status, response.body[:300]
    answered_format, answered_code, _ = parse_answer(route, response.header("content-type"), answer_body(response))
    assert (answered_format, answered_code) == (answer_format, code)
    if status == 401:
        expected = "Bearer" if route.dialect == "groove" else 'Bearer realm="groove-compat"'
        assert response.header("www-authenticate") == expected
    assert elapsed < 1.0, f"answered in {elapsed:.2f}s"
    assert snapshot(server.database) == before
    assert token.encode() not in response.body
    return response, answered_format


class Filled:
    """A route with this server's ids in its path and valid body."""

    def __init__(self, route, targets):
        self.route = route
        self.path = route.target(targets)
        self.valid_body = fill(route.valid_body, targets)

    def __getattr__(self, name):
        return getattr(self.route, name)


@pytest.mark.parametrize(
    "route, case, build, status, code, answer_format", GROOVE_CASES, ids=[f"{c[1]}-{c[0]}" for c in GROOVE_CASES]
)
def test_header_abuse_is_answered_safely(hostile_server, route, case, build, status, code, answer_format):
    response, answered_format = check(hostile_server, route, build, status, code, answer_format)
    if route.name == "groove.profile" and case in PROFILE_PARTIAL and answered_format == "json":
        # Without a user token: nothing of alice's (no Collection state), whatever token was tried.
        assert set(json.loads(response.body)) == {"IsSubscriptionAvailableForPurchase", "Culture"}


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


# ---------------------------------------------------------------------------------------------------------
# The v1 dialect: X-API-Key (or Authorization: Bearer), JSON only, one error envelope (docs/v1-api.md).

V1_UNAUTHORIZED = (401, "AUTHENTICATION_REQUIRED")
V1_UNSUPPORTED = (415, "UNSUPPORTED_MEDIA_TYPE")
V1_INVALID_JSON = (400, "INVALID_JSON")


def api_key(value, **kwargs):
    return request(None, extra=[("X-API-Key", value)] + list(kwargs.pop("extra", ())), **kwargs)


V1_CASES = [
    ("api-key", api_key("{token}"), *OK),
    ("bearer", request("Bearer {token}"), *OK),
    ("bearer-lower-case", request("bearer {token}"), *OK),
    ("no-credential", request(None), *V1_UNAUTHORIZED),
    ("api-key-empty", api_key(""), *V1_UNAUTHORIZED),
    ("api-key-empty-bearer-valid", api_key("", extra=[("Authorization", "Bearer {token}")]), *OK),
    ("api-key-wrong-bearer-valid", api_key("gct_" + "A" * 43, extra=[("Authorization", "Bearer {token}")]), *V1_UNAUTHORIZED),
    ("api-key-valid-basic-auth", api_key("{token}", extra=[("Authorization", "Basic dXNlcjpwYXNzd29yZA==")]), *OK),
    ("api-key-with-spaces", api_key(" {token} "), *OK),
    ("api-key-with-bearer-prefix", api_key("Bearer {token}"), *V1_UNAUTHORIZED),
    ("api-key-truncated", api_key("{token}"[:-3]), *V1_UNAUTHORIZED),
    ("api-key-10-kb", api_key("A" * 10_000), *V1_UNAUTHORIZED),
    ("api-key-latin-1-bytes", api_key("caf\xe9\xff"), *V1_UNAUTHORIZED),
    ("two-api-keys", api_key("{token}", extra=[("X-API-Key", "wrong")]), *V1_UNAUTHORIZED),
    ("basic-scheme", request("Basic dXNlcjpwYXNzd29yZA=="), *V1_UNAUTHORIZED),
    ("token-scheme-with-valid-token", request("Token {token}"), *V1_UNAUTHORIZED),
    ("key-only-in-query", request(None, target="{path}?api_key={token}"), *V1_UNAUTHORIZED),
    ("api-key-20-kb", api_key("A" * 20_000), 431, "VALIDATION_ERROR"),
    # Content-Type (a route without a body reads none: the valid answer).
    ("content-type-missing", api_key("{token}", content_type=None), *V1_UNSUPPORTED),
    ("content-type-empty", api_key("{token}", content_type=""), *V1_UNSUPPORTED),
    ("content-type-text-plain", api_key("{token}", content_type="text/plain"), *V1_UNSUPPORTED),
    ("content-type-xml", api_key("{token}", content_type="application/xml"), *V1_UNSUPPORTED),
    ("content-type-form", api_key("{token}", content_type="application/x-www-form-urlencoded"), *V1_UNSUPPORTED),
    ("content-type-5-kb", api_key("{token}", content_type="application/" + "x" * 5000), *V1_UNSUPPORTED),
    ("content-type-plus-json", api_key("{token}", content_type="application/merge-patch+json"), *OK),
    ("content-type-upper-case", api_key("{token}", content_type="APPLICATION/JSON"), *OK),
    ("json-charset-bogus", api_key("{token}", content_type="application/json; charset=bogus"), *OK),
    ("gzip-content-encoding", api_key("{token}", extra=[("Content-Encoding", "gzip")], body=b"\x1f\x8b\x08\x00" + b"\x00" * 64), *V1_INVALID_JSON),
    ("expect-100-continue", api_key("{token}", extra=[("Expect", "100-continue")]), *OK),
    ("no-credential-and-no-content-type", request(None, content_type=None), *V1_UNAUTHORIZED),
    # Accept: v1 answers JSON whatever is asked.
    ("accept-xml", api_key("{token}", accept="application/xml"), *OK),
    ("accept-html", api_key("{token}", accept="text/html"), *OK),
    ("accept-garbage", api_key("{token}", accept=";;;,,,==q=x"), *OK),
    ("accept-xml-401", request(None, accept="application/xml"), *V1_UNAUTHORIZED),
    # What gunicorn refuses before the application runs.
    # (Refused while gunicorn reads the head: the request's first bytes name the path, so the v1 envelope.)
    ("header-line-20-kb", api_key("{token}", extra=[("X-Junk", "x" * 20_000)]), 431, "VALIDATION_ERROR"),
    ("request-line-10-kb", api_key("{token}", target="{path}?q=" + "x" * 10_000), 414, "VALIDATION_ERROR"),
    ("header-with-nul", api_key("{token}", extra=[("X-Junk", "a\x00b")]), 400, "VALIDATION_ERROR"),
    ("content-length-not-a-number", api_key("{token}", extra=[("Content-Length", "abc")]), 400, "VALIDATION_ERROR"),
    ("transfer-encoding-gzip", api_key("{token}", extra=[("Transfer-Encoding", "gzip")]), 400, "VALIDATION_ERROR"),
]
V1_BODY_CASES = {case for case, *_ in V1_CASES if case.startswith(("content-type", "json-", "gzip-"))}


def v1_cases():
    for route in ROUTES:
        if route.dialect != "v1":
            continue
        for case, build, status, code in V1_CASES:
            if route.request_type is None and case in V1_BODY_CASES:
                status, code = OK
            if (status, code) == OK:
                status, code = route.ok
            yield route, case, build, status, code


V1_ALL = list(v1_cases())


@pytest.mark.parametrize("route, case, build, status, code", V1_ALL, ids=[f"{c[1]}-{c[0]}" for c in V1_ALL])
def test_v1_header_abuse_is_answered_safely(hostile_server, route, case, build, status, code):
    check(hostile_server, route, build, status, code, "json")
