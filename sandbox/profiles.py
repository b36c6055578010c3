"""Each platform as a merchant's account meets it by default: its limits and its pace.

The sandboxes' own defaults are a lab's (no quota, answers in 0 ms) so that tests of
logic run fast. A profile is the real platform's default instead (issue 22, item 8):
the request quota or cost plan it enforces on a standard account, and how long its
calls take. Benchmarks run on profiles (`python -m bench.fullsync --profile`) and
report against the floor those limits allow (bench/platform_floor.py).

The limits are the platforms' documented defaults (docs/platforms.md, with sources).
The latencies are our estimates, **UNCONFIRMED**: no platform publishes one, and
they vary by host and plan; docs/platforms.md section 11 says what each rests on, and a
measured figure from a real store should replace it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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

    def knobs(self) -> dict[str, Any]:
        """This profile as `SandboxConfig` keyword arguments."""
        return {
            "rate_limit": self.rate_limit,
            "latency_ms": self.latency_ms,
            "write_latency_ms": self.write_latency_ms,
            "plan": self.plan,
        }


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
