"""The shared store limit, on real Redis: the Lua script's windows, places and expiry."""

from __future__ import annotations

import threading
import time

import pytest
import redis
from sqlalchemy.orm import Session, sessionmaker

from models import Platform, Site, Source, SourceKind
from models.crypto import Vault
from models.db import transaction
from sync import limits
from sync.context import Context
from sync.limits import (
    PLATFORM_QUOTAS,
    BudgetExhausted,
    Limit,
    LimitBusy,
    Priority,
    Quota,
    Usage,
    quota_for,
)
from tests.factories import make_site, make_source


def test_no_more_requests_than_the_quota_in_a_window(redis_client: redis.Redis) -> None:
    limit = Limit(redis_client, "site:1", Quota(5, 2.0, 10))
    waits = [limit.try_acquire(f"t{i}") for i in range(6)]
    for i in range(5):
        limit.release(f"t{i}")

    assert waits[:5] == [0.0] * 5
    # The sixth waits for the first to leave the window (2 s plus the guard).
    assert 1.5 < waits[5] <= 2.3


def test_no_more_concurrent_requests_than_the_places(redis_client: redis.Redis) -> None:
    limit = Limit(redis_client, "site:1", Quota(100, 1.0, 2))
    assert limit.try_acquire("a") == limit.try_acquire("b") == 0.0
    assert limit.try_acquire("c") > 0  # both places taken: ask again shortly
    limit.release("a")
    assert limit.try_acquire("c") == 0.0


def test_a_place_held_by_a_dead_worker_frees_itself(redis_client: redis.Redis) -> None:
    limit = Limit(redis_client, "site:1", Quota(100, 1.0, 1), slot_ttl=0.2)
    assert limit.try_acquire("killed-before-release") == 0.0
    assert limit.try_acquire("next") > 0
    time.sleep(0.3)
    assert limit.try_acquire("next") == 0.0


def test_sites_do_not_share_a_limit(redis_client: redis.Redis) -> None:
    one = Limit(redis_client, "site:1", Quota(1, 10.0, 1))
    two = Limit(redis_client, "site:2", Quota(1, 10.0, 1))
    assert one.try_acquire("x") == 0.0
    assert two.try_acquire("y") == 0.0


def test_waiting_too_long_is_a_transient_error(redis_client: redis.Redis) -> None:
    limit = Limit(redis_client, "site:1", Quota(1, 30.0, 1), max_wait=0.2)
    with limit.acquire():
        pass
    with pytest.raises(LimitBusy) as raised, limit.acquire():
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
        limit = Limit(client, "site:7", quota)
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
    limit = Limit(redis_client, "site:1", Quota(100, 1.0, 1), slot_ttl=0.3)
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
    holder = Limit(redis_client, "site:1", quota)
    waiter = Limit(redis.Redis.from_url(redis_url), "site:1", quota)
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
    limit = Limit(redis_client, "site:1", Quota(1000, 1.0, 2), slot_ttl=0.3)
    other = Limit(redis_client, "site:1", Quota(1000, 1.0, 2))
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


def test_bulk_work_leaves_real_time_work_its_share_of_the_window(
    redis_client: redis.Redis,
) -> None:
    """A nightly run filling the store's quota must not make a sale wait behind it."""
    quota = Quota(10, 30.0, 20)
    bulk = Limit(redis_client, "site:1", quota, priority=Priority.BULK)
    real_time = Limit(redis_client, "site:1", quota)
    assert [bulk.try_acquire(f"b{i}") for i in range(9)] == [0.0] * 9
    assert bulk.try_acquire("b9") > 25  # the reserve (10 %) is not bulk's
    assert real_time.try_acquire("event") == 0.0
    assert real_time.try_acquire("event-2") > 25  # and the quota still holds


def test_a_bulk_request_waits_out_a_window_longer_than_a_real_time_one_may(
    redis_client: redis.Redis,
) -> None:
    quota = Quota(1, 1.0, 1)
    with Limit(redis_client, "site:1", quota).acquire():
        pass
    with pytest.raises(LimitBusy):
        with Limit(redis_client, "site:1", quota, max_wait=0.1).acquire():
            pass
    bulk = Limit(redis_client, "site:1", quota, priority=Priority.BULK, max_wait=0.1)
    started = time.monotonic()
    with bulk.acquire():
        waited = time.monotonic() - started
    assert 0.5 < waited < 3


def test_a_day_s_cap_used_up_is_said_with_the_time_until_a_place_frees(
    redis_client: redis.Redis,
) -> None:
    """Zoho caps a day: the task retries then, rather than sleeping on a worker."""
    limit = Limit(redis_client, "source:3", Quota(100, 1.0, 5, daily=3))
    for _ in range(3):
        with limit.acquire():
            pass
    with pytest.raises(BudgetExhausted, match="3 requests a day") as raised:
        with limit.acquire():
            pass
    assert raised.value.retry_after is not None and raised.value.retry_after > 86_000
    assert limit.usage().in_day == 3


def test_the_budget_says_what_is_used_and_how_long_bulk_work_waits(
    redis_client: redis.Redis,
) -> None:
    quota = Quota(2, 2.0, 5)
    limit = Limit(redis_client, "site:1", quota, priority=Priority.BULK)
    assert limit.usage() == Usage(quota, in_window=0, in_day=None, waiting_seconds=None)
    for _ in range(2):
        with limit.acquire():
            pass

    def wait_for_a_place() -> None:
        with limit.acquire():
            pass

    waiter = threading.Thread(target=wait_for_a_place)
    waiter.start()
    time.sleep(0.3)
    during = limit.usage()
    waiter.join()
    assert during.in_window == 2
    assert during.waiting_seconds is not None and 0.5 < during.waiting_seconds <= 2.3


def test_sources_default_to_their_erp_s_documented_budget() -> None:
    """docs/platforms.md sections 6 and 7; each setting of the source overrides one."""
    assert quota_for(Source(kind=SourceKind.BUSINESSCENTRAL)) == Quota(6000, 300.0, 5)
    zoho = Source(kind=SourceKind.ZOHO, rate_limit_daily=1000, rate_limit_concurrency=10)
    assert quota_for(zoho) == Quota(100, 60.0, 10, daily=1000)


def test_a_bulk_request_s_wait_for_a_place_is_not_charged_its_window_wait(
    redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review of issue 22: a bulk request that had waited out WooCommerce's 60 s window
    failed at the first busy place, its 45 s for a place already spent."""
    limit = Limit(redis_client, "site:1", Quota(10, 1.0, 1), priority=Priority.BULK, max_wait=0.2)
    answers = iter([(0.3, limits.WAIT_WINDOW), (0.1, limits.WAIT_PLACE), (0.0, limits.WAIT_WINDOW)])
    monkeypatch.setattr(limit, "_try", lambda token: next(answers))
    with limit.acquire():
        pass


def test_rows_on_one_platform_account_share_its_budget(
    service: Context, db: sessionmaker[Session], vault: Vault
) -> None:
    """The platforms count per account, not per row of ours: two Business Central
    companies on one service principal (6,000 per 5 min per user), two sources on one
    Zoho organisation, two sites on one store. Before, each row had a budget of its own,
    and together they could send the platform twice its limit."""
    bc = {"tenant_id": "t1", "client_id": "app", "client_secret": "s"}
    zoho = {"client_id": "c", "client_secret": "s", "refresh_token": "r"}
    sources = {
        "bc-uk": (SourceKind.BUSINESSCENTRAL, {**bc, "company_id": "uk"}),
        "bc-fr": (SourceKind.BUSINESSCENTRAL, {**bc, "company_id": "fr"}),
        "bc-other-tenant": (SourceKind.BUSINESSCENTRAL, {**bc, "tenant_id": "t2"}),
        "zoho-a": (SourceKind.ZOHO, {**zoho, "organization_id": "1"}),
        "zoho-b": (SourceKind.ZOHO, {**zoho, "organization_id": "1", "client_id": "d"}),
    }
    rows: dict[str, Site | Source] = {}
    with transaction(db) as session:
        for name, (kind, credentials) in sources.items():
            rows[name] = make_source(
                session, vault, name=name, kind=kind, credentials_sealed=vault.seal(credentials)
            )
        source = rows["bc-uk"]
        assert isinstance(source, Source)
        rows["shop"] = make_site(session, vault, source, base_url="https://Shop.example/")
        rows["same shop"] = make_site(
            session, vault, source, name="again", base_url="https://shop.example"
        )
    with db() as session:
        owners = {name: service.limit(session.merge(row)).owner for name, row in rows.items()}
        label = service.limit(session.merge(rows["bc-fr"])).label

    assert owners["bc-uk"] == owners["bc-fr"] != owners["bc-other-tenant"]
    assert owners["zoho-a"] == owners["zoho-b"]
    assert owners["shop"] == owners["same shop"]
    assert len(set(owners.values())) == 4
    assert all("app" not in owner and "t1" not in owner for owner in owners.values())
    assert label == f"source {rows['bc-fr'].id}"  # messages still name the row
