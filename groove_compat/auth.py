"""Credential -> caller. Tokens are random, shown once, and stored only as SHA-256 hashes.

The database finds a credential by the SHA-256 of the presented token, so what is compared is a hash the
caller cannot steer byte by byte: the look-up leaks nothing about stored tokens through its timing.
"""

from dataclasses import dataclass

from . import ids


@dataclass(frozen=True)
class Caller:
    """Who is calling: the user, the user's organization, and the user's library collection."""

    credential_id: int
    user_id: int
    organization_id: int
    library_id: int


class AuthenticationFailure(Exception):
    """No usable credential. ``revoked`` tells a revoked token apart from a missing or unknown one."""

    def __init__(self, reason, *, revoked=False):
        super().__init__(reason)
        self.reason = reason
        self.revoked = revoked


MAX_TOKEN_LENGTH = 512


def authenticate(store, token):
    """Return the Caller of a token, or raise AuthenticationFailure."""
    if not token:
        raise AuthenticationFailure("missing credential")
    if len(token) > MAX_TOKEN_LENGTH:
        raise AuthenticationFailure("credential too long")
    digest = ids.token_hash(token)
    row = store.credential_for_hash(digest)
    if row is None:
        raise AuthenticationFailure("unknown credential")
    credential_id, user_id, organization_id, library_id, revoked_at = row
    if revoked_at is not None:
        raise AuthenticationFailure("revoked credential", revoked=True)
    return Caller(credential_id, user_id, organization_id, library_id)


def bearer_token(header_value):
    """The token of an ``Authorization: Bearer <token>`` value (scheme case-insensitive), or None."""
    if not header_value:
        return None
    scheme, _, token = header_value.partition(" ")
    if scheme.lower() != "bearer":
        return None
    token = token.strip()
    return token or None
