"""Hostile XML against every route that reads a body, on a live server.

Each case must get its documented status with a Groove error body of the route's response type (checked
against the published XSD or JSON Schema), within one second, without the server opening a file or a
connection (a named-pipe trap and a loopback listener watch), and without a change to stored data. The
last test replays every case and checks the workers' resident memory.

Cases are rows of ``CASES``: ``(id, build(route, traps) -> bytes, status, error code)``. A new route joins
by its row in ``reliability.ROUTES`` and its members in ``ITEM`` (with ``{}`` where the attacked id goes).
"""

import time

import pytest
import requests

from conftest import seeded_database
from reliability import (
    GROOVE_BODY_ROUTES,
    ONE_PLAYLIST,
    UNKNOWN_PLAYLIST,
    targets_of,
    NS_2013,
    NS_2016,
    UNKNOWN_TRACK,
    FileTrap,
    LoopbackListener,
    ServerProcess,
    parse_groove_answer,
    snapshot,
    assert_memory_steady,
)

# Per route: its members with ``{}`` where the id the cases attack goes (in DataContract order). The
# valid request puts an id that names nothing there (its one item fails, or no playlist has it).
ITEM = {
    "groove.add": "<TrackIds><TrackId>{}</TrackId></TrackIds>",
    "groove.delete": "<TrackIds><TrackId>{}</TrackId></TrackIds>",
    "groove.playlists.create": "<Name>{}</Name>",
    "groove.playlists.update": "<Id>{}</Id><Name>Hostile</Name>",
    "groove.playlists.delete": "<Id>{}</Id>",
}
ITEM_VALUE = {"TrackActionRequest": UNKNOWN_TRACK, "PlaylistAction": UNKNOWN_PLAYLIST}
ROUTES = GROOVE_BODY_ROUTES


def item(route, text):
    return ITEM[route.name].format(text)


def valid_inner(route):
    """The members of the route's valid request."""
    return item(route, ITEM_VALUE[route.request_type])

OK_NOTHING_STORED = ("OK",)  # the route's answer to its valid request: parsed, nothing stored
REFUSED = (400, "INVALID_INPUT_PARAMETER")
MEGABYTE = 1024 * 1024


def document(route, inner=None, *, namespace=NS_2013, prolog="", attributes=""):
    inner = valid_inner(route) if inner is None else inner
    xmlns = f' xmlns="{namespace}"' if namespace else ""
    return f"{prolog}<{route.request_type}{xmlns}{attributes}>{inner}</{route.request_type}>"


def with_doctype(route, subset, inner):
    return document(route, inner, prolog=f"<!DOCTYPE {route.request_type} [{subset}]>")


def billion_laughs(route, traps):
    subset = '<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{level} "{f"&lol{level - 1};" * 10}">' for level in range(1, 10)
    )
    return with_doctype(route, subset, item(route, "&lol9;"))


def quadratic_blowup(route, traps):
    subset = f'<!ENTITY a "{"x" * 50_000}">'
    return with_doctype(route, subset, item(route, "&a;" * 20_000))


def external_entity(target):
    def build(route, traps):
        subset = f'<!ENTITY xxe SYSTEM "{target(traps)}">'
        return with_doctype(route, subset, item(route, "&xxe;"))

    return build


def parameter_entity(target):
    def build(route, traps):
        subset = f'<!ENTITY % remote SYSTEM "{target(traps)}"> %remote;'
        return with_doctype(route, subset, valid_inner(route))

    return build


def external_dtd(target, public=False):
    def build(route, traps):
        identifier = f'PUBLIC "-//Hostile//DTD//EN" "{target(traps)}"' if public else f'SYSTEM "{target(traps)}"'
        return document(route, prolog=f"<!DOCTYPE {route.request_type} {identifier}>")

    return build


def xinclude(target, parse="text", where="item"):
    def build(route, traps):
        include = f'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="{target(traps)}" parse="{parse}"/>'
        if where == "item":
            return document(route, item(route, include))
        return document(route, include + valid_inner(route))

    return build


def secret_file(traps):
    return "file://" + traps.trap.secret_file


def fifo_file(traps):
    return "file://" + traps.trap.fifo


def fifo_path(traps):
    return traps.trap.fifo


def loopback(traps):
    return traps.listener.url + "/hostile.dtd"


def fixed(text):
    """``{root}``: the request object; ``{valid}``: the valid members; ``{item:X}``: the members with X."""

    def build(route, traps):
        built = text.replace("{root}", route.request_type).replace("{valid}", valid_inner(route))
        if "{item:" in built:
            head, rest = built.split("{item:", 1)
            inside, tail = rest.split(":item}", 1)
            built = head + item(route, inside) + tail
        return built

    return build


def valid(namespace=NS_2013, **kwargs):
    return lambda route, traps: document(route, namespace=namespace, **kwargs)


def encoded(encoding, *, bom=b"", declaration=None, build=None):
    def encode(route, traps):
        text = (build or valid())(route, traps)
        if declaration is not None:
            text = f'<?xml version="1.0" encoding="{declaration}"?>' + text
        return bom + text.encode(encoding)

    return encode


def deep(levels, *, inside_item=False):
    def build(route, traps):
        nest = "<a>" * levels + "x" + "</a>" * levels
        if inside_item:
            return document(route, item(route, nest))
        return document(route, nest + valid_inner(route))

    return build


def many_ids(count):
    return lambda route, traps: document(
        route, "<TrackIds>" + f"<TrackId>{UNKNOWN_TRACK}</TrackId>" * count + "</TrackIds>"
    )


def padded(size):
    """A legit-looking request padded with whitespace to ``size`` bytes."""

    def build(route, traps):
        text = valid()(route, traps)
        return document(route, " " * (size - len(text)) + valid_inner(route))

    return build


CASES = [
    # Entity expansion bombs (internal entities): refused before any expansion.
    ("billion-laughs", billion_laughs, *REFUSED),
    ("quadratic-blowup", quadratic_blowup, *REFUSED),
    ("billion-laughs-utf16", encoded("utf-16-le", bom=b"\xff\xfe", build=billion_laughs), *REFUSED),
    ("billion-laughs-utf16-no-bom", encoded("utf-16-le", build=billion_laughs), *REFUSED),
    ("billion-laughs-utf16-be", encoded("utf-16-be", bom=b"\xfe\xff", build=billion_laughs), *REFUSED),
    # External entities, to a file (a plain file and a named-pipe trap) and to a loopback URL.
    ("xxe-file", external_entity(secret_file), *REFUSED),
    ("xxe-file-path", external_entity(fifo_path), *REFUSED),
    ("xxe-fifo", external_entity(fifo_file), *REFUSED),
    ("xxe-loopback", external_entity(loopback), *REFUSED),
    ("xxe-utf16", encoded("utf-16-le", bom=b"\xff\xfe", build=external_entity(fifo_file)), *REFUSED),
    # Parameter entities and external DTDs.
    ("parameter-entity-loopback", parameter_entity(loopback), *REFUSED),
    ("parameter-entity-fifo", parameter_entity(fifo_file), *REFUSED),
    ("external-dtd-loopback", external_dtd(loopback), *REFUSED),
    ("external-dtd-fifo", external_dtd(fifo_file), *REFUSED),
    ("external-dtd-public", external_dtd(loopback, public=True), *REFUSED),
    ("doctype-empty", fixed("<!DOCTYPE {root}><{root}>{valid}</{root}>"), *REFUSED),
    # XInclude, in an item and at the top.
    ("xinclude-file-text", xinclude(secret_file), *REFUSED),
    ("xinclude-fifo", xinclude(fifo_file), *REFUSED),
    ("xinclude-loopback", xinclude(loopback, parse="xml", where="root"), *REFUSED),
    ("xinclude-2003-namespace", fixed(
        '<{root}><x:include xmlns:x="http://www.w3.org/2003/XInclude" href="/etc/passwd"/>{valid}</{root}>'
    ), *REFUSED),
    # References to outside resources that a parser must simply ignore.
    ("schema-location-loopback", lambda route, traps: document(
        route, attributes=' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
        f' xsi:schemaLocation="{NS_2013} {traps.listener.url}/s.xsd" xsi:noNamespaceSchemaLocation="{traps.trap.fifo}"'
    ), *OK_NOTHING_STORED),
    ("stylesheet-pi-loopback", lambda route, traps: document(
        route, prolog=f'<?xml-stylesheet type="text/xsl" href="{traps.listener.url}/x.xsl"?>'
    ), *OK_NOTHING_STORED),
    ("undeclared-entity", fixed("<{root}>{item:&nope;:item}</{root}>"), *REFUSED),
    # Size: tens of megabytes (refused unread), and large but under the limit.
    ("twenty-megabytes", lambda route, traps: padded(20 * MEGABYTE)(route, traps), 413, "INVALID_INPUT_PARAMETER"),
    ("just-under-the-limit", padded(MEGABYTE - 1024), *OK_NOTHING_STORED),
    ("fifteen-thousand-ids", many_ids(15_000), 400, "COLLECTION_INVALID_OPERATION"),
    ("one-id-of-900-kb", lambda route, traps: document(
        route, "<TrackIds><TrackId>" + "music." + "A" * 900_000 + "</TrackId></TrackIds>"
    ), *OK_NOTHING_STORED),
    ("attribute-of-900-kb", valid(attributes=' junk="' + "x" * 900_000 + '"'), *OK_NOTHING_STORED),
    ("forty-thousand-unknown-elements", lambda route, traps: document(route, "<x/>" * 40_000 + valid_inner(route)), *OK_NOTHING_STORED),
    ("ten-thousand-namespaces", valid(attributes="".join(f' xmlns:p{n}="urn:{n}"' for n in range(10_000))), *OK_NOTHING_STORED),
    ("huge-comment", valid(prolog="<!--" + "-x" * 400_000 + "-->"), *OK_NOTHING_STORED),
    # Nesting.
    ("nesting-100000-deep", deep(100_000), *REFUSED),
    ("nesting-300-deep", deep(300), *REFUSED),
    ("nesting-200-deep-in-an-item", deep(200, inside_item=True), *REFUSED),
    ("nesting-200-deep-ignored-member", deep(200), *OK_NOTHING_STORED),
    # Encodings and byte-order marks.
    ("utf-8-bom", encoded("utf-8", bom=b"\xef\xbb\xbf"), *OK_NOTHING_STORED),
    ("utf-8-bom-and-declaration", encoded("utf-8", bom=b"\xef\xbb\xbf", declaration="utf-8"), *OK_NOTHING_STORED),
    ("utf-16-le-bom", encoded("utf-16-le", bom=b"\xff\xfe"), *OK_NOTHING_STORED),
    ("utf-16-be-bom", encoded("utf-16-be", bom=b"\xfe\xff"), *OK_NOTHING_STORED),
    ("utf-16-le-bom-and-declaration", encoded("utf-16-le", bom=b"\xff\xfe", declaration="utf-16"), *OK_NOTHING_STORED),
    ("utf-16-le-no-bom-declared", encoded("utf-16-le", declaration="UTF-16LE"), *OK_NOTHING_STORED),
    ("utf-16-le-no-bom-undeclared", encoded("utf-16-le"), *OK_NOTHING_STORED),
    ("utf-16-be-no-bom-undeclared", encoded("utf-16-be"), *OK_NOTHING_STORED),
    ("latin-1-declared", encoded("latin-1", declaration="ISO-8859-1"), *OK_NOTHING_STORED),
    ("utf-16-bom-declared-utf-8", encoded("utf-16-le", bom=b"\xff\xfe", declaration="utf-8"), *OK_NOTHING_STORED),
    ("unknown-encoding-declared", encoded("utf-8", declaration="x-no-such-encoding"), *REFUSED),
    ("invalid-utf-8", lambda route, traps: document(route).encode().replace(b"9BB2", b"\xff\xfe\xc3("), *REFUSED),
    ("nul-byte", lambda route, traps: document(route).encode().replace(b"9BB2", b"9\x00B2"), *REFUSED),
    ("control-character-reference", lambda route, traps: document(route).replace("9BB2", "&#x1;BB2"), *REFUSED),
    # Namespaces.
    ("namespace-2016", valid(NS_2016), *OK_NOTHING_STORED),
    ("no-namespace", valid(None), *OK_NOTHING_STORED),
    ("wrong-namespace", valid("http://example.com/hostile"), *REFUSED),
    ("wrong-namespace-by-prefix", fixed(
        '<h:{root} xmlns:h="urn:hostile">{valid}</h:{root}>'
    ), *REFUSED),
    ("children-in-another-namespace", fixed(
        f'<{{root}} xmlns="{NS_2013}"><TrackIds xmlns="{NS_2016}"><TrackId>{UNKNOWN_TRACK}</TrackId></TrackIds></{{root}}>'
    ), *OK_NOTHING_STORED),
    # Shape.
    ("wrong-root", fixed(f'<NotARequest xmlns="{NS_2013}">{{valid}}</NotARequest>'), *REFUSED),
    ("truncated", lambda route, traps: document(route)[:-10], *REFUSED),
    ("two-roots", lambda route, traps: document(route) * 2, *REFUSED),
    ("trailing-garbage", lambda route, traps: document(route) + "garbage", *REFUSED),
    ("json-sent-as-xml", fixed('{"TrackIds": ["music.9BB2C5C5-455C-4C15-827C-F9BFD759A458"]}'), *REFUSED),
    ("cdata-item", lambda route, traps: document(route, item(route, f"<![CDATA[{ITEM_VALUE[route.request_type]}]]>")), *OK_NOTHING_STORED),
    ("character-references", lambda route, traps: document(route, item(route, "&#x6D;" + ITEM_VALUE[route.request_type][1:])), *OK_NOTHING_STORED),
    ("nil-list", fixed('<{root} xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><TrackIds i:nil="true"/></{root}>'), 400, "MISSING_INPUT_PARAMETER"),
    ("empty-list", fixed("<{root}><TrackIds/></{root}>"), 400, "MISSING_INPUT_PARAMETER"),
    ("only-whitespace", fixed("   \r\n\t  "), 400, "MISSING_INPUT_PARAMETER"),
    ("only-a-bom", fixed("\ufeff"), 400, "MISSING_INPUT_PARAMETER"),
    ("xml-declaration-only", fixed('<?xml version="1.0"?>'), *REFUSED),
    ("xml-version-1.1", valid(prolog='<?xml version="1.1"?>'), *OK_NOTHING_STORED),
]


# Cases about the TrackIds list itself (its size, nil or empty, its items' namespace and length).
TRACK_ACTION_ONLY = {
    "fifteen-thousand-ids", "one-id-of-900-kb", "nil-list", "empty-list", "children-in-another-namespace",
}


def cases_for(route):
    cases = []
    for case, build, *outcome in CASES:
        if route.request_type != "TrackActionRequest" and case in TRACK_ACTION_ONLY:
            continue
        outcome = tuple(outcome)
        cases.append((route, case, build, *(route.ok if outcome == ("OK",) else outcome)))
    return cases


ALL_CASES = [case for route in ROUTES for case in cases_for(route)]
MEMORY_ROUTES = [ROUTES[0]] + [route for route in ROUTES if route.request_type == "PlaylistAction"][:1]


class Traps:
    def __init__(self, listener, trap):
        self.listener = listener
        self.trap = trap


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile-xml")
    database = folder / "groove-compat.sqlite"
    users = seeded_database(database)
    targets = targets_of(database, users["alice"])
    with LoopbackListener() as listener, FileTrap(str(folder)) as trap, ServerProcess(database, env=ONE_PLAYLIST) as server:
        server.users = users
        server.targets = targets
        server.traps = Traps(listener, trap)
        yield server


def post(server, route, body, *, content_type="application/xml", user="alice"):
    headers = dict(server.users[user].headers)
    if content_type is not None:
        headers["Content-Type"] = content_type
    if isinstance(body, str):
        body = body.encode("utf-8")
    started = time.monotonic()
    response = requests.request(route.method, server.url + route.target(server.targets), data=body, headers=headers, timeout=10)
    return response, time.monotonic() - started


def check_case(server, route, build, status, code):
    traps = server.traps
    before = snapshot(server.database)
    response, elapsed = post(server, route, build(route, traps))
    assert response.status_code == status, response.content[:500]
    _, answered_code, _ = parse_groove_answer(response.headers.get("Content-Type"), response.content, route.response_type)
    assert answered_code == code
    assert response.status_code < 500
    assert elapsed < 1.0, f"answered in {elapsed:.2f}s"
    assert traps.trap.secret.encode() not in response.content
    assert traps.trap.opens == 0, "the server opened the trap file"
    assert traps.listener.connections == 0, "the server connected to the loopback listener"
    assert snapshot(server.database) == before


@pytest.mark.parametrize("route, case, build, status, code", ALL_CASES, ids=[f"{c[1]}-{c[0]}" for c in ALL_CASES])
def test_hostile_xml_is_refused_safely(hostile_server, route, case, build, status, code):
    check_case(hostile_server, route, build, status, code)


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_twenty_megabytes_sent_chunked_are_refused(hostile_server, route):
    """No Content-Length: the limit holds on the stream as it is read."""
    before = snapshot(hostile_server.database)
    body = padded(20 * MEGABYTE)(route, hostile_server.traps).encode()
    chunks = (body[offset:offset + 65536] for offset in range(0, len(body), 65536))
    headers = dict(hostile_server.users["alice"].headers, **{"Content-Type": "application/xml"})
    started = time.monotonic()
    try:
        response = requests.post(hostile_server.url + route.target(hostile_server.targets), data=chunks, headers=headers, timeout=10)
    except requests.ConnectionError:
        pytest.fail("the connection was reset before the 413 answer could be read")
    assert time.monotonic() - started < 1.0
    assert response.status_code == 413
    assert parse_groove_answer(response.headers["Content-Type"], response.content, route.response_type)[1] == "INVALID_INPUT_PARAMETER"
    assert snapshot(hostile_server.database) == before


@pytest.mark.parametrize("route", MEMORY_ROUTES, ids=str)
def test_hostile_xml_does_not_grow_worker_memory(hostile_server, route):
    """Replay every case three times once warmed up: no worker's RSS grows by reliability.MEMORY_GROWTH_KIB.

    Warm-up rounds run until RSS settles (caches filled, allocator pools at their working size; at most
    eight rounds): what grows after that, round after round, is what a leak would look like."""
    traps = hostile_server.traps
    bodies = [(build(route, traps), status) for _, _, build, status, _ in cases_for(route)]

    def round_trip():
        for body, status in bodies:
            response, _ = post(hostile_server, route, body)
            assert response.status_code == status

    assert_memory_steady(hostile_server, round_trip, label=f"xml cases={len(bodies)}")
    assert traps.trap.opens == 0 and traps.listener.connections == 0
