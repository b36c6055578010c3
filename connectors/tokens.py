"""Where OAuth access tokens are cached, so all workers share one token per account.

Zoho allows only 10 access tokens per refresh token per 10 minutes (docs/platforms.md
section 6), so a token minted per worker or per task would lock the account out. The
workers inject a Redis-backed cache; the in-memory one serves tests and single processes.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class TokenCache(Protocol):
    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str, ttl_seconds: int) -> None: ...


class MemoryTokenCache:
    """A per-process cache with expiry."""

    def __init__(self) -> None:
        self._values: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        with self._lock:
            entry = self._values.get(key)
            if entry is None or entry[1] <= time.monotonic():
                return None
            return entry[0]

    def set(self, key: str, value: str, ttl_seconds: int) -> None:
        with self._lock:
            self._values[key] = (value, time.monotonic() + ttl_seconds)
