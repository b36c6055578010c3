"""Shopify's calculated query cost, as the connector prices its calls and reads the answer.

GraphQL Admin limits each app on each shop by cost points restored per second by plan
(docs/platforms.md section 5): the bucket must hold a query's requested cost before it
runs, and is refunded `requested - actual` after. So the connector says before each
call what it may cost (the figures below, which a test checks against the sandbox's
pricing) and after it what Shopify reported (`extensions.cost`), for the shared budget
the service layer keeps (`connectors.interfaces.CostMeter`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from connectors.types import CostReport

#: The most one query may ask for, whatever the bucket holds (docs/platforms.md
#: section 5, "Single query limit"): the price of a call we did not price ourselves, so
#: it is never undercounted (the refund after it returns what it did not cost).
MAX_QUERY_COST = 1000
#: An object field (scalars and enums under it cost 0).
OBJECT_COST = 1
#: A mutation's root field (docs/platforms.md section 5, UNCONFIRMED).
MUTATION_COST = 10
#: One variant node of our catalog and product pages: product, inventoryItem,
#: inventoryLevel and the `quantities` list, 1 each (scalars cost 0).
VARIANT_NODE_COST = 4
#: A connection's own cost before its nodes (UNCONFIRMED "2 +").
CONNECTION_BASE = 2


def page_cost(page_size: int) -> int:
    """A `productVariants(first: page_size)` page of our variant fields."""
    return CONNECTION_BASE + page_size * VARIANT_NODE_COST


def cost_report(body: Mapping[str, Any]) -> CostReport | None:
    """`extensions.cost` of an answer, or None where Shopify sent none.

    A figure missing or not a number is None on its own: a throttled answer has no
    `actualQueryCost` (nothing ran), and an answer from a proxy may carry no bucket.
    """
    extensions = body.get("extensions")
    cost = extensions.get("cost") if isinstance(extensions, Mapping) else None
    if not isinstance(cost, Mapping):
        return None
    bucket = cost.get("throttleStatus")
    bucket = bucket if isinstance(bucket, Mapping) else {}
    return CostReport(
        requested=_number(cost.get("requestedQueryCost")),
        actual=_number(cost.get("actualQueryCost")),
        available=_number(bucket.get("currentlyAvailable")),
        maximum=_number(bucket.get("maximumAvailable")),
        restore_rate=_number(bucket.get("restoreRate")),
    )


def throttle_wait(report: CostReport | None) -> float | None:
    """Seconds until the bucket holds the requested cost again, from a throttled answer.

    `(requestedQueryCost - currentlyAvailable) / restoreRate`, rounded up to whole
    seconds and at least 1 so a caller never spins. None when the numbers are missing:
    a throttle without usable numbers still is a throttle, and the caller backs off on
    its own schedule.
    """
    if report is None:
        return None
    requested, available, rate = report.requested, report.available, report.restore_rate
    if requested is None or available is None or rate is None or rate <= 0:
        return None
    return float(max(1, math.ceil((requested - available) / rate)))


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None
