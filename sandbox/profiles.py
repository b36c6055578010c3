"""Each platform as a merchant's account meets it by default: its limits and its pace.

The sandboxes' own defaults are a lab's (no quota, answers in 0 ms) so that tests of
logic run fast. A profile is the real platform's default instead (issue 22, item 8):
the request quota or cost plan it enforces on a standard account, and how long its
calls take. Benchmarks run on profiles (`python -m bench.fullsync --profile`) and
report against the floor those limits allow (bench/platform_floor.py); the demo runs
on them sped up (`Profile.scaled`), so that it ends in minutes.

The limits are the platforms' documented defaults (docs/platforms.md, with sources).
The latencies are our estimates, **UNCONFIRMED**: no platform publishes one, and
they vary by host and plan; docs/platforms.md section 11 says what each rests on, and a
measured figure from a real store should replace it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from sandbox.shopify.cost import RESTORE_RATES


@dataclass(frozen=True)
class Profile:
    """A platform's default limits and pace, as `SandboxConfig` knobs and for the floor."""

    #: (requests, window seconds) the platform enforces, or None where it counts none.
    rate_limit: tuple[int, float] | None
    #: Requests the platform serves at once for one account; None where it sets none.
    concurrency: int | None
    #: How long a call takes to answer (a listing page), in ms.
    latency_ms: float
    #: What a write call takes beyond that, in ms.
    write_latency_ms: float = 0.0
    #: Shopify's plan, whose cost points limit it instead of requests.
    plan: str | None = None
    #: How many times faster than the platform this profile runs (`scaled`); 1: as fast.
    speed: float = 1.0

    @property
    def restore_rate(self) -> float | None:
        """Shopify: the cost points a second the plan's bucket restores, at this speed;
        None without a plan."""
        return None if self.plan is None else RESTORE_RATES[self.plan] * self.speed

    def scaled(self, speed: float) -> Profile:
        """This profile `speed` times faster: every window `speed` times shorter for the
        same requests, every call `speed` times quicker, as many at once, and Shopify's
        bucket of the same size refilled `speed` times faster.

        Why so: what stocksync does meets the same limits in the same order (the same
        pages, writes and points, refused at the same count), only sooner, so a demo
        on the platforms' defaults ends in minutes instead of an hour.
        """
        if speed <= 0:
            raise ValueError(f"a speed must be positive, not {speed}")
        rate_limit = None
        if self.rate_limit is not None:
            requests, window = self.rate_limit
            rate_limit = (requests, window / speed)
        return replace(
            self,
            rate_limit=rate_limit,
            latency_ms=self.latency_ms / speed,
            write_latency_ms=self.write_latency_ms / speed,
            speed=self.speed * speed,
        )

    def knobs(self) -> dict[str, Any]:
        """This profile as `SandboxConfig` keyword arguments."""
        return {
            "rate_limit": self.rate_limit,
            "latency_ms": self.latency_ms,
            "write_latency_ms": self.write_latency_ms,
            "plan": self.plan,
            "restore_rate": self.restore_rate,
        }

    def quota(self) -> dict[str, int | None]:
        """The budget to register a site or source on this profile's sandbox with (the
        `rate_limit_*` settings of `stocksync sites update`): the sandbox's own limits,
        so that stocksync waits where the platform would refuse.

        None where the profile sets no such limit: the platform's default budget
        (sync/limits.py) then, as for a site left unset. Shopify sets none: its cost
        points limit it, and the connector learns their restore rate from the sandbox's
        `throttleStatus`. Windows are whole seconds there, so a scaled one that is not
        is rounded up: ours stricter, never looser, than the sandbox's.
        """
        requests, window = self.rate_limit or (None, None)
        return {
            "rate_limit_requests": requests,
            "rate_limit_window_seconds": None if window is None else math.ceil(window),
            "rate_limit_concurrency": self.concurrency,
        }

    def describe(self) -> str:
        """This profile in one line, for the demo's output: "300 requests / 5 s, 2 at
        once, pages 50 ms, writes +200 ms (its real defaults at 12x speed)"."""
        parts = []
        if self.rate_limit is not None:
            requests, window = self.rate_limit
            parts.append(f"{requests:,} requests / {round(window, 2):g} s")
        if self.plan is not None:
            parts.append(f"{self.plan} plan, {self.restore_rate:,.0f} cost points a second")
        if self.concurrency is not None:
            parts.append(f"{self.concurrency} at once")
        parts.append(f"pages {self.latency_ms:,.0f} ms")
        if self.write_latency_ms:
            parts.append(f"writes +{self.write_latency_ms:,.0f} ms")
        at = "" if self.speed == 1 else f" at {self.speed:g}x speed"
        return f"{', '.join(parts)} (its real defaults{at})"


PROFILES: dict[str, Profile] = {
    # No core rate limit; 300 per 60 s is the conservative host limit we default to
    # (section 2). Pages of 100 products answer in about 0.6 s on a small host; a batch
    # of 100 stock changes saves each product, about 3 s in all.
    "woocommerce": Profile((300, 60.0), 2, latency_ms=600.0, write_latency_ms=2400.0),
    # 150 per 30 s on Standard and Plus, one write at a time (section 4).
    "bigcommerce": Profile((150, 30.0), 1, latency_ms=400.0, write_latency_ms=300.0),
    # Standard plan: 100 cost points a second (section 5); no request count.
    "shopify": Profile(None, None, latency_ms=400.0, write_latency_ms=200.0, plan="standard"),
    # 6,000 per 5 min and 5 at once per user (section 7).
    "businesscentral": Profile((6000, 300.0), 5, latency_ms=500.0),
    # About 100 per minute per organisation, 5 at once on Free (section 6).
    "zoho": Profile((100, 60.0), 5, latency_ms=500.0),
}
