"""Continuation tokens of Groove browse: self-contained, URL-safe, tamper-evident keyset positions.

A client repeats the browse path with only ``continuationToken`` (contract 1.3, 0.7), and the SDK does not
escape query values, so the token carries everything the next page needs and uses only ``A-Z a-z 0-9 - _``:

    base64url( 01 | list | order | page size | position... | tag )

``list`` and ``order`` are small codes, ``position`` the sort key and tie-breaker of the last item sent
(each value ``i`` + 8-byte signed integer, or ``s`` + 2-byte length + UTF-8), and ``tag`` the first 16 bytes
of an HMAC-SHA256 over the rest and the collection browsed, keyed from the install's secret. A token whose
tag does not verify (edited, truncated, from another install, or for another user's collection or another
list) is refused as a whole: the server never acts on a position it did not write.
"""

import base64
import hashlib
import hmac
import struct

from .errors import GrooveError

VERSION = 1
TAG_LENGTH = 16
MAX_TOKEN_LENGTH = 1024  # real tokens are under 100 characters; with the path, well inside an 8 KB request line
_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")

LISTS = ("tracks", "albums", "artists", "playlists", "playlisttracks")
ORDERS = ("title", "album", "artist", "genre", "release", "number", "position", "added")


def _key(secret):
    # A key of its own, so that a token's tag is never a valid value of any other use of the install secret.
    return hashlib.blake2b(b"groove continuation token", key=secret, digest_size=32).digest()


def _tag(secret, collection_id, payload):
    message = struct.pack(">Q", collection_id) + payload
    return hmac.new(_key(secret), message, hashlib.sha256).digest()[:TAG_LENGTH]


def encode(secret, *, collection_id, list_name, order, page_size, position):
    """The token of the page after ``position`` in ``list_name`` of collection ``collection_id``."""
    payload = bytearray((VERSION, LISTS.index(list_name), ORDERS.index(order), page_size))
    for value in position:
        if isinstance(value, int):
            payload += b"i" + struct.pack(">q", value)
        else:
            raw = value.encode("utf-8", "surrogatepass")
            payload += b"s" + struct.pack(">H", len(raw)) + raw
    payload = bytes(payload)
    return base64.urlsafe_b64encode(payload + _tag(secret, collection_id, payload)).rstrip(b"=").decode("ascii")


def invalid(message="The continuation token is not one this server wrote for this list"):
    return GrooveError("CONTINUATION_TOKEN_INVALID_ERROR", message)


def decode(secret, token, *, collection_id, list_name):
    """``(order, page_size, position)`` of a token for ``list_name`` of ``collection_id``; GrooveError
    CONTINUATION_TOKEN_INVALID_ERROR for anything else."""
    if not token or len(token) > MAX_TOKEN_LENGTH or not _ALPHABET.issuperset(token) or len(token) % 4 == 1:
        raise invalid()
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    if len(raw) < 4 + TAG_LENGTH:
        raise invalid()
    payload, tag = raw[:-TAG_LENGTH], raw[-TAG_LENGTH:]
    if not hmac.compare_digest(tag, _tag(secret, collection_id, payload)):
        raise invalid()
    version, list_code, order_code, page_size = payload[:4]
    if version != VERSION or list_code >= len(LISTS) or order_code >= len(ORDERS) or LISTS[list_code] != list_name:
        raise invalid()
    position = []
    at = 4
    try:
        while at < len(payload):
            kind = payload[at:at + 1]
            if kind == b"i":
                position.append(struct.unpack_from(">q", payload, at + 1)[0])
                at += 9
            elif kind == b"s":
                (length,) = struct.unpack_from(">H", payload, at + 1)
                text = payload[at + 3:at + 3 + length]
                if len(text) != length:
                    raise invalid()
                position.append(text.decode("utf-8", "surrogatepass"))
                at += 3 + length
            else:
                raise invalid()
    except (struct.error, UnicodeDecodeError):
        raise invalid() from None
    return ORDERS[order_code], page_size, tuple(position)
