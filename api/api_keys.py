"""Per-site API keys for the unified endpoint: make one, store its hash, find its site.

A key is 32 random bytes (`secrets.token_urlsafe`), shown once to whoever sets it up
and stored only as its SHA-256 in `sites.api_key_hash`. A plain, fast hash is enough
here, unlike for passwords: with 256 bits of entropy no guess list or GPU search can
find a preimage, so a pepper or a slow KDF would add nothing. It also keeps keys
independent of STOCKSYNC_ENCRYPTION_KEY: rotating the encryption key (which
`stocksync keys rotate` supports) must not silently invalidate every plugin's key, and
a hash cannot be re-keyed without the key it hides.

The key is also how the request names its site: the lookup is by hash
(`uq_sites_api_key_hash`), so one indexed query authenticates and identifies.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Site

#: 32 bytes is 43 url-safe characters; anything much longer is not one of our keys.
MAX_KEY_LENGTH = 200


@dataclass(frozen=True)
class KeyOwner:
    """The site a valid key belongs to, as much as the endpoint needs."""

    site_id: int
    active: bool


def new_api_key() -> str:
    """A fresh key (for `stocksync` to set or rotate a site's key; store its hash)."""
    return secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    """The value for `sites.api_key_hash`: SHA-256 of the key, 64 hex digits."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def verify_api_key(key: str, stored_hash: str) -> bool:
    """Whether `key` hashes to `stored_hash`, compared in constant time."""
    return hmac.compare_digest(hash_api_key(key), stored_hash)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, else None.

    The scheme is case-insensitive (RFC 7235). Anything unusable is None, so the caller
    has one refusal path and malformed headers never raise.
    """
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > MAX_KEY_LENGTH:
        return None
    return token


def find_key_owner(session: Session, key: str) -> KeyOwner | None:
    """The site whose stored hash matches `key`, or None.

    The index lookup is by the hash, which reveals nothing usable about the key by its
    timing; the final comparison is constant time all the same, so the check does not
    depend on how the database compares strings.
    """
    digest = hash_api_key(key)
    row = session.execute(
        select(Site.id, Site.active, Site.api_key_hash).where(Site.api_key_hash == digest)
    ).one_or_none()
    if row is None or row.api_key_hash is None or not verify_api_key(key, row.api_key_hash):
        return None
    return KeyOwner(site_id=row.id, active=row.active)
