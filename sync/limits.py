"""A platform's request budget, held in Redis and shared by every worker on every host
(docs/architecture.md flow 6): a store's quota per site, an ERP's per source.

Celery's `rate_limit` is per worker, while a platform's quota is per store: four workers
each "within" 150 requests per 30 s send 600. So every request to a store or an ERP
first takes a place here. Up to three limits at once, checked and taken atomically by
one Lua script:

- **requests per window**, a sliding-window log (a sorted set of request times): never
  more than `requests` in any `window` seconds. A sliding window is stricter than the
  platforms' fixed windows, so staying under it stays under theirs wherever their
  window starts. The window we count over is a little longer than the platform's
  (`GUARD`) to absorb the time between taking a place and the request arriving.
- **concurrent requests**, a semaphore whose places are leases: a place expires
  `slot_ttl` after it was last renewed, and the holding limit's renewer thread renews
  it every third of that while its request runs. A worker killed mid-request stops
  renewing, so its place frees itself within `slot_ttl` (BigCommerce allows one
  request at a time: a place held for the 65 s a request may take would stall the
  store's every worker).
- **requests per day**, where the platform caps a day (Zoho Inventory): a second
  sliding log over 24 h. Zoho's day starts at a midnight we do not know; a rolling
  24 h is never more than any calendar day allows.

**Real-time work goes ahead of bulk work.** A bulk request (a full sync's catalog
listing, its batches) leaves `RESERVE` of every window and of the day to real-time
requests (webhook events, change feeds, heals): a nightly run filling the store's quota
no longer makes a sale on another store wait for it.

**Waiting for the budget is normal, not a failure.** A bulk request waits as long as
the platform's window takes to free a place: a store slower than its catalog's pages
lists each page once. Before, every wait gave up after 45 s, shorter than
WooCommerce's 60 s window, and the task listed the catalog again from page 1. A
real-time request still gives up after `max_wait` (its task retries with the wait as
its countdown, holding no worker meanwhile), and a day's cap used up is
`BudgetExhausted`, with the time until a place frees as its retry hint.

Time is Redis's own clock (`TIME`), so workers on hosts with skewed clocks agree.

A waiter for a concurrency place blocks on a Redis list that each release pushes to,
so it wakes as soon as a place is freed: polling every 50 ms cost a BigCommerce full
sync (one place, two workers) about 60 ms per write at 0 ms platform latency.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

import redis

from connectors.errors import TransientError
from connectors.registry import budget_account
from models import Platform, Site, Source, SourceKind


@dataclass(frozen=True)
class Quota:
    """At most `requests` per `window_seconds`, at most `concurrency` at once, and at
    most `daily` per 24 h where the platform caps a day."""

    requests: int
    window_seconds: float
    concurrency: int
    daily: int | None = None


class Priority(StrEnum):
    """Whose request it is: real-time work goes first (module docstring)."""

    REAL_TIME = "real-time"
    BULK = "bulk"


#: Defaults for a site whose `rate_limit_*` columns are NULL.
PLATFORM_QUOTAS: dict[Platform, Quota] = {
    # Standard and Plus plans: 150 requests per 30 s, shared by every app on the store
    # (docs/platforms.md section 4, "Rate limits"). One request at a time: BigCommerce asks
    # to wait for each inventory write's 200 before sending the next (same section).
    Platform.BIGCOMMERCE: Quota(150, 30.0, 1),
    # GraphQL Admin counts cost points, not requests: the shop's points budget
    # (sync/cost_points.py) paces it. This quota only bounds what no points budget sees:
    # 2 at once, and the most requests a second the cost model allows our cheapest call
    # (a 10-point mutation) on the fastest plan (2,000 points a second), docs/platforms.md
    # section 5.
    Platform.SHOPIFY: Quota(200, 1.0, 2),
    # WooCommerce core has no rate limit; hosts and security plugins set their own
    # (docs/platforms.md section 2, UNCONFIRMED). 5 per second and 2 at once keep a small
    # host's PHP workers free for shoppers; raise it per site for a bigger host.
    Platform.WOOCOMMERCE: Quota(300, 60.0, 2),
}

#: Defaults for a source whose `rate_limit_*` columns are NULL.
SOURCE_QUOTAS: dict[SourceKind, Quota] = {
    # 6,000 requests per 5-minute sliding window per user, 5 processed at once
    # (docs/platforms.md section 7, "Throttling").
    SourceKind.BUSINESSCENTRAL: Quota(6000, 300.0, 5),
    # About 100 per minute per organisation, 5 at once on the Free plan; the daily cap
    # differs by plan and by source, so ours is a setting; 7,500 is what Zoho Books
    # reports in `X-Rate-Limit-Limit` (docs/platforms.md section 6, UNCONFIRMED for
    # Inventory). The change feed alone reads it 1,440 times a day.
    SourceKind.ZOHO: Quota(100, 60.0, 5, daily=7500),
}

#: Share of every window (and of the day) a bulk request leaves to real-time ones.
RESERVE = 0.1
#: A day, for the daily cap's rolling log.
DAY_SECONDS = 86_400.0

#: Share of the window added to it: our clock and the platform's disagree by the time
#: a request spends between taking its place and arriving (at least 100 ms).
GUARD = 0.1
#: A place not renewed for this long is freed (its holder died); live holders renew it
#: every third of this.
SLOT_TTL_SECONDS = 15.0
#: Longest a waiter for a concurrency place blocks before asking again, in seconds: a
#: release wakes it at once; this bounds the wait for a place freed by expiry (its
#: holder died), or a wake-up that went to another waiter.
POLL_SECONDS = 1.0
#: Longest total wait of a real-time request (and of anyone for a concurrency place)
#: before giving up with `LimitBusy`, so its task retries later instead of sitting on
#: a worker past its time limit. A bulk request waits out a window however long.
MAX_WAIT_SECONDS = 45.0
#: Longest total wait of a bulk request for its window: twice the window, but never
#: near the sync tasks' soft time limit of 840 s (workers/presets.py); Business
#: Central's 300 s window would otherwise allow 660 s for one request.
BULK_PATIENCE_SECONDS = 300.0
#: What a refused place is waited for: the window, a concurrency place, the day.
WAIT_WINDOW, WAIT_PLACE, WAIT_DAY = 0, 1, 2

#: KEYS: window log, places, day log. ARGV: requests allowed now in the window (the
#: priority's share), window ms, places, place lease ms, token, requests allowed in
#: the day (0: no cap), day ms. Returns {taken, ms to wait, what is waited for}.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local concurrency = tonumber(ARGV[3])
local ttl = tonumber(ARGV[4])
local daily = tonumber(ARGV[6])
local day = tonumber(ARGV[7])
-- The wait until `log` holds fewer than `allowed` entries younger than `span`.
local function full(log, allowed, span)
  local held = redis.call('ZCARD', log)
  if held < allowed then return nil end
  local frees = redis.call('ZRANGE', log, held - allowed, held - allowed, 'WITHSCORES')
  return math.max(1, tonumber(frees[2]) + span - now)
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZCARD', KEYS[2]) >= concurrency then
  local soonest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  return {0, math.max(1, tonumber(soonest[2]) - now), 1}
end
if daily > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - day)
  local wait = full(KEYS[3], daily, day)
  if wait then return {0, wait, 2} end
end
local wait = full(KEYS[1], limit, window)
if wait then return {0, wait, 0} end
redis.call('ZADD', KEYS[1], now, ARGV[5])
redis.call('ZADD', KEYS[2], now + ttl, ARGV[5])
redis.call('PEXPIRE', KEYS[1], window)
redis.call('PEXPIRE', KEYS[2], ttl)
if daily > 0 then
  redis.call('ZADD', KEYS[3], now, ARGV[5])
  redis.call('PEXPIRE', KEYS[3], day)
end
return {1, 0, 0}
"""


_RENEW = """
if redis.call('ZSCORE', KEYS[1], ARGV[2]) then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), ARGV[2])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]))
end
return 0
"""


#: KEYS: window log, day log, waiting key. ARGV: window ms, day ms. Returns the
#: requests in each log now and the waiting key's time left (ms, < 0 if none).
_USAGE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return {
  redis.call('ZCOUNT', KEYS[1], now - tonumber(ARGV[1]), '+inf'),
  redis.call('ZCOUNT', KEYS[2], now - tonumber(ARGV[2]), '+inf'),
  redis.call('PTTL', KEYS[3])
}
"""


@dataclass(frozen=True)
class PointsUsage:
    """A cost-point bucket now (sync/cost_points.py): what it holds of its maximum, and
    how fast it refills."""

    available: float
    maximum: float
    restore_rate: float


@dataclass(frozen=True)
class Usage:
    """A budget's state: its quota, what is used, and how long bulk work still waits."""

    quota: Quota
    in_window: int
    #: Requests in the last 24 h, where the quota caps a day.
    in_day: int | None
    #: Seconds until a place frees for the bulk work waiting on it; None if none waits.
    waiting_seconds: float | None
    #: The cost-point bucket where the platform limits by cost; None elsewhere.
    points: PointsUsage | None = None


def describe_usage(usage: Usage, whose: str) -> dict[str, Any]:
    """A budget's state for the API, CLI and dashboard, with one line saying it:
    "store budget: 12 of 300 requests in 60 s; waiting for the store's budget (resets
    in 41 s)", "ERP budget: 3 of 100 requests in 60 s; today 1,840 of 7,500 used"."""
    quota = usage.quota
    parts = [f"{usage.in_window:,} of {quota.requests:,} requests in {quota.window_seconds:g} s"]
    if usage.points is not None:
        points = usage.points
        parts.insert(
            0,
            f"{points.available:,.0f} of {points.maximum:,.0f} cost points"
            f" (restoring {points.restore_rate:,.0f} a second)",
        )
    if quota.daily is not None:
        parts.append(f"today {usage.in_day or 0:,} of {quota.daily:,} used")
    if usage.waiting_seconds is not None:
        parts.append(f"waiting for the {whose}'s budget (resets in {usage.waiting_seconds:.0f} s)")
    return {
        "in_window": usage.in_window,
        "requests": quota.requests,
        "window_seconds": quota.window_seconds,
        "concurrency": quota.concurrency,
        "in_day": usage.in_day,
        "daily": quota.daily,
        "waiting_seconds": usage.waiting_seconds,
        "points": None if usage.points is None else asdict(usage.points),
        "text": f"{whose} budget: " + "; ".join(parts),
    }


class LimitBusy(TransientError):
    """No place became free within the maximum wait: retry the task later."""


class BudgetExhausted(TransientError):
    """The platform's daily cap is used up; `retry_after` says when a place frees.

    Its task retries with backoff, capped at 10 min (sync/retry.py), not at that hint:
    a full run that uses up a day's cap fails its remaining batches after their retries.
    The nightly plan (issue 22, item 2) is to keep a run from getting there."""


class Limit:
    """The shared budget of one site or source. `with limit.acquire(): <one request>`.

    Connectors built by `Context.storefront` and `Context.source` (sync/context.py)
    already take it around each of their requests (sync/pacing.py): wrapping their
    calls in `acquire()` again would hold a place while waiting for another, which with
    one place (BigCommerce) never comes.
    """

    def __init__(
        self,
        client: redis.Redis,
        owner: str,
        quota: Quota,
        *,
        priority: Priority = Priority.REAL_TIME,
        max_wait: float = MAX_WAIT_SECONDS,
        slot_ttl: float = SLOT_TTL_SECONDS,
        label: str | None = None,
    ) -> None:
        self.client = client
        #: Whose budget: the platform account's (`budget_owner`).
        self.owner = owner
        #: Its name in messages ("site 12"): the owner, unless said.
        self.label = label or owner
        self.quota = quota
        self.priority = priority
        self.max_wait = max_wait
        self.slot_ttl = slot_ttl
        prefix = f"stocksync:limit:{owner}"
        self.keys = [f"{prefix}:window", f"{prefix}:slots", f"{prefix}:day"]
        #: One entry per release, for waiters to block on (trimmed to the concurrency).
        self.freed_key = f"{prefix}:freed"
        #: Set while bulk work waits for this budget; its time to live is the wait.
        self.waiting_key = f"{prefix}:waiting"
        self._script = client.register_script(_ACQUIRE)
        self._renew = client.register_script(_RENEW)
        self._usage = client.register_script(_USAGE)
        #: The places this limit holds now, and whether a thread is renewing them.
        self._held: set[str] = set()
        self._held_lock = threading.Lock()
        self._renewing = False

    def try_acquire(self, token: str) -> float:
        """Take a place for `token` if one is free: 0.0, else the seconds to wait."""
        return self._try(token)[0]

    def _allowed(self, requests: int) -> int:
        """The requests this limit's priority may fill: all for real-time work, all but
        the reserve for bulk (at least one, or a quota of one would never serve it)."""
        if self.priority is Priority.REAL_TIME:
            return requests
        return max(1, requests - int(requests * RESERVE))

    def _try(self, token: str) -> tuple[float, int]:
        """(seconds to wait or 0.0 if taken, what is waited for: `WAIT_*`)."""
        window_ms = self.quota.window_seconds * 1000
        granted, wait_ms, waits_for = self._script(
            keys=self.keys,
            args=[
                self._allowed(self.quota.requests),
                round(window_ms + max(100.0, window_ms * GUARD)),
                self.quota.concurrency,
                round(self.slot_ttl * 1000),
                token,
                self._allowed(self.quota.daily) if self.quota.daily else 0,
                round(DAY_SECONDS * 1000),
            ],
        )
        return (0.0, WAIT_WINDOW) if granted else (float(wait_ms) / 1000, int(waits_for))

    def release(self, token: str) -> None:
        """Free the concurrency place and wake a waiter; the request still counts in its
        window."""
        pipe = self.client.pipeline()
        pipe.zrem(self.keys[1], token)
        pipe.rpush(self.freed_key, 1)
        # Wake-ups nobody took would wake later waiters for nothing: keep a few.
        pipe.ltrim(self.freed_key, -self.quota.concurrency, -1)
        pipe.pexpire(self.freed_key, round(self.slot_ttl * 1000))
        pipe.execute()

    @contextmanager
    def acquire(self) -> Iterator[None]:
        """Block until a place is free, hold it for the body, then free it.

        Raises `LimitBusy` (a `TransientError`, so tasks retry with backoff) if a place
        is not free within `max_wait` seconds, where a bulk request's wait for its
        window counts only past twice the window (others of its priority may take the
        places the window frees), at most `BULK_PATIENCE_SECONDS`; `BudgetExhausted` at
        once if the day's cap is used up. The waits for a window and for a concurrency
        place are counted apart: a bulk request that waited 60 s for WooCommerce's
        window may still wait its 45 s for one of the two places.
        """
        token = uuid.uuid4().hex
        window = self.quota.window_seconds * (1 + GUARD)
        patience = (
            self.max_wait
            if self.priority is Priority.REAL_TIME
            else max(self.max_wait, min(2 * window, BULK_PATIENCE_SECONDS))
        )
        #: Seconds waited so far for the window and for a place.
        for_window = for_place = 0.0
        while True:
            wait, waits_for = self._try(token)
            if wait == 0:
                break
            if waits_for == WAIT_DAY:
                raise BudgetExhausted(
                    f"daily budget of {self._owner_text()} used up"
                    f" ({self.quota.daily:,} requests a day); a place frees in {wait:,.0f} s",
                    retry_after=wait,
                )
            began = time.monotonic()
            if waits_for == WAIT_PLACE:
                wait = min(wait, POLL_SECONDS)
                if for_place + wait > self.max_wait:
                    raise LimitBusy(
                        f"every place of {self._owner_text()} busy for more than"
                        f" {self.max_wait:g} s",
                        retry_after=wait,
                    )
                self.client.blpop([self.freed_key], timeout=wait)
                for_place += time.monotonic() - began
                continue
            if for_window + wait > patience:
                raise LimitBusy(
                    f"{self._owner_text()} over its quota for more than {patience:g} s",
                    retry_after=wait,
                )
            if self.priority is Priority.BULK:
                note_bulk_wait(self.client, self.waiting_key, wait)
            # A little jitter so waiters released by one expiry do not all ask at once.
            time.sleep(wait + random.uniform(0, 0.05))
            for_window += time.monotonic() - began
        self._hold(token)
        try:
            yield
        finally:
            with self._held_lock:
                self._held.discard(token)
            self.release(token)

    def _owner_text(self) -> str:
        return f"the budget of {self.label}"

    def usage(self) -> Usage:
        """What the budget holds now, for progress and the nightly plan."""
        window_ms = self.quota.window_seconds * 1000
        in_window, in_day, waiting_ms = self._usage(
            keys=[self.keys[0], self.keys[2], self.waiting_key],
            args=[round(window_ms + max(100.0, window_ms * GUARD)), round(DAY_SECONDS * 1000)],
        )
        return Usage(
            quota=self.quota,
            in_window=int(in_window),
            in_day=int(in_day) if self.quota.daily else None,
            waiting_seconds=int(waiting_ms) / 1000 if int(waiting_ms) > 0 else None,
        )

    def _hold(self, token: str) -> None:
        """Have the place renewed while it is held, by this limit's one renewer thread,
        started if none is running.

        Why one thread for all of a limit's places rather than one per request:
        `Thread.start()` waits until the new thread has run, and while the catalog
        reader and the upserts kept the interpreter busy that wait took up to its
        switch interval (5 ms) for every store request; a WooCommerce refresh sends one
        per 100 products.
        """
        with self._held_lock:
            self._held.add(token)
            if self._renewing:
                return
            self._renewing = True
        threading.Thread(target=self._keep, name="store-limit-renewer", daemon=True).start()

    def _keep(self) -> None:
        """Renew every held place each third of the lease; stop once none is held.

        A place taken just after a round is renewed at the next, within a third of its
        lease. The check and the flag change share the lock with `_hold`, so a place is
        never added while this thread is deciding to stop.
        """
        while True:
            time.sleep(self.slot_ttl / 3)
            with self._held_lock:
                tokens = list(self._held)
                if not tokens:
                    self._renewing = False
                    return
            for token in tokens:
                try:
                    # A place released meanwhile is left alone: the script renews only
                    # a place still in the set.
                    self._renew(keys=[self.keys[1]], args=[round(self.slot_ttl * 1000), token])
                except redis.RedisError:
                    # Redis unreachable: the lease may lapse and another worker take the
                    # place early, one request too many at worst; the request goes on.
                    continue


def note_bulk_wait(client: redis.Redis, key: str, seconds: float) -> None:
    """Say, for progress, that bulk work waits for a budget: a key that lives as long as
    the wait (its TTL is the time left, on Redis's clock, not this host's)."""
    try:
        client.set(key, 1, px=max(1, round(seconds * 1000)))
    except redis.RedisError:
        # Only progress reads it: the wait goes on, and Redis being away shows in the
        # next place the waiter asks for.
        return


def quota_for(owner: Site | Source) -> Quota:
    """The site's or source's own settings where set, its platform's default for the rest."""
    if isinstance(owner, Site):
        default, daily = PLATFORM_QUOTAS[Platform(owner.platform)], None
    else:
        default = SOURCE_QUOTAS[SourceKind(owner.kind)]
        daily = owner.rate_limit_daily or default.daily
    return Quota(
        requests=owner.rate_limit_requests or default.requests,
        window_seconds=float(owner.rate_limit_window_seconds or default.window_seconds),
        concurrency=owner.rate_limit_concurrency or default.concurrency,
        daily=daily,
    )


def budget_owner(owner: Site | Source, credentials: Mapping[str, str]) -> str:
    """The name a site's or a source's budget is kept under in Redis: its platform
    account's (`connectors.registry.budget_account`), not the row's. Two sources on one
    Business Central service principal or one Zoho organisation, or two sites on one
    store, draw on one quota at the platform, so on one budget here."""
    if isinstance(owner, Site):
        return "store:" + budget_account(str(owner.platform), owner.base_url, credentials)
    return "erp:" + budget_account(str(owner.kind), owner.base_url, credentials)


def budget_label(owner: Site | Source) -> str:
    """The row a budget is named by in messages: "site 12", "source 3"."""
    return f"{'site' if isinstance(owner, Site) else 'source'} {owner.id}"
