"""A store's request quota, held in Redis and shared by every worker (docs/architecture.md flow 6).

Celery's `rate_limit` is per worker, while a platform's quota is per store: four workers
each "within" 150 requests per 30 s send 600. So every request to a store first takes a
place here. Two limits at once, checked and taken atomically by one Lua script:

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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import redis

from connectors.errors import TransientError
from models import Platform, Site


@dataclass(frozen=True)
class Quota:
    """At most `requests` per `window_seconds`, at most `concurrency` at once."""

    requests: int
    window_seconds: float
    concurrency: int


#: Defaults for a site whose `rate_limit_*` columns are NULL.
PLATFORM_QUOTAS: dict[Platform, Quota] = {
    # Standard and Plus plans: 150 requests per 30 s, shared by every app on the store
    # (docs/platforms.md section 4, "Rate limits"). One request at a time: BigCommerce asks
    # to wait for each inventory write's 200 before sending the next (same section).
    Platform.BIGCOMMERCE: Quota(150, 30.0, 1),
    # Shopify's long-standing REST limit, a 40-request bucket leaking 2 per second (40
    # per 20 s averages the same). GraphQL Admin is really limited by cost points per
    # second by plan (docs/platforms.md section 5, corrected 2026-12); a budget in
    # those points is not built yet, so this request quota stands in for it.
    Platform.SHOPIFY: Quota(40, 20.0, 2),
    # WooCommerce core has no rate limit; hosts and security plugins set their own
    # (docs/platforms.md section 2, UNCONFIRMED). 5 per second and 2 at once keep a small
    # host's PHP workers free for shoppers; raise it per site for a bigger host.
    Platform.WOOCOMMERCE: Quota(300, 60.0, 2),
}

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
#: Longest total wait for a place before giving up with `StoreLimitBusy`, so a task
#: retries later instead of sitting on a worker past its time limit.
MAX_WAIT_SECONDS = 45.0

_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local concurrency = tonumber(ARGV[3])
local ttl = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZCARD', KEYS[2]) >= concurrency then
  local soonest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  return {0, math.max(1, tonumber(soonest[2]) - now), 1}
end
if redis.call('ZCARD', KEYS[1]) >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, math.max(1, tonumber(oldest[2]) + window - now), 0}
end
redis.call('ZADD', KEYS[1], now, ARGV[5])
redis.call('ZADD', KEYS[2], now + ttl, ARGV[5])
redis.call('PEXPIRE', KEYS[1], window)
redis.call('PEXPIRE', KEYS[2], ttl)
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


class StoreLimitBusy(TransientError):
    """No place became free within the maximum wait: retry the task later."""


class StoreLimit:
    """The shared limit of one site. `with limit.acquire(): <one store request>`.

    Stores built by `Context.storefront` (sync/context.py) already take it around each of their
    requests (sync/pacing.py): wrapping their calls in `acquire()` again would hold a
    place while waiting for another, which with one place (BigCommerce) never comes.
    """

    def __init__(
        self,
        client: redis.Redis,
        site_id: int,
        quota: Quota,
        *,
        max_wait: float = MAX_WAIT_SECONDS,
        slot_ttl: float = SLOT_TTL_SECONDS,
    ) -> None:
        self.client = client
        self.site_id = site_id
        self.quota = quota
        self.max_wait = max_wait
        self.slot_ttl = slot_ttl
        self.keys = [f"stocksync:limit:{site_id}:window", f"stocksync:limit:{site_id}:slots"]
        #: One entry per release, for waiters to block on (trimmed to the concurrency).
        self.freed_key = f"stocksync:limit:{site_id}:freed"
        self._script = client.register_script(_ACQUIRE)
        self._renew = client.register_script(_RENEW)
        #: The places this limit holds now, and whether a thread is renewing them.
        self._held: set[str] = set()
        self._held_lock = threading.Lock()
        self._renewing = False

    def try_acquire(self, token: str) -> float:
        """Take a place for `token` if one is free: 0.0, else the seconds to wait."""
        return self._try(token)[0]

    def _try(self, token: str) -> tuple[float, bool]:
        """(seconds to wait or 0.0 if taken, whether the wait is for a concurrency place)."""
        window_ms = self.quota.window_seconds * 1000
        granted, wait_ms, for_place = self._script(
            keys=self.keys,
            args=[
                self.quota.requests,
                round(window_ms + max(100.0, window_ms * GUARD)),
                self.quota.concurrency,
                round(self.slot_ttl * 1000),
                token,
            ],
        )
        return (0.0, False) if granted else (float(wait_ms) / 1000, bool(for_place))

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

        Raises `StoreLimitBusy` (a `TransientError`, so tasks retry with backoff) if no
        place is free within `max_wait` seconds.
        """
        token = uuid.uuid4().hex
        deadline = time.monotonic() + self.max_wait
        while True:
            wait, for_place = self._try(token)
            if wait == 0:
                break
            if for_place:
                wait = min(wait, POLL_SECONDS)
            remaining = deadline - time.monotonic()
            if wait > remaining:
                raise StoreLimitBusy(
                    f"store limit of site {self.site_id} busy for more than {self.max_wait:g} s",
                    retry_after=wait,
                )
            if for_place:
                self.client.blpop([self.freed_key], timeout=wait)
            else:
                # A little jitter so waiters released by one expiry do not all ask at once.
                time.sleep(wait + random.uniform(0, 0.05))
        self._hold(token)
        try:
            yield
        finally:
            with self._held_lock:
                self._held.discard(token)
            self.release(token)

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


def quota_for(site: Site) -> Quota:
    """The site's own settings where set, the platform's default for the rest."""
    default = PLATFORM_QUOTAS[Platform(site.platform)]
    return Quota(
        requests=site.rate_limit_requests or default.requests,
        window_seconds=float(site.rate_limit_window_seconds or default.window_seconds),
        concurrency=site.rate_limit_concurrency or default.concurrency,
    )
