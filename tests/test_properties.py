"""Property tests (hypothesis): codec round trips, and random batches against a model of the collection.

1. Every request and response object written by the JSON or XML encoder (both namespaces) reads back as
   the same plain structure, and written XML validates against the published XSDs (JSON against the JSON
   Schemas). Strings outside what XML 1.0 can carry come back as U+FFFD, as documented.
2. Random batches (catalog ids in any case, ISRC ids, entry ids of the caller and of another user,
   unknown and malformed ids, non-strings, duplicates, oversized ids and batches) sent to the app give
   exactly the answers a small model predicts (an ordered dict of the collection), and the stored
   collection equals the model after every batch.

Example counts are modest for CI; GROOVE_COMPAT_LONG_TESTS=1 runs ten times as many.
"""

import csv
import json
import os
import re
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from conftest import SAMPLE_CATALOG, make_user, seeded_database
from groove_compat.app import create_app, get_store
from groove_compat.groove import codec, errors
from groove_compat.groove.contracts import NS_2013, NS_2016
from reliability import JSON_VALIDATORS, xml_schema

LONG = os.environ.get("GROOVE_COMPAT_LONG_TESTS") == "1"
EXAMPLES = 10 if LONG else 1


def examples(count):
    return settings(max_examples=count * EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ---------------------------------------------------------------------------------------------------------
# 1. Codec round trips

# XML 1.0 Char production (spec section 2.2): what an XML document can carry at all.
XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# Python strings that UTF-8 can carry (no lone surrogates, which a JSON \\ud800 escape can produce).
texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)


def through_xml(value):
    return XML_CHAR.sub("\ufffd", value)


def without_none(data):
    if isinstance(data, dict):
        return {key: without_none(value) for key, value in data.items() if value is not None}
    if isinstance(data, list):
        return [without_none(item) for item in data]
    return data


def mapped_strings(data, function):
    if isinstance(data, dict):
        return {key: mapped_strings(value, function) for key, value in data.items()}
    if isinstance(data, list):
        return [mapped_strings(item, function) for item in data]
    return function(data) if isinstance(data, str) else data


codes = st.sampled_from(sorted(errors.CATALOG))
error_objects = st.builds(
    lambda code, style, message: {
        "ErrorCode": errors.spell(code, style),
        "Description": errors.CATALOG[code][1],
        "Message": message,
    },
    codes,
    st.sampled_from(["hyphen", "underscore"]),
    st.none() | texts,
)
results = st.one_of(
    st.fixed_dictionaries({"InputId": st.none() | texts, "Id": texts}),
    st.fixed_dictionaries({"InputId": st.none() | texts, "Error": error_objects}),
    st.fixed_dictionaries({"InputId": st.none() | texts}),
)
OBJECTS = {
    "TrackActionRequest": st.fixed_dictionaries({"TrackIds": st.lists(texts, max_size=12)}),
    "TrackActionResponse": st.fixed_dictionaries(
        {"TrackActionResults": st.none() | st.lists(results, max_size=8), "Error": st.none() | error_objects}
    ),
}


@examples(60)
@given(type_and_data=st.sampled_from(sorted(OBJECTS)).flatmap(lambda name: st.tuples(st.just(name), OBJECTS[name])))
def test_json_round_trip(type_and_data):
    type_name, data = type_and_data
    written = codec.encode_json(type_name, data)
    document = json.loads(written)
    if type_name in JSON_VALIDATORS and type_name.endswith("Response"):
        JSON_VALIDATORS[type_name].validate(document)
    assert codec.read_json(written, type_name) == without_none(data)


@examples(60)
@given(
    type_and_data=st.sampled_from(sorted(OBJECTS)).flatmap(lambda name: st.tuples(st.just(name), OBJECTS[name])),
    namespace=st.sampled_from([NS_2013, NS_2016]),
)
def test_xml_round_trip_in_both_namespaces(type_and_data, namespace):
    type_name, data = type_and_data
    written = codec.encode_xml(type_name, data, namespace)
    xml_schema(namespace, type_name).assertValid(etree.fromstring(written))
    document, read_namespace = codec.read_xml(written, type_name)
    assert read_namespace == namespace
    assert document == mapped_strings(without_none(data), through_xml)


@examples(30)
@given(
    track_ids=st.lists(texts, max_size=8),
    member=st.sampled_from(["TrackIds", "trackids", "TRACKIDS", "trackIds"]),
    item=st.sampled_from(["TrackId", "string"]),
    namespace=st.sampled_from([NS_2013, NS_2016, None]),
)
def test_client_written_requests_read_as_the_same_structure(track_ids, member, item, namespace):
    """What clients send (any member case in JSON; <TrackId> or arrays <string> items in XML, in either
    namespace or none) reads as the structure the encoder's own output reads as."""
    expected = {"TrackIds": track_ids}
    assert codec.read_json(json.dumps({member: track_ids}).encode(), "TrackActionRequest") == expected
    item_namespace = ' xmlns:a="http://schemas.microsoft.com/2003/10/Serialization/Arrays"' if item == "string" else ""
    tag = "a:string" if item == "string" else "TrackId"
    escaped = [codec.xml_text(value) for value in track_ids]
    body = (
        f'<TrackActionRequest{f" xmlns={chr(34)}{namespace}{chr(34)}" if namespace else ""}><TrackIds{item_namespace}>'
        + "".join(f"<{tag}>{value}</{tag}>" for value in escaped)
        + "</TrackIds></TrackActionRequest>"
    )
    document, read_namespace = codec.read_xml(body.encode(), "TrackActionRequest")
    assert read_namespace == namespace
    assert document == {"TrackIds": [through_xml(value) for value in track_ids]}


def reference_xml_text(value):
    """xml_text by its definition: one pass of the full XML 1.0 character set, then the escapes."""
    return re.sub("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]", "\ufffd", value).translate(
        str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#xD;"})
    )


EDGE_CHARACTERS = ["\x00", "\x08", "\t", "\n", "\x0b", "\x0c", "\r", "\x0e", "\x1f", " ", "&", "<", ">", "\x7f",
                   "\x80", "\u00e9", "\ud7ff", "\ud800", "\ue000", "\ufffd", "\ufffe", "\uffff", "\U00010000", "\U0001f600"]


@pytest.mark.parametrize("character", EDGE_CHARACTERS, ids=[f"U+{ord(c):04X}" for c in EDGE_CHARACTERS])
def test_xml_text_and_its_ascii_fast_path_agree_with_the_definition_at_every_edge(character):
    for value in (character, "music." + character, "abc" + character + "def"):
        assert codec.xml_text(value) == reference_xml_text(value)
        assert codec.needs_xml_escaping(value) == (reference_xml_text(value) != value)


@examples(200)
@given(value=st.text(alphabet=st.characters() | st.characters(max_codepoint=0x7F), max_size=40))
def test_xml_text_and_its_ascii_fast_path_agree_with_the_definition(value):
    assert codec.xml_text(value) == reference_xml_text(value)
    assert codec.needs_xml_escaping(value) == (reference_xml_text(value) != value)


# ---------------------------------------------------------------------------------------------------------
# 2. Random batches against a model of the collection

with open(SAMPLE_CATALOG, newline="") as handle:
    CATALOG = list(csv.DictReader(handle))
CATALOG_GUIDS = [row["id"][len("music."):].upper() for row in CATALOG]
ISRC_TO_GUID = {}
for row in CATALOG:
    if row["isrc"]:
        ISRC_TO_GUID.setdefault(row["isrc"], []).append(row["id"][len("music."):].upper())
GUID_FORM = re.compile(r"^music\.[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$")
ADD = "/1/content/music/collection/add"


def any_case(text, draw):
    flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    return "".join(char.lower() if flip else char.upper() for char, flip in zip(text, flips))


@st.composite
def items(draw):
    kind = draw(st.sampled_from(
        ["catalog", "catalog", "catalog", "isrc", "own-entry", "other-entry", "unknown", "namespace-case",
         "text", "long", "not-a-string", "repeat"]
    ))
    if kind == "catalog":
        return "music." + any_case(draw(st.sampled_from(CATALOG_GUIDS)), draw)
    if kind == "isrc":
        isrc = draw(st.sampled_from(sorted(ISRC_TO_GUID)))
        hyphenated = f"{isrc[:2]}-{isrc[2:5]}-{isrc[5:7]}-{isrc[7:]}" if draw(st.booleans()) else isrc
        return any_case("music.isrc.", draw) + any_case(hyphenated, draw)
    if kind in ("own-entry", "other-entry", "repeat"):
        return (kind, draw(st.integers(0, 10**6)))  # resolved when the batch is sent
    if kind == "unknown":
        return "music." + str(uuid.UUID(int=draw(st.integers(0, 2**128 - 1)))).upper()
    if kind == "namespace-case":
        return "MUSIC." + draw(st.sampled_from(CATALOG_GUIDS))
    if kind == "long":
        return "music.isrc." + draw(st.sampled_from(sorted(ISRC_TO_GUID))) + "-" * draw(st.integers(240, 400))
    if kind == "not-a-string":
        return draw(st.one_of(st.integers(), st.none(), st.booleans(), st.floats(allow_nan=False, allow_infinity=False), st.lists(st.integers(), max_size=2)))
    return draw(texts)


batches = st.lists(st.lists(items(), max_size=12) | st.lists(items(), min_size=101, max_size=104), min_size=1, max_size=6)


class CollectionModel:
    """What the add endpoint promises, stated without the server's code: an ordered dict of tracks."""

    def __init__(self):
        self.tracks = {}  # catalog GUID (upper case) -> entry id, in collection order
        self.entry_track = {}  # entry id -> GUID, for the caller's own entry ids

    def resolve(self, item):
        """The catalog GUID an item names for this caller, or None (COLLECTION-INVALID-ID)."""
        if not isinstance(item, str) or len(item) > 256:
            return None
        if GUID_FORM.match(item):
            guid = item[len("music."):].upper()
            return guid if guid in CATALOG_GUIDS else None
        if item[:11].lower() == "music.isrc.":
            matches = ISRC_TO_GUID.get(item[11:].replace("-", "").strip().upper(), [])
            return matches[0] if len(matches) == 1 else None
        return self.entry_track.get(item)

    @staticmethod
    def input_id(item):
        if item is None:
            return None
        if isinstance(item, str):
            return "music." + item[len("music."):].upper() if GUID_FORM.match(item) else item
        return json.dumps(item, separators=(",", ":"))


def concrete(batch, model, other_entries, previous):
    """Turn the placeholder items (entry ids, repeats) into real ones, given what exists so far."""
    resolved = []
    for item in batch:
        if isinstance(item, tuple):
            kind, pick = item
            pool = {"own-entry": sorted(model.entry_track), "other-entry": other_entries, "repeat": resolved or previous}[kind]
            item = pool[pick % len(pool)] if pool else "music.AQQ" + "A" * 31
        resolved.append(item)
    return resolved


@pytest.fixture(scope="module")
def shared_app(tmp_path_factory):
    """One database for every example; each example gets new users, so a fresh, empty collection."""
    database = tmp_path_factory.mktemp("properties") / "groove-compat.sqlite"
    seeded_database(database)
    app = create_app({"DATABASE": str(database), "TESTING": True, "RATE_LIMIT_PER_MINUTE": 0})
    yield app
    get_store(app).close()


@examples(25)
@given(batches=batches)
def test_random_batches_match_the_model(shared_app, batches):
    client = shared_app.test_client()
    store = get_store(shared_app)
    alice, bob = make_user(store, "alice"), make_user(store, "bob")
    bob_answer = client.post(ADD, json={"TrackIds": ["music." + CATALOG_GUIDS[0], "music." + CATALOG_GUIDS[1]]}, headers=bob.headers)
    other_entries = [result["Id"] for result in bob_answer.get_json()["TrackActionResults"]]
    model = CollectionModel()
    previous = []
    for batch in batches:
        batch = concrete(batch, model, other_entries, previous)
        previous = [item for item in batch if isinstance(item, str)]
        before = store.snapshot()
        answer = client.post(ADD, json={"TrackIds": batch}, headers=alice.headers)
        body = answer.get_json()
        if not batch:
            assert answer.status_code == 400 and body["Error"]["ErrorCode"] == "MISSING-INPUT-PARAMETER"
            assert store.snapshot() == before
            continue
        if len(batch) > 100:
            assert answer.status_code == 400 and body["Error"]["ErrorCode"] == "COLLECTION-INVALID-OPERATION"
            assert "TrackActionResults" not in body
            assert store.snapshot() == before
            continue
        assert answer.status_code == 200
        results = body["TrackActionResults"]
        assert len(results) == len(batch)
        failed = 0
        for item, result in zip(batch, results):
            assert result.get("InputId") == model.input_id(item)
            guid = model.resolve(item)
            if guid is None:
                failed += 1
                assert "Id" not in result
                assert result["Error"]["ErrorCode"] == "COLLECTION-INVALID-ID"
                continue
            assert "Error" not in result
            entry = model.tracks.setdefault(guid, result["Id"])
            assert result["Id"] == entry, "the same track got a different entry id"
            model.entry_track[entry] = guid
        assert ("Error" in body) == (failed > 0)
        if failed:
            assert body["Error"]["ErrorCode"] == "COLLECTION-SOME-OPERATIONS-FAILED"
        stored = store.collection_track_ids(store.user(alice.user_id)["library_id"])
        guids = [
            bytes(row[0]).hex().upper()
            for row in (store.connection.execute("SELECT guid FROM tracks WHERE id = ?", (track,)).fetchone() for track in stored)
        ]
        assert guids == [guid.replace("-", "") for guid in model.tracks], "stored collection differs from the model"
    # bob's collection never moved.
    assert len(store.collection_track_ids(store.user(bob.user_id)["library_id"])) == 2
