"""A shop's cost-point budget, held in Redis and shared by every worker on every host
(docs/architecture.md flow 6): Shopify's calculated query cost (docs/platforms.md
section 5).

Shopify limits GraphQL Admin by points, not requests: each app on each shop has a
bucket that restores 100 points a second on the Standard plan (200 Advanced, 1,000
Plus, 2,000 Enterprise); a query runs only if the bucket holds its requested cost, and
is refunded `requested - actual` after. One 200-variant catalog page asks for 802, so
a request quota says nothing useful: ten such pages in a row empty a Standard bucket,
and with four workers listing and writing at once Shopify answered THROTTLED.

So the connector prices each call (connectors/shopify_cost.py) and this budget keeps
the bucket as Shopify does, in one Redis hash per shop, by one Lua script per step:

- **spend**: refill by the restore rate since the last step, then take the price if
  the bucket holds it, else say how long until it will. Real-time work goes ahead of
  bulk work: a bulk call leaves `RESERVE` of the bucket to real-time ones (a sale's
  write never waits behind the nightly listing).
- **settle**: after the answer, refund what the call did not cost, then lower the
  bucket to Shopify's own `currentlyAvailable` if that is less (Shopify "may
  temporarily reduce API rate limits", and another deployment of ours on the same
  shop spends from the same bucket), and take the shop's real maximum and restore rate
  from `throttleStatus`: the plan is learned from the first answer, so a Plus shop is
  paced as Plus without a setting (its first figure then replaces ours: counted from
  the wrong maximum, ours is worth less). Otherwise Shopify's figure only ever lowers
  ours: calls we have paid for may not have reached it yet. Until the first answer the
  bucket is the Standard plan's, the slowest, so a shop is never overrun while its plan
  is unknown.

Time is Redis's own clock (`TIME`), so workers on hosts with skewed clocks agree.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

import redis

from connectors.types import CostReport
from models import Platform
from sync.limits import (
    BULK_PATIENCE_SECONDS,
    MAX_WAIT_SECONDS,
    RESERVE,
    LimitBusy,
    PointsUsage,
    Priority,
    note_bulk_wait,
)


@dataclass(frozen=True)
class Points:
    """A bucket of `maximum` points restored at `restore_rate` points a second."""

    restore_rate: float
    maximum: float


#: The bucket of a shop whose plan is not known yet: Standard's 100 points a second
#: (shopify.dev "GraphQL Admin API rate limits"), holding 1,000 (help.shopify.com "Call
#: limit"; today's maximum by plan is not published, UNCONFIRMED: every answer's
#: `throttleStatus` replaces both figures).
PLATFORM_POINTS: dict[Platform, Points] = {Platform.SHOPIFY: Points(100.0, 1000.0)}

#: How long a bucket's state outlives its last step: an hour idle refills any plan's
#: bucket, and forgetting a learned plan costs one answer at Standard's pace.
STATE_SECONDS = 3600

#: Every script starts here. KEYS: the bucket. ARGV[1], ARGV[2]: the default restore
#: rate and maximum (until the shop's are learned), ARGV[3]: how long the state lives
#: (ms). Leaves `now`, `rate`, `max` and `available` refilled up to now.
_REFILLED = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'available', 'at', 'rate', 'max')
local rate = tonumber(state[3] or ARGV[1])
local max = tonumber(state[4] or ARGV[2])
local available = tonumber(state[1] or max)
local at = tonumber(state[2] or now)
available = math.min(max, available + math.max(0, now - at) * rate / 1000)
"""

#: ARGV[4]: the price, ARGV[5]: the share of the bucket to leave (bulk). Returns
#: {taken, ms to wait}.
_SPEND = (
    _REFILLED
    + """
local cost = tonumber(ARGV[4])
local need = math.min(cost + max * tonumber(ARGV[5]), max)
if available < need then
  return {0, math.max(1, math.ceil((need - available) * 1000 / rate))}
end
redis.call('HSET', KEYS[1], 'available', available - cost, 'at', now)
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
return {1, 0}
"""
)

#: ARGV[4]: the refund, ARGV[5]: Shopify's available (< 0: not said), ARGV[6] and
#: ARGV[7]: its maximum and restore rate (<= 0: not said).
_SETTLE = (
    _REFILLED
    + """
available = math.min(max, available + tonumber(ARGV[4]))
local observed = tonumber(ARGV[5])
local learned_max = tonumber(ARGV[6])
local learned_rate = tonumber(ARGV[7])
if learned_max > 0 and learned_rate > 0 then
  if learned_max ~= max and observed >= 0 then
    -- A bucket of another size than we held: the plan was not known, and what we
    -- counted from the wrong maximum is worth less than Shopify's own figure.
    available = observed
  end
  max = learned_max
  rate = learned_rate
  redis.call('HSET', KEYS[1], 'rate', rate, 'max', max)
end
if observed >= 0 then available = math.min(available, observed) end
available = math.min(max, available)
redis.call('HSET', KEYS[1], 'available', available, 'at', now)
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
return 0
"""
)

#: Returns the bucket now as strings {available, maximum, restore rate} (a Lua number
#: in a reply would be truncated to an integer).
_LOOK = _REFILLED + "return {tostring(available), tostring(max), tostring(rate)}"


class PointsBudget:
    """The shared cost-point budget of one shop: a `connectors.interfaces.CostMeter`."""

    def __init__(
        self,
        client: redis.Redis,
        owner: str,
        default: Points,
        *,
        priority: Priority = Priority.REAL_TIME,
        max_wait: float = MAX_WAIT_SECONDS,
        label: str | None = None,
    ) -> None:
        self.client = client
        #: Whose budget: the shop's (`sync.limits.budget_owner`), beside its request one.
        self.owner = owner
        #: Its name in messages ("site 12").
        self.label = label or owner
        self.default = default
        self.priority = priority
        self.max_wait = max_wait
        prefix = f"stocksync:limit:{owner}"
        self.key = f"{prefix}:points"
        #: Shared with the request budget: progress says bulk work waits, for either.
        self.waiting_key = f"{prefix}:waiting"
        self._spend = client.register_script(_SPEND)
        self._settle = client.register_script(_SETTLE)
        self._look = client.register_script(_LOOK)

    def spend(self, cost: float) -> None:
        """Block until the bucket holds `cost` (and, for bulk work, the reserve besides),
        then take it.

        Raises `LimitBusy` when the wait passes `max_wait` for real-time work (its task
        retries with the wait as countdown, holding no worker), or `BULK_PATIENCE_SECONDS`
        for bulk work: an emptied Standard bucket refills in 10 s, so only a shop whose
        bucket Shopify keeps low waits that long.
        """
        patience = self.max_wait if self.priority is Priority.REAL_TIME else BULK_PATIENCE_SECONDS
        waited = 0.0
        while True:
            wait = self.try_spend(cost)
            if wait == 0:
                return
            if waited + wait > patience:
                raise LimitBusy(
                    f"the cost points of {self.label} short for more than {patience:g} s",
                    retry_after=wait,
                )
            if self.priority is Priority.BULK:
                note_bulk_wait(self.client, self.waiting_key, wait)
            # A little jitter so waiters on one shop do not all ask at the same moment.
            began = time.monotonic()
            time.sleep(wait + random.uniform(0, 0.05))
            waited += time.monotonic() - began

    def try_spend(self, cost: float) -> float:
        """Take `cost` if the bucket holds it (and the reserve, for bulk work): 0.0, else
        the seconds until it will."""
        share = 0.0 if self.priority is Priority.REAL_TIME else RESERVE
        taken, wait_ms = self._spend(keys=[self.key], args=[*self._state_args(), cost, share])
        return 0.0 if taken else int(wait_ms) / 1000

    def settle(self, requested: float, report: CostReport | None) -> None:
        """Refund what the call did not cost and align the bucket with Shopify's.

        No report (a proxy's answer, a shape we do not know): nothing is refunded, which
        only makes us slower. A report without `actualQueryCost` is a query that did not
        run (throttled): all of its price comes back.
        """
        if report is None:
            return
        actual = report.actual if report.actual is not None else 0.0
        self._settle(
            keys=[self.key],
            args=[
                *self._state_args(),
                max(0.0, requested - actual),
                -1 if report.available is None else report.available,
                report.maximum or 0,
                report.restore_rate or 0,
            ],
        )

    def usage(self) -> PointsUsage:
        """The bucket now, for progress, the overview and the nightly plan."""
        available, maximum, rate = self._look(keys=[self.key], args=self._state_args())
        return PointsUsage(float(available), float(maximum), float(rate))

    def _state_args(self) -> list[float]:
        """ARGV[1..3] of every script (`_REFILLED`)."""
        return [self.default.restore_rate, self.default.maximum, STATE_SECONDS * 1000]
