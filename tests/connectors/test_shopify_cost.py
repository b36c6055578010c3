"""The Shopify connector prices its calls and reports their cost to the shop's meter."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from connectors.errors import TransientError
from connectors.registry import build_storefront
from connectors.shopify import CATALOG_COST, LOCATION_COST, ShopifyStore
from connectors.shopify_bulk import COUNT_COST
from connectors.shopify_cost import cost_report, throttle_wait
from sandbox.base import SandboxConfig
from sandbox.registry import create_app
from sandbox.server import running
from sandbox.shopify.state import ShopifyState
from tests.support.cost_meter import Recorder

TOKEN = "shpat_test_token"


@contextmanager
def metered_shop(**config: Any) -> Iterator[tuple[ShopifyStore, Recorder, ShopifyState]]:
    app = create_app("shopify", SandboxConfig(credentials={"access_token": TOKEN}, **config))
    with running(app) as url:
        store = build_storefront("shopify", url, {"access_token": TOKEN})
        assert isinstance(store, ShopifyStore)
        store.meter = Recorder()
        yield store, store.meter, app.config["SANDBOX_STATE"]


def test_each_call_is_paid_before_and_settled_after() -> None:
    with metered_shop(items=300, plan="plus") as (store, meter, _state):
        pages = list(store.iter_pages())

    assert len(pages) == 2
    assert meter.spent == [LOCATION_COST, COUNT_COST, CATALOG_COST, CATALOG_COST]
    requested, report = meter.settled[2]
    assert requested == CATALOG_COST and report is not None
    assert report.actual == CATALOG_COST  # the sandbox never refunds (sandbox.shopify.cost)
    assert (report.maximum, report.restore_rate) == (10_000, 1000)


def test_a_throttled_call_is_settled_and_sent_again_then_given_up() -> None:
    """A meter that lets everything through (as if another app had emptied the bucket
    behind our back): each throttle is settled with no actual cost, the call sent again
    twice, then the throttle goes up with Shopify's wait as the hint."""
    with metered_shop(items=600, plan="standard") as (store, meter, state):
        pages = store.iter_pages()
        next(pages)  # 2 + 1 + 802 of the 1,000 points
        with pytest.raises(TransientError) as raised:
            next(pages)

    assert state.rejected_429 == 3
    assert meter.spent == [LOCATION_COST, COUNT_COST] + [CATALOG_COST] * 4
    throttled = [report for _, report in meter.settled[3:]]
    assert [r.actual if r else "none" for r in throttled] == [None, None, None]
    assert raised.value.retry_after is not None and raised.value.retry_after >= 6


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"extensions": None},
        {"extensions": {"cost": "802"}},
        {"extensions": {"cost": {"requestedQueryCost": True, "throttleStatus": []}}},
        {"extensions": {"cost": {"actualQueryCost": float("nan")}}},
    ],
)
def test_a_cost_of_an_unknown_shape_is_read_as_unknown(body: dict[str, Any]) -> None:
    report = cost_report(body)
    assert report is None or set(vars(report).values()) == {None}
    assert throttle_wait(report) is None


def test_the_throttle_wait_is_what_the_bucket_lacks_over_its_rate() -> None:
    body = {
        "extensions": {
            "cost": {
                "requestedQueryCost": 802,
                "actualQueryCost": None,
                "throttleStatus": {
                    "maximumAvailable": 1000,
                    "currentlyAvailable": 198,
                    "restoreRate": 100,
                },
            }
        }
    }
    assert throttle_wait(cost_report(body)) == 7.0  # 604 points at 100 a second, rounded up
