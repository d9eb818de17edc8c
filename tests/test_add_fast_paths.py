"""The fast paths of the add request give exactly what the general paths give.

Each fast path (orjson reading and writing, the TrackActionResponse writers, the XML list reader, the
entry-id permutation, the catalog-id parser, the multi-row append) is checked against the general path or a
plain reference implementation, on ordinary and hostile inputs, and end to end through the HTTP client.
"""

import hashlib
import json
import random
import uuid

import pytest

from conftest import TRACK_A, TRACK_B, TRACK_C, UNKNOWN_TRACK, run_in_threads
from groove_compat import ids
from groove_compat.groove import codec
from groove_compat.groove.contracts import NS_2013, NS_2016, NS_ARRAYS, NS_INSTANCE

ADD = "/1/content/music/collection/add"


def standard_only(monkeypatch):
    """Turn the fast paths off: what the general paths answer."""
    monkeypatch.setattr(codec, "orjson", None)
    monkeypatch.setattr(codec, "_successes", lambda data: None)


def read_both(monkeypatch, body, reader):
    def attempt():
        try:
            return ("ok", reader(body))
        except codec.BodyError as error:
            return ("error", error.message)

    fast = attempt()
    with monkeypatch.context() as patch:
        standard_only(patch)
        standard = attempt()
    return fast, standard


# ---------------------------------------------------------------------------------------------------------
# Reading JSON

JSON_BODIES = [
    b'{"TrackIds":["music.A83EB907-0100-11DB-89CA-0019B92A3933"]}',
    b' \r\n{ "trackids" : [ "a" , null , true , false , {"x": "y"} , [] ] } \n',
    b'{"TrackIds":["a"],"TrackIds":["b"]}',  # a member named twice
    b'{"TrackIds":["a"],"trackIds":["b"]}',  # twice, in two spellings
    b'{"TrackIds":[{"a":1,"a":2}]}',  # a nested member named twice
    b'{"TrackIds":["a:b:c"],"Other":"x:y"}',  # colons inside strings
    b'{"TrackIds":["a"],"Tra\\u0063kIds":["b"]}',  # the same name through an escape
    b'{"TrackIds":[NaN]}',
    b'{"TrackIds":[Infinity, -Infinity]}',
    b'{"TrackIds":[1e400]}',
    b'{"TrackIds":[123456789012345678901234567890, -9223372036854775809, 18446744073709551616]}',
    b'{"TrackIds":[1, 2.5, -0, -0.0, 1E5]}',
    b'{"TrackIds":["\\ud800", "\\udc00\\ud800"]}',  # lone surrogates
    b'{"TrackIds":["\xed\xa0\x80"]}',  # a surrogate encoded in UTF-8: not UTF-8
    b'{"TrackIds":["\xff"]}',
    b'{"TrackIds":["\x1f"]}',  # a raw control character
    b'{"TrackIds":["\\u2028\\u0000\xe2\x80\xa8\xf0\x9f\x8e\xb5"]}',
    '{"TrackIds":["x"]}'.encode("utf-16-le"),
    '{"TrackIds":["x"]}'.encode("utf-16"),
    '{"TrackIds":["x"]}'.encode("utf-32"),
    b"\xef\xbb\xbf" + b'{"TrackIds":["x"]}',
    b'{"TrackIds":["x"]} x',
    b'{"TrackIds":["x"]',
    b'["x"]',
    b'"x"',
    b"null",
    b"[" * 5000 + b"]" * 5000,
    b'{"a":' * 3000 + b"1" + b"}" * 3000,
    b'{"TrackIds":' + b"[" * 900 + b"]" * 900 + b"}",
    b'{"TrackIds":["x"],"":1}',
    b'{"TrackIds":["x"]}\x00',
    b'{"TrackIds":["x"]}\x0c',
]


@pytest.mark.parametrize("body", JSON_BODIES, ids=range(len(JSON_BODIES)))
def test_json_bodies_read_as_the_standard_decoder_reads_them(monkeypatch, body):
    fast, standard = read_both(monkeypatch, body, lambda raw: codec.read_json(raw, "TrackActionRequest"))
    assert repr(fast) == repr(standard)


def test_a_member_named_twice_is_still_refused():
    with pytest.raises(codec.BodyError, match="names the member 'TrackIds' twice"):
        codec.read_json(b'{"TrackIds":["a"],"TrackIds":["b"]}', "TrackActionRequest")


# ---------------------------------------------------------------------------------------------------------
# Writing JSON and XML

AWKWARD = ['"', "\\", "\n\r\t\b\f", "\x00\x1f\x7f", "é\u2028\u2029\U0001f3b5", "<&>]]>", "\ufffe\uffff", "\ud800", "a:b"]


def success_responses():
    entry = "music.AQQfZ78ml185KUqtiDc9dx6i6Ae5PqgAAQ"
    yield {"TrackActionResults": [{"InputId": TRACK_A, "Id": entry}]}
    yield {"TrackActionResults": [{"InputId": f"music.{uuid.UUID(int=n)}".upper(), "Id": entry} for n in range(100)]}
    yield {"TrackActionResults": []}
    for text in AWKWARD:
        yield {"TrackActionResults": [{"InputId": TRACK_A, "Id": entry}, {"InputId": text, "Id": entry + text}]}
    # Not all successes: the fast paths step aside.
    yield {"TrackActionResults": [{"Id": entry, "InputId": TRACK_A}, {"InputId": None, "Id": entry}]}
    yield {
        "TrackActionResults": [{"InputId": "x", "Error": {"ErrorCode": "COLLECTION-INVALID-ID", "Description": "d"}}],
        "Error": {"ErrorCode": "COLLECTION-SOME-OPERATIONS-FAILED", "Description": "Some of the operations failed"},
    }


RESPONSES = list(success_responses())


@pytest.mark.parametrize("response", RESPONSES, ids=range(len(RESPONSES)))
@pytest.mark.parametrize("fmt", ["json", "xml-2013", "xml-2016"])
def test_answers_are_written_byte_for_byte_as_the_general_writer_writes_them(monkeypatch, response, fmt):
    def write():
        if fmt == "json":
            return codec.encode_json("TrackActionResponse", response)
        return codec.encode_xml("TrackActionResponse", response, NS_2013 if fmt == "xml-2013" else NS_2016)

    fast = write()
    with monkeypatch.context() as patch:
        standard_only(patch)
        standard = write()
    assert fast == standard
    if fmt == "json":
        json.loads(fast)  # and it is JSON


# ---------------------------------------------------------------------------------------------------------
# Reading XML


def xml_request(items, namespace=NS_2013, extra=""):
    return (
        f'<TrackActionRequest xmlns:i="{NS_INSTANCE}" xmlns="{namespace}"{extra}>'
        f'<TrackIds xmlns:d2p1="{NS_ARRAYS}">{items}</TrackIds></TrackActionRequest>'
    ).encode()


@pytest.mark.parametrize(
    "body, expected",
    [
        (xml_request("<d2p1:string>a</d2p1:string><d2p1:string>b</d2p1:string>"), ("ok", ["a", "b"])),
        (xml_request("<d2p1:string>a</d2p1:string><d2p1:string/><TrackId>c</TrackId>"), ("ok", ["a", "", "c"])),
        (xml_request('<d2p1:string>a</d2p1:string><d2p1:string i:nil="true"/><d2p1:string i:nil="1"/>'
                     '<d2p1:string i:nil="false">d</d2p1:string>'), ("ok", ["a", None, None, "d"])),
        (xml_request("<d2p1:string>a<b/></d2p1:string>"), ("error", "The items of TrackIds must hold text, not elements")),
        (xml_request('<d2p1:string i:nil="true"><b/></d2p1:string>'),
         ("error", "The items of TrackIds must hold text, not elements")),
        # nil in another namespace, or unqualified, is no xsi:nil: the item's text counts
        (xml_request('<d2p1:string x:nil="true" xmlns:x="urn:other">a</d2p1:string><d2p1:string nil="true">b</d2p1:string>'),
         ("ok", ["a", "b"])),
        (xml_request("<d2p1:string>a</d2p1:string><d2p1:string>b<!-- c --></d2p1:string>"), ("ok", ["a", "b"])),
        (xml_request("<d2p1:string><![CDATA[a<b]]></d2p1:string><!-- c --><d2p1:string>d<?pi x?></d2p1:string>"),
         ("ok", ["a<b", "d"])),
        (xml_request('<xi:include href="/etc/passwd"/>', extra=' xmlns:xi="http://www.w3.org/2001/XInclude"'),
         ("error", "XInclude is not accepted")),
        (xml_request('<d2p1:string>a</d2p1:string><xi:include href="x"/>',
                     extra=' xmlns:xi="http://www.w3.org/2003/XInclude"'), ("error", "XInclude is not accepted")),
        (xml_request("", namespace=NS_2016), ("ok", [])),
    ],
)
def test_xml_lists_of_ids(body, expected):
    assert read_track_ids(body) == expected


def read_track_ids(body):
    try:
        document, _ = codec.read_xml(body, "TrackActionRequest")
        return ("ok", document["TrackIds"])
    except codec.BodyError as error:
        return ("error", error.message)


def test_xml_lists_read_in_many_threads_at_once_read_alike():
    """Threads reading lists at once read each its own (lxml frees the GIL while it parses)."""
    bodies = [
        (xml_request("".join(f"<d2p1:string>{number}-{item}</d2p1:string>" for item in range(100))),
         ("ok", [f"{number}-{item}" for item in range(100)]))
        for number in range(4)
    ] + [(xml_request('<d2p1:string i:nil="true"/><d2p1:string>a<b/></d2p1:string>'),
          ("error", "The items of TrackIds must hold text, not elements"))]
    failures = []

    def read_many():
        for _ in range(200):
            for body, expected in bodies:
                if read_track_ids(body) != expected:
                    failures.append(body)

    run_in_threads(read_many, 4)
    assert failures == []


# ---------------------------------------------------------------------------------------------------------
# Ids


def reference_permute(key, value, purpose, bits):
    """The Feistel network as specified: a fresh keyed blake2b per round."""
    half_bits, half_bytes = bits // 2, bits // 16
    left, right = value >> half_bits, value & ((1 << half_bits) - 1)
    for round_number in range(4):
        person = (purpose + bytes([round_number]))[:16]
        digest = hashlib.blake2b(right.to_bytes(half_bytes, "big"), digest_size=half_bytes, key=key, person=person)
        left, right = right, left ^ int.from_bytes(digest.digest(), "big")
    return (left << half_bits) | right


def reference_entry_id(key, collection_id, track_id, guid):
    middle = reference_permute(key, (collection_id << 64) | track_id, b"entry", 128).to_bytes(16, "big")
    raw = ids.ENTRY_PREFIX + middle + uuid.UUID(bytes=guid).bytes_le[:6]
    import base64

    return "music." + base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.mark.parametrize("seed", range(5))
def test_entry_ids_are_the_specified_permutation(seed):
    generator = random.Random(seed)
    key = generator.randbytes(32)
    codec_ = ids.IdCodec(key)
    for _ in range(200):
        collection_id = generator.randrange(1, 1 << generator.choice((8, 32, 62)))
        track_id = generator.randrange(1, 1 << generator.choice((8, 32, 62)))
        guid = generator.randbytes(16)
        entry_id = codec_.entry_id(collection_id, track_id, guid)
        assert entry_id == reference_entry_id(key, collection_id, track_id, guid)
        assert codec_.parse_entry_id(entry_id) == (collection_id, track_id, uuid.UUID(bytes=guid).bytes_le[:6])
        for kind in ids.PUBLIC_PREFIXES:
            public = codec_.public_id(kind, track_id)
            assert public == ids.PUBLIC_PREFIXES[kind] + format(
                reference_permute(key, track_id, ids.PUBLIC_PREFIXES[kind].encode(), 64), "016x"
            )
            assert codec_.parse_public_id(kind, public) == track_id


def reference_parse_catalog_guid(text):
    if len(text) != ids.GUID_ID_LENGTH or not text.startswith("music."):
        return None
    guid = text[6:]
    if guid[8] != "-" or guid[13] != "-" or guid[18] != "-" or guid[23] != "-":
        return None
    digits = guid.replace("-", "")
    if len(digits) != 32 or not set(digits) <= set("0123456789abcdefABCDEF"):
        return None
    return bytes.fromhex(digits)


def catalog_id_variants():
    generator = random.Random(7)
    yield from (TRACK_A, TRACK_A.lower(), "music." + TRACK_A[6:].lower(), "", "music.", "MUSIC." + TRACK_A[6:],
                "music.isrc.USABC1234567", TRACK_A + "\n", TRACK_A[:-1] + "\u0663", TRACK_A[:-1] + "\uff11")
    alphabet = "0123456789abcdefABCDEF-gG\n .\u0663é"
    for _ in range(3000):
        text = list(generator.choice((TRACK_A, TRACK_B.lower())))
        for _ in range(generator.randrange(1, 3)):
            text[generator.randrange(len(text))] = generator.choice(alphabet)
        yield "".join(text)


def test_catalog_ids_parse_and_echo_as_specified():
    for text in catalog_id_variants():
        guid = reference_parse_catalog_guid(text)
        assert ids.parse_catalog_guid(text) == guid, text
        assert ids.normalise_input_id(text) == ("music." + text[6:].upper() if guid is not None else text), text


@pytest.mark.parametrize("seed", range(20))
def test_a_batch_of_catalog_ids_parses_as_its_items_do(seed):
    """The one-pass parse of a batch answers exactly what the item-by-item parse would, or defers to it."""
    generator = random.Random(seed)
    variants = list(catalog_id_variants())
    valid = [text for text in variants if reference_parse_catalog_guid(text) is not None]
    for _ in range(200):
        size = generator.choice((1, 2, 3, 100))
        batch = [generator.choice(valid) for _ in range(size)]
        if generator.random() < 0.5:  # one item of any other kind anywhere in the batch
            batch[generator.randrange(size)] = generator.choice(variants + [None, 7, ["x"], {"a": 1}, TRACK_A * 2])
        expected = [reference_parse_catalog_guid(item) if isinstance(item, str) else None for item in batch]
        got = ids.parse_catalog_guids(batch)
        if None in expected:
            assert got is None, batch
        else:
            assert got == expected, batch
    # Items that hold newlines can never pass as several ids.
    assert ids.parse_catalog_guids([TRACK_A + "\n" + TRACK_B, ""]) is None
    assert ids.parse_catalog_guids([TRACK_A + "\n" + TRACK_B]) is None
    assert ids.parse_catalog_guids([]) is None


def test_a_batch_of_entry_ids_is_the_entry_ids_one_by_one():
    generator = random.Random(3)
    codec_ = ids.IdCodec(generator.randbytes(32))
    tracks = [(generator.randrange(1, 1 << 62), generator.randbytes(16)) for _ in range(100)]
    batch = codec_.entry_ids(12345, tracks)
    assert batch == [codec_.entry_id(12345, track_id, guid) for track_id, guid in tracks]
    assert [codec_.parse_entry_id(entry_id)[:2] for entry_id in batch] == [(12345, track_id) for track_id, _ in tracks]
    assert codec_.entry_ids(12345, []) == []


# ---------------------------------------------------------------------------------------------------------
# The store's append


@pytest.mark.parametrize("count", [1, 2, 100, 1_500])
def test_batch_look_ups_answer_each_id_whatever_the_order(store, alice, count):
    """The catalog look-up and the presence check answer in one row; each GUID still gets its own track."""
    generator = random.Random(count)
    guids = [generator.randbytes(16) for _ in range(count)]
    store.upsert_tracks([(1, guid, f"t{n}", None, None, None, None, None) for n, guid in enumerate(guids)])
    expected = {}  # one query per GUID
    for guid in guids:
        (track_id,) = store.connection.execute("SELECT id FROM tracks WHERE guid = ?", (guid,)).fetchone()
        expected[guid] = track_id
    unknown = [generator.randbytes(16) for _ in range(count)]
    asked = guids + unknown
    generator.shuffle(asked)
    assert store.tracks_by_guid(organization_id=1, guids=asked) == expected
    assert store.tracks_by_guid(organization_id=1, guids=unknown) == {}
    assert store.tracks_by_guid(organization_id=2, guids=guids) == {}  # another organization's catalog
    library_id = store.user(alice.user_id)["library_id"]
    track_ids = list(expected.values())
    stored = track_ids[::2]
    with store.transaction():
        store.append_entries(collection_id=library_id, user_id=alice.user_id, track_ids=stored, capacity=50_000)
    generator.shuffle(track_ids)
    assert store.present_entries(collection_id=library_id, track_ids=track_ids + [-1]) == set(stored)
    assert store.present_entries(collection_id=library_id + 1000, track_ids=track_ids) == set()


def test_the_catalog_look_up_probes_the_index_once_per_guid_at_every_batch_size(store):
    """Whatever the number of GUIDs, the plan probes the (organization, GUID) index for each: never a scan
    of the organization's catalog (SQLite without statistics chose one for some sizes before CROSS JOIN)."""
    from groove_compat.store import _tracks_by_guid_statement

    for count in [*range(1, 251), 1_000, 5_000]:
        plan = [row[3] for row in store.connection.execute(
            "EXPLAIN QUERY PLAN " + _tracks_by_guid_statement(count), [bytes(16)] * count + [1]
        )]
        probes = [step for step in plan if step.startswith("SEARCH tracks")]
        assert probes and all("guid=?" in step for step in probes), (count, plan)
        assert not any("AUTOMATIC" in step for step in plan), (count, plan)


def test_look_ups_of_nothing_ask_nothing(store):
    assert store.tracks_by_guid(organization_id=1, guids=iter(())) == {}
    assert store.present_entries(collection_id=1, track_ids=iter(())) == set()


@pytest.mark.parametrize("count, capacity", [(1, 50_000), (100, 50_000), (250, 50_000), (100, 130), (100, 30), (3, 30)])
def test_append_entries_positions_counters_and_capacity(store, alice, count, capacity):
    user = store.user(alice.user_id)
    library_id = user["library_id"]
    rows = [(1, bytes([n % 256, n // 256]) + bytes(14), f"t{n}", None, None, None, None, None) for n in range(400)]
    store.upsert_tracks(rows)
    track_ids = list(
        store.tracks_by_guid(organization_id=1, guids=[row[1] for row in rows]).values()
    )
    with store.transaction():
        first_added, _ = store.append_entries(
            collection_id=library_id, user_id=alice.user_id, track_ids=track_ids[:20], capacity=capacity
        )
    before = store.collection(library_id)
    wanted = track_ids[10:10 + count]  # the first 10 are already there
    with store.transaction():
        added, full = store.append_entries(
            collection_id=library_id, user_id=alice.user_id, track_ids=wanted, capacity=capacity
        )
    new = [track_id for track_id in wanted if track_id not in first_added]
    room = max(capacity - before["track_count"], 0)
    assert added == set(new[:room]) and full == set(new[room:])
    after = store.collection(library_id)
    stored = store.collection_track_ids(library_id)
    assert stored == track_ids[:20] + new[:room]
    assert after["track_count"] == before["track_count"] + len(added) == len(stored)
    assert after["next_position"] == before["next_position"] + len(added)
    assert after["version"] == before["version"] + (1 if added else 0)
    assert store.user(alice.user_id)["state_version"] == user["state_version"] + 1 + (1 if added else 0)


# ---------------------------------------------------------------------------------------------------------
# End to end


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_batch_answers_every_id_with_its_entry_id(client, store, codec, alice, fmt):
    items = [TRACK_A, TRACK_B.lower(), UNKNOWN_TRACK, TRACK_A, TRACK_C]
    if fmt == "json":
        response = client.post(ADD, json={"TrackIds": items}, headers=alice.headers)
        results = response.get_json()["TrackActionResults"]
    else:
        body = xml_request("".join(f"<d2p1:string>{item}</d2p1:string>" for item in items))
        response = client.post(ADD, data=body, headers={**alice.headers, "Content-Type": "application/xml"})
        assert response.data.startswith(f'<TrackActionResponse xmlns:i="{NS_INSTANCE}" xmlns="{NS_2013}">'.encode())
        from lxml import etree

        root = etree.fromstring(response.data)
        results = [
            {etree.QName(child).localname: child.text for child in result if not len(child)}
            for result in root.iter(f"{{{NS_2013}}}TrackActionResult")
        ]
    assert response.status_code == 200
    library_id = store.user(alice.user_id)["library_id"]
    track_ids = store.collection_track_ids(library_id)
    assert len(track_ids) == 3
    guids = store.track_guids(organization_id=1, track_ids=track_ids)
    expected = [codec.entry_id(library_id, track_id, guids[track_id]) for track_id in track_ids]
    assert [result.get("InputId") for result in results] == [item.upper().replace("MUSIC.", "music.") for item in items]
    assert [result.get("Id") for result in results] == [expected[0], expected[1], None, expected[0], expected[2]]


@pytest.mark.parametrize(
    "body",
    [b'{"TrackIds":["%s"],"TrackIds":["%s"]}' % (TRACK_A.encode(), TRACK_B.encode()), b'{"TrackIds":[NaN]}'],
)
def test_bodies_the_fast_reader_must_not_accept(client, store, alice, body):
    before = store.snapshot()
    response = client.post(ADD, data=body, headers={**alice.headers, "Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.get_json()["Error"]["ErrorCode"] == "INVALID-INPUT-PARAMETER"
    assert store.snapshot() == before
