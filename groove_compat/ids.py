"""Every public id form: parse, normalise, mint.

Public ids never reveal row numbers: they are keyed permutations (a Feistel network over blake2b, a
pseudo-random permutation) of the rows' integer keys, so they can be decoded back without a lookup table
and a forged id decodes to a row the caller does not own, or to nothing.

Forms:
- catalog track ``music.{GUID}`` (GUID case-insensitive, echoed upper-case);
- Groove collection entry ``music.AQQ...``: base64url of ``01 04 1F`` + 16 opaque bytes (the collection
  and track rows, permuted) + the first 6 bytes of the catalog GUID in .NET byte order (contract 5);
- playlist ``music.playlist.{guid}`` and ``music.AQM...`` (``01 03`` + the same GUID in .NET byte order);
- collection album ``music.AQE...`` / artist ``music.AQI...``: base64url of ``01 01 0F`` / ``01 02 0F`` + 14
  opaque bytes (the user's library and the first catalog track of the album or artist, permuted), 23
  characters as observed (contract 5);
- ``music.isrc.{ISRC}`` for catalog look-ups by ISRC;
- v1 ids ``org_``, ``usr_``, ``tok_``, ``mtrack_``, ``mcoll_`` + 16 hex digits, and v1 page cursors.
"""

import base64
import binascii
import hashlib
import re
import secrets
import uuid

try:  # CPython's built-in SHA-256: _sha2 from 3.12, _sha256 before; hashlib's (OpenSSL's) otherwise
    from _sha2 import sha256 as _sha256
except ImportError:
    try:
        from _sha256 import sha256 as _sha256
    except ImportError:
        _sha256 = hashlib.sha256

GUID_ID_LENGTH = len("music.") + 36
_HEX = frozenset("0123456789abcdefABCDEF")
ISRC_PATTERN = re.compile(r"^[A-Z]{2}[A-Z0-9]{3}[0-9]{7}$")

ENTRY_PREFIX = b"\x01\x04\x1f"
PLAYLIST_PREFIX = b"\x01\x03"
ENTRY_ID_LENGTH = len("music.") + 34
ALBUM_PREFIX = b"\x01\x01\x0f"
ARTIST_PREFIX = b"\x01\x02\x0f"
GROUP_ID_LENGTH = len("music.") + 23
PLAYLIST_SHORT_ID_LENGTH = len("music.") + 24
_PLAYLIST_MARKER = b"\xffplaylst"

PUBLIC_PREFIXES = {
    "organization": "org_",
    "user": "usr_",
    "credential": "tok_",
    "track": "mtrack_",
    "collection": "mcoll_",
}


# music. + 8-4-4-4-12 ASCII hex digits, nothing else (one regex: cheaper than checking piece by piece).
_GUID_ID = re.compile(
    r"music\.[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
)


def parse_catalog_guid(text):
    """Return the 16 GUID bytes of a ``music.{GUID}`` id, or None if ``text`` is not in that form."""
    if len(text) != GUID_ID_LENGTH or _GUID_ID.fullmatch(text) is None:
        return None
    return bytes.fromhex(text[6:].replace("-", ""))


# A batch of GUID ids joined by newlines: one regex match checks them all (no item holds a newline then, as
# the match leaves exactly one newline between every two ids and the count of ids is checked too).
_GUID_IDS = re.compile(
    r"(?:music\.[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\n)*"
    r"music\.[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
)


def parse_catalog_guids(items):
    """The GUID bytes of every item when all of them are ``music.{GUID}`` ids (the usual batch), else None.

    The same answer as ``parse_catalog_guid`` item by item, at a fraction of the cost for a batch of 100."""
    if not items:
        return None
    if not all(type(item) is str for item in items):  # str only, as the item-by-item parse takes
        return None
    joined = "\n".join(items)
    if len(joined) != len(items) * (GUID_ID_LENGTH + 1) - 1 or _GUID_IDS.fullmatch(joined) is None:
        return None
    digits = bytes.fromhex(joined.replace("music.", "").replace("-", "").replace("\n", ""))
    return [digits[start:start + 16] for start in range(0, len(digits), 16)]


def catalog_id(guid_bytes):
    """The canonical ``music.{GUID}`` text (upper case) of 16 GUID bytes."""
    return "music." + str(uuid.UUID(bytes=guid_bytes)).upper()


def normalise_input_id(text):
    """The InputId a client gets back: GUID-form ids upper-cased, every other form byte for byte."""
    tail = text[6:]
    upper = tail.upper()
    if upper == tail:  # nothing to upper-case (the usual GUID id): the answer is the text, whatever its form
        return text
    if len(text) == GUID_ID_LENGTH and _GUID_ID.fullmatch(text) is not None:
        return "music." + upper
    return text


def parse_isrc_id(text):
    """Return the ISRC of a ``music.isrc.{ISRC}`` id (sub-namespace case-insensitive), or None."""
    if len(text) < 11 or text[:11].lower() != "music.isrc.":
        return None
    return normalise_isrc(text[11:])


def normalise_isrc(text):
    """Upper-case, hyphens removed; None unless it is a well-formed 12-character ISRC."""
    candidate = text.replace("-", "").strip().upper()
    return candidate if ISRC_PATTERN.match(candidate) else None


_URLSAFE = bytes.maketrans(b"+/", b"-_")


def _b64encode(raw):
    # base64.urlsafe_b64encode without its two Python layers: the same text, cheaper per entry id.
    return binascii.b2a_base64(raw, newline=False).translate(_URLSAFE).rstrip(b"=").decode("ascii")


def _b64decode(text):
    if not text or any(c not in _B64_ALPHABET for c in text):
        return None
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError):
        return None


_B64_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def new_secret_key():
    """32 random bytes: the install's key for every id permutation (kept in the database)."""
    return secrets.token_bytes(32)


class IdCodec:
    """Mints and decodes the opaque ids of one install (one key)."""

    _ROUNDS = 4

    def __init__(self, key):
        self.key = key
        self._round_keys = {}

    def _round_hashers(self, purpose, size):
        """The keyed blake2b states of every round of ``purpose``, made once: a round copies one and feeds
        it the half block, which is what a fresh ``blake2b(half, key=..., person=...)`` computes, without
        hashing the key block again on every call (most of the cost of an entry id)."""
        hashers = self._round_keys.get((purpose, size))
        if hashers is None:
            hashers = tuple(
                hashlib.blake2b(digest_size=size, key=self.key, person=(purpose + bytes([round_number]))[:16])
                for round_number in range(self._ROUNDS)
            )
            self._round_keys[(purpose, size)] = hashers
        return hashers

    def _round_function(self, purpose, round_number, half, size):
        hasher = self._round_hashers(purpose, size)[round_number].copy()
        hasher.update(half.to_bytes(size, "big"))
        return int.from_bytes(hasher.digest(), "big")

    def _permute(self, value, purpose, bits, inverse=False):
        half_bits = bits // 2
        half_bytes = half_bits // 8
        mask = (1 << half_bits) - 1
        left, right = value >> half_bits, value & mask
        hashers = self._round_hashers(purpose, half_bytes)
        if not inverse and len(hashers) == 4:
            # The forward permutation, unrolled (every entry id of every answer goes through here): each
            # round XORs the round function of one half into the other, alternating halves.
            first, second, third, fourth = hashers
            hasher = first.copy()
            hasher.update(right.to_bytes(half_bytes, "big"))
            left ^= int.from_bytes(hasher.digest(), "big")
            hasher = second.copy()
            hasher.update(left.to_bytes(half_bytes, "big"))
            right ^= int.from_bytes(hasher.digest(), "big")
            hasher = third.copy()
            hasher.update(right.to_bytes(half_bytes, "big"))
            left ^= int.from_bytes(hasher.digest(), "big")
            hasher = fourth.copy()
            hasher.update(left.to_bytes(half_bytes, "big"))
            right ^= int.from_bytes(hasher.digest(), "big")
            return (left << half_bits) | right
        if inverse:
            for round_hasher in reversed(hashers):
                hasher = round_hasher.copy()
                hasher.update(left.to_bytes(half_bytes, "big"))
                left, right = right ^ int.from_bytes(hasher.digest(), "big"), left
        else:
            for round_hasher in hashers:
                hasher = round_hasher.copy()
                hasher.update(right.to_bytes(half_bytes, "big"))
                left, right = right, left ^ int.from_bytes(hasher.digest(), "big")
        return (left << half_bits) | right

    # v1 ids: prefix + 16 hex digits of a 64-bit permutation of the row id.
    def public_id(self, kind, row_id):
        prefix = PUBLIC_PREFIXES[kind]
        return prefix + format(self._permute(row_id, prefix.encode(), 64), "016x")

    def parse_public_id(self, kind, text):
        """The row id behind a v1 id of ``kind``, or None if ``text`` is not one."""
        prefix = PUBLIC_PREFIXES[kind]
        if not isinstance(text, str) or len(text) != len(prefix) + 16 or not text.startswith(prefix):
            return None
        digits = text[len(prefix):]
        if not _HEX.issuperset(digits) or digits != digits.lower():
            return None
        row_id = self._permute(int(digits, 16), prefix.encode(), 64, inverse=True)
        return row_id if 0 < row_id < (1 << 63) else None

    # v1 page cursors: the collection and the position a page ends at, permuted, so a cursor is opaque,
    # URL-safe, reveals no positions, and is refused by any other collection.
    def cursor(self, collection_id, position):
        """The cursor of the entries of ``collection_id`` after ``position`` (22 base64url characters)."""
        value = self._permute((collection_id << 64) | position, b"cursor", 128)
        return _b64encode(value.to_bytes(16, "big"))

    def parse_cursor(self, collection_id, text):
        """The position a cursor of ``collection_id`` continues after, or None if ``text`` is not one."""
        if not isinstance(text, str) or len(text) != 22:
            return None
        raw = _b64decode(text)
        if raw is None or len(raw) != 16 or _b64encode(raw) != text:
            return None
        value = self._permute(int.from_bytes(raw, "big"), b"cursor", 128, inverse=True)
        position = value & ((1 << 64) - 1)
        if value >> 64 != collection_id or position >= (1 << 63):
            return None
        return position

    # Groove collection entry ids.
    def entry_id(self, collection_id, track_id, guid_bytes):
        """``music.AQQ...`` for one track in one collection: stable, so a repeated add returns the same id."""
        return self.entry_ids(collection_id, ((track_id, guid_bytes),))[0]

    def entry_ids(self, collection_id, tracks):
        """The entry ids of ``tracks`` (pairs of track id and GUID bytes) in one collection, in order: the
        same ids as ``entry_id`` one by one, with the Python overhead paid once per batch."""
        first, second, third, fourth = self._round_hashers(b"entry", 8)
        from_bytes, b2a_base64 = int.from_bytes, binascii.b2a_base64
        entries = []
        append = entries.append
        for track_id, guid in tracks:
            # _permute's unrolled forward network of (collection_id << 64 | track_id), inlined.
            hasher = first.copy()
            hasher.update(track_id.to_bytes(8, "big"))
            left = collection_id ^ from_bytes(hasher.digest(), "big")
            hasher = second.copy()
            hasher.update(left.to_bytes(8, "big"))
            right = track_id ^ from_bytes(hasher.digest(), "big")
            hasher = third.copy()
            hasher.update(right.to_bytes(8, "big"))
            left_bytes = (left ^ from_bytes(hasher.digest(), "big")).to_bytes(8, "big")
            hasher = fourth.copy()
            hasher.update(left_bytes)
            right_bytes = (right ^ from_bytes(hasher.digest(), "big")).to_bytes(8, "big")
            if len(guid) != 16:
                raise ValueError("a GUID is 16 bytes")
            raw = ENTRY_PREFIX + left_bytes + right_bytes + guid[3::-1] + guid[5:3:-1]
            append(b2a_base64(raw, newline=False).translate(_URLSAFE).rstrip(b"="))
        return ["music." + text.decode("ascii") for text in entries]

    def parse_entry_id(self, text):
        """``(collection_id, track_id, guid_prefix)`` of a ``music.AQQ...`` id, or None."""
        if not isinstance(text, str) or len(text) != ENTRY_ID_LENGTH or not text.startswith("music.AQQ"):
            return None
        raw = _b64decode(text[6:])
        if raw is None or len(raw) != 25 or not raw.startswith(ENTRY_PREFIX):
            return None
        value = self._permute(int.from_bytes(raw[3:19], "big"), b"entry", 128, inverse=True)
        collection_id, track_id = value >> 64, value & ((1 << 64) - 1)
        if not (0 < collection_id < (1 << 63) and 0 < track_id < (1 << 63)):
            return None
        return collection_id, track_id, raw[19:25]

    @staticmethod
    def guid_prefix(guid_bytes):
        """The 6 GUID bytes an entry id carries, to check an entry id against its track.

        They are the first 6 bytes of ``uuid.UUID(bytes=guid_bytes).bytes_le`` (the first two GUID fields
        byte-swapped), sliced out directly: building a UUID per entry cost more than the rest of the id."""
        if len(guid_bytes) != 16:
            raise ValueError("a GUID is 16 bytes")
        return guid_bytes[3::-1] + guid_bytes[5:3:-1]

    # Groove collection albums and artists.
    _GROUP_PURPOSE = {ALBUM_PREFIX: b"album", ARTIST_PREFIX: b"artist"}

    def _group_id(self, prefix, collection_id, track_id):
        if not (0 < collection_id < (1 << 48) and 0 < track_id < (1 << 63)):
            raise ValueError("row ids out of range for a collection album or artist id")
        value = self._permute((collection_id << 64) | track_id, self._GROUP_PURPOSE[prefix], 112)
        return "music." + _b64encode(prefix + value.to_bytes(14, "big"))

    def _parse_group_id(self, prefix, text):
        if not isinstance(text, str) or len(text) != GROUP_ID_LENGTH or not text.startswith("music."):
            return None
        raw = _b64decode(text[6:])
        if raw is None or len(raw) != 17 or not raw.startswith(prefix):
            return None
        value = self._permute(int.from_bytes(raw[3:], "big"), self._GROUP_PURPOSE[prefix], 112, inverse=True)
        collection_id, track_id = value >> 64, value & ((1 << 64) - 1)
        if not (0 < collection_id < (1 << 48) and 0 < track_id < (1 << 63)):
            return None
        return collection_id, track_id

    def album_id(self, collection_id, track_id):
        """``music.AQE...`` of an album in a user's collection, named by the album's first catalog track:
        stable for one user and one album."""
        return self._group_id(ALBUM_PREFIX, collection_id, track_id)

    def parse_album_id(self, text):
        """``(collection_id, track_id)`` of a ``music.AQE...`` id, or None."""
        return self._parse_group_id(ALBUM_PREFIX, text)

    def artist_id(self, collection_id, track_id):
        """``music.AQI...`` of an artist in a user's collection, named by the artist's first catalog track."""
        return self._group_id(ARTIST_PREFIX, collection_id, track_id)

    def parse_artist_id(self, text):
        """``(collection_id, track_id)`` of a ``music.AQI...`` id, or None."""
        return self._parse_group_id(ARTIST_PREFIX, text)

    # Playlists.
    # The short form is base64url of 01 03 + the GUID's bytes, so its third character holds the top two bits
    # of the GUID's first byte: "AQM" (the observed shape) only when they are 00. The permutation is therefore
    # cycle-walked until that holds (about 4 steps); the inputs, collection_id << 64 | marker, have them 00
    # too, so walking back the same way finds the input again.
    _GUID_TOP_BITS = 0b11 << 126

    def playlist_guid(self, collection_id):
        value = self._permute((collection_id << 64) | int.from_bytes(_PLAYLIST_MARKER, "big"), b"playlist", 128)
        while value & self._GUID_TOP_BITS:
            value = self._permute(value, b"playlist", 128)
        return uuid.UUID(bytes_le=value.to_bytes(16, "big"))

    def playlist_id(self, collection_id):
        """``music.playlist.{guid}`` (lower case), the form create/update/delete answer with."""
        return "music.playlist." + str(self.playlist_guid(collection_id))

    def playlist_short_id(self, collection_id):
        """``music.AQM...``, the form browse and lookup answer with, of the same playlist."""
        return "music." + _b64encode(PLAYLIST_PREFIX + self.playlist_guid(collection_id).bytes_le)

    def parse_playlist_id(self, text):
        """The collection row id of either playlist id form, or None."""
        if not isinstance(text, str):
            return None
        raw = None
        if len(text) == len("music.playlist.") + 36 and text[:15].lower() == "music.playlist.":
            try:
                raw = uuid.UUID(text[15:]).bytes_le
            except ValueError:
                return None
        elif len(text) == PLAYLIST_SHORT_ID_LENGTH and text.startswith("music.AQM"):
            decoded = _b64decode(text[6:])
            if decoded is None or len(decoded) != 18 or not decoded.startswith(PLAYLIST_PREFIX):
                return None
            raw = decoded[2:]
        if raw is None:
            return None
        value = int.from_bytes(raw, "big")
        if value & self._GUID_TOP_BITS:
            return None
        value = self._permute(value, b"playlist", 128, inverse=True)
        while value & self._GUID_TOP_BITS:
            value = self._permute(value, b"playlist", 128, inverse=True)
        if value & ((1 << 64) - 1) != int.from_bytes(_PLAYLIST_MARKER, "big"):
            return None
        collection_id = value >> 64
        return collection_id if 0 < collection_id < (1 << 63) else None


def new_token():
    """A new bearer token / API key: shown once, stored only as ``token_hash``."""
    return "gct_" + secrets.token_urlsafe(32)


def token_hash(token):
    """SHA-256 of the token, as stored. Every request hashes its token, so CPython's own SHA-256 is used
    where it has one: the same digest, without OpenSSL's algorithm look-up, whose first use in a worker
    touches 700 KiB of libcrypto (resident in every worker, measured from /proc/<pid>/smaps)."""
    return _sha256(token.encode("utf-8", "surrogatepass")).digest()
