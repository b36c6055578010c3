"""The one type every provider parses into, and the two errors providers raise."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from models import EventKind
from models.webhook_log import EARLIEST_OCCURRED_AT, LATEST_OCCURRED_AT

#: What the receiver hands a provider: header names lower-cased.
Headers = Mapping[str, str]
#: A site's or source's webhook secret: a string, or a mapping for providers that
#: need several (BigCommerce: header secret and client secret).
Secret = str | Mapping[str, str]


class SignatureError(Exception):
    """The request is not from who it claims; `reason` is safe to log (no secrets)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MalformedPayload(Exception):
    """Signed, but not a body this provider sends."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Event:
    """A verified change notice. It says *that* something changed, never the new value.

    `entity` is the platform's id of what changed (product id, ERP item id, SKU); with
    `kind` it keys the dedupe window. `delivery_id` is the platform's idempotency key,
    None where the platform has none.
    """

    topic: str
    kind: EventKind | None
    entity: str
    sku: str | None = None
    delivery_id: str | None = None
    occurred_at: datetime | None = None
    payload: Any = None


def parse_time(value: object) -> datetime | None:
    """ISO 8601 or Unix seconds to aware UTC; None when absent or unreadable.

    Raises MalformedPayload for a time outside the calendar the log holds
    (`models.webhook_log.EARLIEST_OCCURRED_AT` to `LATEST_OCCURRED_AT`): such a time is
    refused at the door (400; Business Central: logged, 200), as a row holding one made
    every reader of the log fail (issue 18, item 12).
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return _in_calendar(datetime.fromtimestamp(value, UTC))
        except (OverflowError, ValueError, OSError):
            # Past Python's calendar, or NaN: OverflowError, ValueError or OSError by
            # platform and size.
            raise MalformedPayload(f"time {value!r} is outside the calendar") from None
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return _in_calendar(parsed.replace(tzinfo=UTC))
    try:
        # 0001-01-01T00:00:00+01:00 is a time of year 0 in UTC: Python cannot hold it.
        return _in_calendar(parsed.astimezone(UTC))
    except OverflowError:
        raise MalformedPayload(f"time {value[:40]!r} is outside the calendar") from None


def _in_calendar(moment: datetime) -> datetime:
    if not EARLIEST_OCCURRED_AT <= moment < LATEST_OCCURRED_AT:
        raise MalformedPayload(f"time {moment.isoformat()} is outside the calendar")
    return moment
