"""The silence verdict (`sync.healing.silence`) at its edges, with the ERP faked: the
same check runs against the Business Central sandbox in
tests/functional/test_subscriptions_kept.py."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from connectors.types import ModifiedItem
from sync.healing import CLOCK_SKEW, NOTICE_GRACE, silence

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


class Erp:
    """Items modified at given times; records each `since` it was asked."""

    def __init__(self, *edits: tuple[str, datetime]) -> None:
        self.edits = [ModifiedItem(sku, at) for sku, at in edits]
        self.asked: list[datetime] = []

    def modified_since(self, since: datetime) -> Iterator[ModifiedItem]:
        self.asked.append(since)
        return (item for item in self.edits if item.modified_at > since)


def test_an_edit_older_than_the_grace_with_no_notice_since_is_silence() -> None:
    quiet = NOW - timedelta(hours=1)
    erp = Erp(("SKU-1", NOW - timedelta(minutes=30)))

    verdict = silence(erp, quiet, NOW)  # type: ignore[arg-type]

    assert verdict is not None and "item SKU-1 changed on the ERP at 2026-12-05T11:30" in verdict
    assert erp.asked == [quiet + CLOCK_SKEW]


def test_an_edit_within_the_grace_may_still_be_notified() -> None:
    erp = Erp(("SKU-1", NOW - NOTICE_GRACE + timedelta(seconds=1)))

    assert silence(erp, NOW - timedelta(hours=1), NOW) is None  # type: ignore[arg-type]


def test_an_edit_within_the_skew_of_the_last_notice_is_not_counted() -> None:
    quiet = NOW - timedelta(hours=1)
    erp = Erp(("SKU-1", quiet + CLOCK_SKEW - timedelta(seconds=1)))

    assert silence(erp, quiet, NOW) is None  # type: ignore[arg-type]


def test_a_notice_too_recent_to_judge_costs_no_call() -> None:
    erp = Erp(("SKU-1", NOW - timedelta(minutes=30)))

    assert silence(erp, NOW - NOTICE_GRACE - CLOCK_SKEW, NOW) is None  # type: ignore[arg-type]
    assert erp.asked == []
