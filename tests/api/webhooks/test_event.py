"""`parse_time`: every provider's event time, read from sender input (api/webhooks/event.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from api.webhooks.event import MalformedPayload, parse_time
from models.webhook_log import EARLIEST_OCCURRED_AT, LATEST_OCCURRED_AT

NOON = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-12-01T12:00:00Z", NOON),
        ("2026-12-01T12:00:00.000Z", NOON),
        ("2026-12-01T13:00:00+01:00", NOON),
        # Zoho's offsets carry no colon.
        ("2026-12-01T17:30:00+0530", NOON),
        # No offset is read as UTC (WooCommerce's date_modified_gmt has none).
        ("2026-12-01T12:00:00", NOON),
        (int(NOON.timestamp()), NOON),
        (NOON.timestamp() + 0.5, NOON + timedelta(seconds=0.5)),
    ],
    ids=["z", "z-fraction", "colon-offset", "zoho-offset", "naive", "unix-int", "unix-float"],
)
def test_iso_8601_and_unix_seconds_are_read_as_aware_times(value: Any, expected: datetime) -> None:
    parsed = parse_time(value)
    assert parsed is not None and parsed.tzinfo is not None
    assert parsed == expected


@pytest.mark.parametrize("value", [None, "", "yesterday", "2026-13-01T00:00:00", True, [1], {}])
def test_what_is_not_a_time_is_none(value: Any) -> None:
    assert parse_time(value) is None


@pytest.mark.parametrize(
    "value",
    [10**20, 1e300, -(10**15), 253402300800, float("nan"), float("inf")],
    ids=str,
)
def test_a_number_outside_the_calendar_is_refused(value: float) -> None:
    """It escaped as OverflowError or ValueError: a numeric created_at (BigCommerce),
    timestamp (standard), last_modified_time (Zoho) or lastModifiedDateTime (Business
    Central) such as 1e20 made the receiver answer 500."""
    with pytest.raises(MalformedPayload, match="outside the calendar"):
        parse_time(value)


@pytest.mark.parametrize(
    "value",
    [
        "0001-01-01T00:00:00+01:00",  # year 0 in UTC: stored so, it broke every reader
        "0001-01-01T12:00:00Z",
        "9999-12-31T23:00:00Z",
        "9999-12-31T23:00:00-05:00",  # year 10000 in UTC
        -62135596800,  # 0001-01-01T00:00:00Z
    ],
)
def test_a_time_at_the_calendar_s_edge_is_refused(value: object) -> None:
    """Within a day of year 1 or 9999 a reader in another zone would fall off the
    calendar (models.webhook_log.EARLIEST_OCCURRED_AT)."""
    with pytest.raises(MalformedPayload, match="outside the calendar"):
        parse_time(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0001-01-02T00:00:00Z", EARLIEST_OCCURRED_AT),
        ("9999-12-30T23:59:59Z", LATEST_OCCURRED_AT - timedelta(seconds=1)),
    ],
)
def test_the_calendar_s_last_readable_days_are_times(value: str, expected: datetime) -> None:
    assert parse_time(value) == expected
