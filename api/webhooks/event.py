"""The one type every provider parses into, and the two errors providers raise."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from models import EventKind

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
    """ISO 8601 or Unix seconds to aware UTC; None when absent or unreadable."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
