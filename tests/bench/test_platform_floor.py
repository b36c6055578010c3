"""The platform floor (bench/platform_floor.py): the least time each limit allows."""

from __future__ import annotations

import pytest

from bench.platform_floor import Calls, platform_seconds, run_floor
from sandbox.profiles import PROFILES, Profile


def test_a_quota_lets_a_window_through_then_paces_the_rest() -> None:
    """BigCommerce, 150 per 30 s: 450 calls need two more windows after the first."""
    quota_only = Profile((150, 30.0), None, latency_ms=0.0)
    assert platform_seconds(quota_only, Calls(450), ours_at_once=2) == 60.0
    assert platform_seconds(quota_only, Calls(150), ours_at_once=2) == 0.0


def test_the_pace_is_spread_over_the_calls_the_platform_serves_at_once() -> None:
    """200 pages of 0.6 s and 20 writes of 3 s: 180 s of calls, 2 at once."""
    woo = Profile(None, 2, latency_ms=600.0, write_latency_ms=2400.0)
    assert platform_seconds(woo, Calls(220, writes=20), ours_at_once=8) == pytest.approx(90.0)
    unlimited = Profile(None, None, latency_ms=600.0)
    assert platform_seconds(unlimited, Calls(100), ours_at_once=4) == pytest.approx(15.0)


def test_cost_points_beyond_a_full_bucket_go_at_the_plans_restore_rate() -> None:
    """Standard: 100 points a second, a bucket of 1,000. 100 catalog pages of 802 and 80
    writes of 10 are 81,000 points: 800 s after the first bucketful."""
    shopify = PROFILES["shopify"]
    calls = Calls(180, writes=80, points=100 * 802 + 80 * 10)
    assert platform_seconds(shopify, calls, ours_at_once=2) == pytest.approx(800.0)


def test_a_runs_floor_is_its_slower_platform() -> None:
    store = (Profile((300, 60.0), 2, latency_ms=0.0), Calls(900))
    erp = (Profile((100, 60.0), 5, latency_ms=0.0), Calls(101))
    assert run_floor(store, erp, ours_at_once=2) == 120.0  # the store's 600 extra calls
    assert platform_seconds(*erp, ours_at_once=2) == pytest.approx(0.6)


def test_the_platforms_own_work_between_calls_adds_to_its_floor() -> None:
    """A Shopify bulk operation runs between our calls: its time is the platform's."""
    shopify = PROFILES["shopify"]
    quiet = Calls(17, writes=8, points=108)
    # 17 calls of 0.4 s and 8 writes' 0.2 s more, 2 at once; 108 points fit the bucket.
    assert platform_seconds(shopify, quiet, ours_at_once=2) == pytest.approx(4.2)
    exporting = Calls(17, writes=8, points=108, platform_work=4.2)
    assert platform_seconds(shopify, exporting, ours_at_once=2) == pytest.approx(
        platform_seconds(shopify, quiet, ours_at_once=2) + 4.2
    )
