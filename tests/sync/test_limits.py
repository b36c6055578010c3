"""The shared store limit, on real Redis: the Lua script's windows, places and expiry."""

from __future__ import annotations

import threading
import time

import pytest
import redis

from models import Platform, Site
from sync import limits
from sync.limits import PLATFORM_QUOTAS, Quota, StoreLimit, StoreLimitBusy, quota_for


def test_no_more_requests_than_the_quota_in_a_window(redis_client: redis.Redis) -> None:
    limit = StoreLimit(redis_client, 1, Quota(5, 2.0, 10))
    waits = [limit.try_acquire(f"t{i}") for i in range(6)]
    for i in range(5):
        limit.release(f"t{i}")

    assert waits[:5] == [0.0] * 5
    # The sixth waits for the first to leave the window (2 s plus the guard).
    assert 1.5 < waits[5] <= 2.3


def test_no_more_concurrent_requests_than_the_places(redis_client: redis.Redis) -> None:
    limit = StoreLimit(redis_client, 1, Quota(100, 1.0, 2))
    assert limit.try_acquire("a") == limit.try_acquire("b") == 0.0
    assert limit.try_acquire("c") > 0  # both places taken: ask again shortly
    limit.release("a")
    assert limit.try_acquire("c") == 0.0


def test_a_place_held_by_a_dead_worker_frees_itself(redis_client: redis.Redis) -> None:
    limit = StoreLimit(redis_client, 1, Quota(100, 1.0, 1), slot_ttl=0.2)
    assert limit.try_acquire("killed-before-release") == 0.0
    assert limit.try_acquire("next") > 0
    time.sleep(0.3)
    assert limit.try_acquire("next") == 0.0


def test_sites_do_not_share_a_limit(redis_client: redis.Redis) -> None:
    one = StoreLimit(redis_client, 1, Quota(1, 10.0, 1))
    two = StoreLimit(redis_client, 2, Quota(1, 10.0, 1))
    assert one.try_acquire("x") == 0.0
    assert two.try_acquire("y") == 0.0


def test_waiting_too_long_is_a_transient_error(redis_client: redis.Redis) -> None:
    limit = StoreLimit(redis_client, 1, Quota(1, 30.0, 1), max_wait=0.2)
    with limit.acquire():
        pass
    with pytest.raises(StoreLimitBusy) as raised, limit.acquire():
        pass
    assert raised.value.retry_after is not None and raised.value.retry_after > 25


def test_threads_sharing_a_limit_stay_within_it(redis_client: redis.Redis) -> None:
    """Six threads, each with its own client (as separate workers would be)."""
    quota = Quota(requests=8, window_seconds=0.5, concurrency=2)
    starts: list[float] = []
    running, most = [0], [0]
    lock = threading.Lock()

    def worker() -> None:
        client = redis.Redis(connection_pool=redis_client.connection_pool)
        limit = StoreLimit(client, 7, quota)
        for _ in range(5):
            with limit.acquire():
                with lock:
                    starts.append(time.monotonic())
                    running[0] += 1
                    most[0] = max(most[0], running[0])
                time.sleep(0.005)
                with lock:
                    running[0] -= 1

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(starts) == 30 and most[0] <= 2
    starts.sort()
    for i, start in enumerate(starts):
        in_window = [s for s in starts[i:] if s - start < quota.window_seconds]
        assert len(in_window) <= quota.requests


def test_site_settings_override_the_platform_defaults() -> None:
    site = Site(platform=Platform.BIGCOMMERCE, rate_limit_requests=20, rate_limit_concurrency=4)
    assert quota_for(site) == Quota(20, 30.0, 4)
    plain = Site(platform=Platform.SHOPIFY)
    assert quota_for(plain) == PLATFORM_QUOTAS[Platform.SHOPIFY]
    # The published BigCommerce Standard quota (docs/platforms.md section 4).
    assert PLATFORM_QUOTAS[Platform.BIGCOMMERCE] == Quota(150, 30.0, 1)


def test_a_place_in_use_is_renewed_past_its_lease(redis_client: redis.Redis) -> None:
    limit = StoreLimit(redis_client, 1, Quota(100, 1.0, 1), slot_ttl=0.3)
    with limit.acquire():
        time.sleep(0.7)  # more than twice the lease: only renewal keeps the place
        assert limit.try_acquire("other") > 0
    assert limit.try_acquire("other") == 0.0


def test_a_waiter_wakes_when_the_place_is_released(
    redis_client: redis.Redis, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Woken by the release, not by the end of its longest block (made 20 s here)."""
    monkeypatch.setattr(limits, "POLL_SECONDS", 20.0)
    quota = Quota(100, 1.0, 1)
    holder = StoreLimit(redis_client, 1, quota)
    waiter = StoreLimit(redis.Redis.from_url(redis_url), 1, quota)
    assert holder.try_acquire("holder") == 0.0
    releaser = threading.Timer(0.2, holder.release, args=["holder"])
    releaser.start()
    started = time.monotonic()
    with waiter.acquire():
        waited = time.monotonic() - started
    releaser.join()
    assert waited < 10  # half the block: it did not sit out the 20 s


def test_one_renewer_keeps_every_place_a_limit_holds(
    redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Places held at once by two threads are both renewed past their lease, by one
    thread: one started per request cost every store request a thread start."""
    #: What each started thread's target was bound to (the limit, for its renewer).
    started: list[object] = []

    class Counted(threading.Thread):
        def start(self) -> None:
            started.append(getattr(self._target, "__self__", None))  # type: ignore[attr-defined]
            super().start()

    monkeypatch.setattr(limits.threading, "Thread", Counted)
    limit = StoreLimit(redis_client, 1, Quota(1000, 1.0, 2), slot_ttl=0.3)
    other = StoreLimit(redis_client, 1, Quota(1000, 1.0, 2))
    for _ in range(20):
        with limit.acquire():
            pass
    both_held = threading.Barrier(3)

    def hold() -> None:
        with limit.acquire():
            both_held.wait()
            time.sleep(0.7)  # more than twice the lease: only renewal keeps the place

    holders = [threading.Thread(target=hold) for _ in range(2)]
    for holder in holders:
        holder.start()
    both_held.wait()
    time.sleep(0.6)
    refused = other.try_acquire("third")
    for holder in holders:
        holder.join()

    assert refused > 0
    assert other.try_acquire("third") == 0.0
    assert sum(1 for owner in started if owner is limit) == 1
