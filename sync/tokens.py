"""The Redis-backed `TokenCache` the workers hand to connectors.

Every worker process (and every host) must share one OAuth token per ERP account:
Zoho mints at most 10 access tokens per refresh token per 10 minutes and then locks the
account for the rest of the window (docs/platforms.md section 6). A per-process cache would
mint one token per worker process; Redis makes it one per account.
"""

from __future__ import annotations

import redis

PREFIX = "stocksync:token:"


class RedisTokenCache:
    """`connectors.tokens.TokenCache` on Redis; entries expire with the token."""

    def __init__(self, client: redis.Redis, prefix: str = PREFIX) -> None:
        self.client = client
        self.prefix = prefix

    def get(self, key: str) -> str | None:
        value = self.client.get(self.prefix + key)
        if value is None:
            return None
        return value.decode() if isinstance(value, bytes) else str(value)

    def set(self, key: str, value: str, ttl_seconds: int) -> None:
        self.client.set(self.prefix + key, value, ex=max(1, int(ttl_seconds)))
