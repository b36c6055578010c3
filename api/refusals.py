"""Requests for unknown owners, logged as one row per provider per minute and process.

Why not a row each: 40,000 requests to distinct unknown site ids added 40,000
`webhook_log` rows, kept 90 days (issue 19 item 16), for a flood that tells an operator
one thing: someone is posting to URLs we never gave out. The first such request of a
minute is logged as before; the rest are counted, and the next row carries the count
(`payload.refused_requests`: that request and those not logged since the last row).
"""

from __future__ import annotations

import threading
import time

WINDOW_SECONDS = 60.0


class RefusalTally:
    """Per provider: when its last row was written and how many refusals since."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        #: provider -> (when its last row was written, refusals not logged since).
        #: Keyed by the registry's providers only, so it stays small.
        self._providers: dict[str, tuple[float, int]] = {}

    def count(self, provider: str) -> int:
        """Count one refusal; return how many requests a row written now stands for,
        or 0 if this one is only counted (a row for `provider` was written this minute)."""
        now = time.monotonic()
        with self._lock:
            logged_at, unlogged = self._providers.get(provider, (None, 0))
            if logged_at is not None and now - logged_at < WINDOW_SECONDS:
                self._providers[provider] = (logged_at, unlogged + 1)
                return 0
            self._providers[provider] = (now, 0)
            return unlogged + 1

    def unlogged(self, provider: str) -> int:
        """Refusals of `provider` counted since its last row, not logged yet."""
        with self._lock:
            return self._providers.get(provider, (0.0, 0))[1]
