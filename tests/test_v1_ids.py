"""v1 ids (``mtrack_``, ``mcoll_``, ``org_``) and page cursors: opaque, URL-safe, revealing no row counts."""

import re

import pytest

from groove_compat import ids


@pytest.fixture
def codecs():
    return ids.IdCodec(b"k" * 32), ids.IdCodec(b"j" * 32)


@pytest.mark.parametrize("kind, prefix", [("track", "mtrack_"), ("collection", "mcoll_"), ("organization", "org_")])
def test_public_ids_are_opaque_and_decode_back(codecs, kind, prefix):
    codec, other = codecs
    minted = [codec.public_id(kind, row) for row in range(1, 2001)]
    assert all(re.fullmatch(prefix + "[0-9a-f]{16}", text) for text in minted)
    assert len(set(minted)) == 2000
    # Neighbouring rows share no visible order: the ids are not sorted like the rows.
    assert minted != sorted(minted)
    assert sum(a < b for a, b in zip(minted, minted[1:])) in range(800, 1200)
    assert [codec.parse_public_id(kind, text) for text in minted] == list(range(1, 2001))
    # Another install's key decodes them to other rows, or to none.
    assert all(other.parse_public_id(kind, text) != row for row, text in enumerate(minted[:200], start=1))


def test_an_id_of_one_kind_is_not_an_id_of_another(codecs):
    codec, _ = codecs
    track = codec.public_id("track", 5)
    assert codec.parse_public_id("collection", track) is None
    assert codec.parse_public_id("collection", "mcoll_" + track[len("mtrack_"):]) != 5


def test_cursors_are_url_safe_bound_to_their_collection_and_hide_positions(codecs):
    codec, other = codecs
    cursors = [codec.cursor(7, position) for position in range(100)]
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{22}", cursor) for cursor in cursors)
    assert len(set(cursors)) == 100 and cursors != sorted(cursors)
    assert [codec.parse_cursor(7, cursor) for cursor in cursors] == list(range(100))
    assert all(codec.parse_cursor(8, cursor) is None for cursor in cursors)
    assert all(other.parse_cursor(7, cursor) is None for cursor in cursors)


@pytest.mark.parametrize("text", ["", "A" * 21, "A" * 23, "!" * 22, None, 5, "AAAAAAAAAAAAAAAAAAAAA="])
def test_anything_else_is_not_a_cursor(codecs, text):
    codec, _ = codecs
    assert codec.parse_cursor(7, text) is None
