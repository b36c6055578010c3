"""Per-site API keys for the plugin endpoint: issue one, store its hash, find its site.

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
from models.db import transaction
from sync.context import Context
from sync.sites import get_site


@dataclass(frozen=True)
class KeyOwner:
    """The site a valid key belongs to, as much as the endpoint needs."""

    site_id: int
    active: bool


def new_api_key() -> str:
    """A fresh key: 32 random bytes, url-safe (43 characters)."""
    return secrets.token_urlsafe(32)


def issue_api_key(ctx: Context, site_id: int) -> str:
    """Give the site a new key and return it, once; its previous key stops working."""
    key = new_api_key()
    with transaction(ctx.sessions) as session:
        get_site(session, site_id).api_key_hash = hash_api_key(key)
    return key


def hash_api_key(key: str) -> str:
    """The value for `sites.api_key_hash`: SHA-256 of the key, 64 hex digits."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def verify_api_key(key: str, stored_hash: str) -> bool:
    """Whether `key` hashes to `stored_hash`, compared in constant time."""
    return hmac.compare_digest(hash_api_key(key), stored_hash)


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
