"""How long to wait before trying again: the one backoff curve of tasks and deliveries.

Exponential with full jitter, so many workers hit by the same outage do not retry in
step; a platform's own hint (`Retry-After`, BigCommerce's reset) is a floor, never
shortened; the cap keeps every countdown far below the Redis broker's visibility
timeout (celeryconfig.py), past which a message still waiting would be handed out twice.
"""

from __future__ import annotations

import random

#: Exponential backoff: base * 2**attempt seconds, full jitter, capped.
BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 600.0

#: Seconds between the attempts of a lifecycle event delivery: exponential, about a
#: day in all (Standard Webhooks' example schedule spans three, docs/platforms.md
#: section 9). Waits past the cap are left to the delivery sweeper, not a countdown.
DELIVERY_SCHEDULE: tuple[float, ...] = (5, 60, 300, 1800, 3600, 7200, 14400, 28800, 28800)


def backoff_seconds(
    attempt: int, hint: float | None = None, rng: random.Random | None = None
) -> float:
    """Seconds to wait before retry number `attempt` (0-based); see the module."""
    rng = rng or random.Random()
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * (2**attempt))
    delay = rng.uniform(ceiling / 2, ceiling)
    if hint is not None:
        delay = max(delay, hint)
    return min(delay, BACKOFF_CAP_SECONDS)
