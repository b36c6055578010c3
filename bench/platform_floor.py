"""The platform floor: the least time a platform's own limits allow for a run's calls.

Issue 22, item 8: a benchmark on realistic profiles (`sandbox.profiles`) is judged
against what the platforms allow, not against our machine. For each platform a run
talks to, the same calls take at least the longest of:

- **its request quota**: a window's worth at once, the rest at the quota's pace,
  `(calls - requests) / requests * window`;
- **its pace**: every call's latency (a write's extra time included), spread over
  the calls the platform serves at once for one account (where it sets no such limit,
  over as many as our client sends at once: a full sync's worker processes);
- **its cost points** (Shopify): what the calls cost beyond a full bucket, at the
  plan's restore rate (`sandbox.shopify.cost`);

plus the time the platform works for us between calls, which no limit of ours can
shorten: a Shopify bulk operation running (at the sandbox's pace, UNCONFIRMED for the
real platform).

The store and the ERP are separate platforms working at the same time, so a run's
floor is the longer of the two. The calls are the run's own (the pages it listed, the
writes it sent, its ERP pages), so the floor says what the platforms' limits cost, not
whether another design would make fewer calls.
"""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.profiles import Profile
from sandbox.shopify.cost import BUCKET_SECONDS, RESTORE_RATES


@dataclass(frozen=True)
class Calls:
    """What a run asked of one platform."""

    #: Every call answered (writes included).
    calls: int
    #: Of those, the writes.
    writes: int = 0
    #: Cost points they were charged, where the platform counts them.
    points: float = 0.0
    #: Seconds the platform worked for us between calls (a bulk operation running).
    platform_work: float = 0.0


def platform_seconds(profile: Profile, calls: Calls, *, ours_at_once: int) -> float:
    """The least time `calls` take under `profile`'s limits (module docstring)."""
    bounds = [0.0]
    if profile.rate_limit is not None:
        requests, window = profile.rate_limit
        bounds.append(max(0, calls.calls - requests) / requests * window)
    at_once = profile.concurrency or ours_at_once
    pace_ms = calls.calls * profile.latency_ms + calls.writes * profile.write_latency_ms
    bounds.append(pace_ms / 1000 / at_once)
    if profile.plan is not None:
        rate = RESTORE_RATES[profile.plan]
        bounds.append(max(0.0, calls.points - rate * BUCKET_SECONDS) / rate)
    return max(bounds) + calls.platform_work


def run_floor(
    store: tuple[Profile, Calls], erp: tuple[Profile, Calls], *, ours_at_once: int
) -> float:
    """The floor of a run: the longer of its store's and its ERP's."""
    return max(platform_seconds(*side, ours_at_once=ours_at_once) for side in (store, erp))
