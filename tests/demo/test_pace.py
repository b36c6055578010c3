"""What the demo's sandboxes allow (demo/pace.py): their platforms' profiles sped up by
default, with the budgets those allow; the lab on `--lab`."""

from __future__ import annotations

from demo.pace import DEFAULT_SPEED, Pace
from demo.platforms import ERP, STORES
from demo.registration import SANDBOX_QUOTA
from sandbox.profiles import PROFILES


def test_by_default_each_sandbox_and_its_budget_are_its_profile_sped_up() -> None:
    pace = Pace()
    for platform in (ERP, *STORES):
        profile = PROFILES[platform].scaled(DEFAULT_SPEED)
        assert pace.knobs(platform) == profile.knobs()
        assert pace.quota(platform) == profile.quota()
    assert pace.describe(["woocommerce", "shopify"]) == [
        "  woocommerce: 300 requests / 5 s, 2 at once, pages 50 ms, writes +200 ms "
        "(its real defaults at 12x speed)",
        "  shopify: standard plan, 1,200 cost points a second, pages 33 ms, writes +17 ms "
        "(its real defaults at 12x speed)",
    ]


def test_the_lab_has_no_limits_and_budgets_no_sync_reaches() -> None:
    pace = Pace(lab=True)
    for platform in (ERP, *STORES):
        assert pace.knobs(platform) == {}
        assert pace.quota(platform) == SANDBOX_QUOTA
    assert len(pace.describe(STORES)) == 1


def test_a_slower_demo_waits_as_much_longer_for_its_platforms() -> None:
    assert Pace(speed=1).timeout(600) == 600 * DEFAULT_SPEED
    assert Pace().timeout(600) == Pace(speed=30).timeout(600) == 600
