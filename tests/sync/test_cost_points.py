"""A shop's cost-point budget on real Redis: Shopify's bucket as the service keeps it."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import pytest
import redis
from sqlalchemy.orm import Session, sessionmaker

from connectors.shopify import ShopifyStore
from connectors.types import CostReport
from models import Platform
from models.db import transaction
from sync.context import Context
from sync.cost_points import PLATFORM_POINTS, Points, PointsBudget
from sync.limits import LimitBusy, Priority
from tests.factories import make_site, make_source
from tests.support.vaults import CountingVault

STANDARD = PLATFORM_POINTS[Platform.SHOPIFY]


def _report(actual: float | None, available: float | None = None, **bucket: float) -> CostReport:
    return CostReport(
        requested=None,
        actual=actual,
        available=available,
        maximum=bucket.get("maximum"),
        restore_rate=bucket.get("restore_rate"),
    )


def test_a_shop_of_unknown_plan_has_the_standard_bucket(redis_client: redis.Redis) -> None:
    budget = PointsBudget(redis_client, "site:1", STANDARD)
    assert (STANDARD.restore_rate, STANDARD.maximum) == (100.0, 1000.0)
    assert budget.try_spend(802) == 0.0  # a full bucket pays a catalog page
    # The next page waits for the 604 points it lacks, at 100 a second.
    assert 5.9 < budget.try_spend(802) <= 6.1


def test_bulk_work_leaves_the_reserve_to_real_time_work(redis_client: redis.Redis) -> None:
    bulk = PointsBudget(redis_client, "site:1", STANDARD, priority=Priority.BULK)
    real_time = PointsBudget(redis_client, "site:1", STANDARD)
    assert bulk.try_spend(900) == 0.0  # 900 and the reserve of 100: the whole bucket
    assert bulk.try_spend(10) > 0  # 100 left: the reserve is not bulk's
    assert real_time.try_spend(10) == 0.0  # a sale's write goes at once


def test_what_a_call_did_not_cost_comes_back(redis_client: redis.Redis) -> None:
    budget = PointsBudget(redis_client, "site:1", STANDARD)
    budget.try_spend(802)
    budget.settle(802, _report(actual=202))  # a last page of 50 variants
    assert 798 <= budget.usage().available < 805


def test_a_throttled_call_costs_nothing_and_shopifys_count_wins(
    redis_client: redis.Redis,
) -> None:
    """Shopify holds less than we thought (it lowered the limit for a while): the budget
    takes its figure, and the throttled call's price comes back before that."""
    budget = PointsBudget(redis_client, "site:1", STANDARD)
    budget.try_spend(802)
    budget.settle(802, _report(actual=None, available=40))
    assert 40 <= budget.usage().available < 45
    assert budget.try_spend(802) > 7.5


def test_the_shops_plan_is_learned_from_its_answers(redis_client: redis.Redis) -> None:
    budget = PointsBudget(redis_client, "site:1", STANDARD)
    budget.try_spend(10)
    budget.settle(10, _report(actual=10, available=9990, maximum=10_000, restore_rate=1000))
    usage = budget.usage()
    assert (usage.maximum, usage.restore_rate) == (10_000, 1000)
    for _ in range(12):  # 9,624 points at once: a Plus bucket pays them
        assert budget.try_spend(802) == 0.0
    other = PointsBudget(redis_client, "site:2", STANDARD)
    assert other.usage().maximum == 1000  # each shop its own bucket


def test_real_time_work_gives_up_when_the_wait_is_too_long(redis_client: redis.Redis) -> None:
    budget = PointsBudget(redis_client, "site:1", STANDARD, max_wait=0.5)
    budget.spend(1000)
    with pytest.raises(LimitBusy) as raised:
        budget.spend(500)
    assert raised.value.retry_after is not None and 4.5 < raised.value.retry_after <= 5.1


def test_bulk_work_waits_for_the_points_and_says_so(redis_client: redis.Redis) -> None:
    budget = PointsBudget(redis_client, "site:1", Points(1000.0, 1000.0), priority=Priority.BULK)
    budget.spend(900)
    began = time.monotonic()
    budget.spend(500)  # 500 and the reserve: 0.5 s of restore
    assert 0.4 < time.monotonic() - began < 2.0
    assert redis_client.exists(budget.waiting_key) or time.monotonic() - began > 0.5


def test_workers_together_never_spend_more_than_the_bucket_allows(
    redis_client: redis.Redis,
) -> None:
    """Four threads, each its own budget object as each worker has, draw on one shop:
    what they took in all never passes the bucket plus what it restored meanwhile."""
    points = Points(400.0, 200.0)
    taken: list[float] = []
    began = time.monotonic()

    def draw() -> None:
        budget = PointsBudget(redis_client, "site:1", points)
        for _ in range(15):
            budget.spend(20)
            taken.append(20)

    threads = [threading.Thread(target=draw) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    assert sum(taken) == 1200
    # 1,200 points from a bucket of 200 restoring 400 a second: at least 2.5 s.
    assert elapsed >= (1200 - points.maximum) / points.restore_rate - 0.05


def test_a_shopify_connector_decrypts_its_credentials_once(
    service: Context, db: sessionmaker[Session], encryption_key: str
) -> None:
    """The connector, its request budget and its points budget all need the shop's
    credentials (the budgets are kept per account): opened once, not three times."""
    vault = CountingVault([encryption_key])
    with transaction(db) as session:
        source = make_source(session, vault)
        site = make_site(session, vault, source, platform=Platform.SHOPIFY,
                         credentials_sealed=vault.seal({"access_token": "shpat_x"}))  # fmt: skip
    counted = replace(service, vault=vault)

    store = counted.storefront(site, Priority.BULK)

    assert vault.opened == 1
    assert isinstance(store, ShopifyStore) and isinstance(store.meter, PointsBudget)
