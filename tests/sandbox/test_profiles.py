"""Platform profiles (sandbox/profiles.py): sped up for the demo, the budget each is
registered with checked against our own defaults (sync/limits.py), and scaled sandboxes
over real HTTP enforcing the scaled limits."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pytest
import requests

from models import Platform, Site, Source, SourceKind
from sandbox.accounts import DEFAULTS
from sandbox.base import SandboxConfig, SandboxState
from sandbox.profiles import PROFILES, Profile
from sandbox.registry import create_app
from sandbox.server import running
from sync.limits import quota_for

SPEED = 10.0
#: 2 + 249 x 2 points: half of a Standard bucket.
HALF_A_BUCKET = (
    "{ productVariants(first: 249) { nodes { id product { id } inventoryItem { id } } } }"
)


def test_a_scaled_profile_is_the_same_limits_in_shorter_windows_and_quicker_calls() -> None:
    woo = PROFILES["woocommerce"].scaled(SPEED)
    assert woo.rate_limit == (300, 6.0)
    assert woo.concurrency == 2
    assert (woo.latency_ms, woo.write_latency_ms) == (60.0, 240.0)
    shop = PROFILES["shopify"].scaled(SPEED)
    assert (shop.plan, shop.rate_limit, shop.restore_rate) == ("standard", None, 1000.0)
    assert PROFILES["shopify"].restore_rate == 100.0
    assert PROFILES["businesscentral"].restore_rate is None
    assert PROFILES["woocommerce"].scaled(2).scaled(5) == woo
    assert PROFILES["woocommerce"].scaled(1) == PROFILES["woocommerce"]


def test_a_speed_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        PROFILES["zoho"].scaled(0)


def _owner(platform: str, columns: dict[str, int | None]) -> Site | Source:
    """An unsaved site or source of `platform` with these `rate_limit_*` settings."""
    if platform in {p.value for p in Platform}:
        return Site(platform=Platform(platform), **columns)
    return Source(kind=SourceKind(platform), **columns)


@pytest.mark.parametrize("platform", sorted(PROFILES))
def test_at_speed_one_a_profiles_quota_is_the_platforms_default_budget(platform: str) -> None:
    """A site registered with its real profile's quota is paced as one left unset: the
    profiles and sync/limits.py's defaults name the same limits."""
    profile = PROFILES[platform]
    assert quota_for(_owner(platform, profile.quota())) == quota_for(_owner(platform, {}))


def test_a_scaled_quota_is_the_scaled_limits_in_whole_seconds() -> None:
    assert PROFILES["bigcommerce"].scaled(SPEED).quota() == {
        "rate_limit_requests": 150,
        "rate_limit_window_seconds": 3,
        "rate_limit_concurrency": 1,
    }
    # 60 s at 7x is 8.57 s; the setting holds whole seconds, so ours is the stricter 9.
    assert PROFILES["woocommerce"].scaled(7).quota()["rate_limit_window_seconds"] == 9
    # Shopify counts cost points, learned from its answers: our default budget stays.
    assert set(PROFILES["shopify"].scaled(SPEED).quota().values()) == {None}


def test_a_profile_says_what_it_allows_in_one_line() -> None:
    assert PROFILES["woocommerce"].scaled(SPEED).describe() == (
        "300 requests / 6 s, 2 at once, pages 60 ms, writes +240 ms "
        "(its real defaults at 10x speed)"
    )
    assert PROFILES["shopify"].describe() == (
        "standard plan, 100 cost points a second, pages 400 ms, writes +200 ms (its real defaults)"
    )


@contextmanager
def serving(platform: str, profile: Profile) -> Iterator[tuple[str, SandboxState]]:
    """`platform`'s sandbox on `profile`, over HTTP, with its default account."""
    app = create_app(platform, SandboxConfig(items=5, **profile.knobs()))
    with running(app) as url:
        yield url, app.config["SANDBOX_STATE"]


def _graphql(url: str, query: str) -> dict[str, Any]:
    response = requests.post(
        f"{url}/admin/api/2026-04/graphql.json",
        json={"query": query},
        headers={"X-Shopify-Access-Token": DEFAULTS["shopify"].sandbox["access_token"]},
        timeout=10,
    )
    status: dict[str, Any] = response.json()["extensions"]["cost"]["throttleStatus"]
    return status


def test_a_scaled_shopify_plan_says_and_keeps_its_restore_rate() -> None:
    """The connector learns a shop's pace from `throttleStatus` (sync/cost_points.py):
    Standard at 10x is the plan's bucket of 1,000 points refilled at 1,000 a second."""
    with serving("shopify", PROFILES["shopify"].scaled(SPEED)) as (url, state):
        first = _graphql(url, HALF_A_BUCKET)
        state.clock.advance(0.5)  # 500 points at 1,000 a second; 50 at the plan's own
        second = _graphql(url, HALF_A_BUCKET)
    assert (first["maximumAvailable"], first["restoreRate"]) == (1000, 1000)
    assert first["currentlyAvailable"] < 510
    assert second["currentlyAvailable"] >= 500


def _woocommerce(url: str) -> requests.Response:
    account = DEFAULTS["woocommerce"].sandbox
    return requests.get(
        f"{url}/wp-json/wc/v3/products",
        params={"per_page": 1},
        auth=(account["consumer_key"], account["consumer_secret"]),
        timeout=10,
    )


def _bigcommerce(url: str) -> requests.Response:
    account = DEFAULTS["bigcommerce"].sandbox
    return requests.get(
        f"{url}/stores/{account['store_hash']}/v3/catalog/products/100",
        headers={"X-Auth-Token": account["access_token"]},
        timeout=10,
    )


#: Each store's request, and the seconds its 429 says the window resets in.
STORES: dict[str, tuple[Callable[[str], requests.Response], Callable[[requests.Response], float]]]
STORES = {
    "woocommerce": (_woocommerce, lambda refused: float(refused.headers["Retry-After"])),
    "bigcommerce": (
        _bigcommerce,
        lambda refused: int(refused.headers["X-Rate-Limit-Time-Reset-Ms"]) / 1000,
    ),
}


@pytest.mark.parametrize("platform", sorted(STORES))
def test_a_scaled_store_refuses_past_its_quota_within_the_shorter_window(platform: str) -> None:
    """One request past the quota, all sent within the scaled window (6 s and 3 s at
    10x, answered in 60 and 40 ms, 16 at a time): the last is refused, and says the
    window resets within the scaled window, not the platform's minute or half."""
    call, reset = STORES[platform]
    profile = PROFILES[platform].scaled(SPEED)
    assert profile.rate_limit is not None
    quota, window = profile.rate_limit
    with serving(platform, profile) as (url, _state), ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda _: call(url), range(quota + 1)))
    assert Counter(a.status_code for a in answers) == {200: quota, 429: 1}
    refused = next(a for a in answers if a.status_code == 429)
    assert 0 < reset(refused) <= window
