"""What one GraphQL operation costs, priced the way Shopify documents "calculated query cost".

shopify.dev, "GraphQL Admin API rate limits" (Cost calculation): a field costs by what it
returns: scalar and enum 0, object 1; a connection is sized by its `first`/`last`
argument: 2 plus that many times the cost of one node's selection (the "2 +" base is
from third-party write-ups of the same page, UNCONFIRMED); a mutation's root field
costs 10. The sandbox has no schema, so it reads the type from the selection: a field
without a sub-selection is a scalar or enum, one with a `first` or `last` argument is a
connection, any other with a sub-selection is an object. Lists of objects that are not
connections (`quantities(names: [...])`) price as one object (UNCONFIRMED).

The price is what Shopify calls requestedQueryCost; the sandbox reports the same figure
as actualQueryCost (it never stops a query early, so nothing is refunded).

`CostBucket` is the shop's leaky bucket for a plan (none: unlimited, still reported):
restore rates from the shopify.dev page; the maximum, 10 seconds of restore (1,000
points on Standard, the figure of help.shopify.com's older "Call limit" page), is
**UNCONFIRMED** for today's plans. A time-scaled profile (`sandbox.profiles`) refills
the plan's bucket faster: same maximum, its own restore rate.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from graphql.language import (
    FieldNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
)

from sandbox.shopify.arguments import arguments
from sandbox.shopify.selection import Fragments

MUTATION_COST = 10
CONNECTION_BASE = 2
OBJECT_COST = 1
#: The largest requestedQueryCost Shopify runs at all, whatever the bucket holds
#: (help.shopify.com "Call limit", "Single query limit").
MAX_QUERY_COST = 1000
#: Points restored per second, per plan (shopify.dev "GraphQL Admin API rate limits").
RESTORE_RATES = {"standard": 100.0, "advanced": 200.0, "plus": 1000.0, "enterprise": 2000.0}
#: A shop given no plan: its bucket is never the limit, as a sandbox without a
#: `rate_limit` has no quota, and it still reports its bucket, as Shopify always does.
UNLIMITED_RATE = 1_000_000_000.0
#: The bucket holds this many seconds of restore (UNCONFIRMED, module docstring).
BUCKET_SECONDS = 10.0


class CostBucket:
    """One shop's cost points: full at first, refilled continuously, taken per query.

    Time is the sandbox clock's, so a test that advances it refills the bucket too.
    """

    def __init__(self, plan: str | None, now: datetime, restore_rate: float | None = None) -> None:
        """`restore_rate`: the plan's unless given (`SandboxConfig.restore_rate`); the
        maximum is the plan's either way."""
        planned = UNLIMITED_RATE if plan is None else RESTORE_RATES[plan]
        self.restore_rate = restore_rate or planned
        self.maximum = planned * BUCKET_SECONDS
        self.available = self.maximum
        #: Points charged so far (never refunded here): a benchmark's platform floor.
        self.spent = 0.0
        self._at = now
        self._lock = threading.Lock()

    def take(self, cost: float, now: datetime) -> bool:
        """Take `cost` points if the bucket holds them; False (nothing taken) if not."""
        with self._lock:
            elapsed = max(0.0, (now - self._at).total_seconds())
            self.available = min(self.maximum, self.available + elapsed * self.restore_rate)
            self._at = now
            if cost > self.available:
                return False
            self.available -= cost
            self.spent += cost
            return True

    def status(self) -> dict[str, float]:
        """`throttleStatus` as Shopify answers it."""
        return {
            "maximumAvailable": self.maximum,
            "currentlyAvailable": self.available,
            "restoreRate": self.restore_rate,
        }


def requested_cost(
    operation: OperationDefinitionNode, fragments: Fragments, variables: dict[str, Any]
) -> int:
    """The operation's requestedQueryCost under the rules in the module docstring."""
    if operation.operation is OperationType.MUTATION:
        return MUTATION_COST * sum(
            1 for s in operation.selection_set.selections if isinstance(s, FieldNode)
        )
    return _selection_cost(operation.selection_set, fragments, variables)


def _selection_cost(
    selection: SelectionSetNode | None, fragments: Fragments, variables: dict[str, Any]
) -> int:
    if selection is None:
        return 0
    total = 0
    for node in selection.selections:
        if isinstance(node, FieldNode):
            total += _field_cost(node, fragments, variables)
        elif isinstance(node, InlineFragmentNode):
            total += _selection_cost(node.selection_set, fragments, variables)
        elif isinstance(node, FragmentSpreadNode) and node.name.value in fragments:
            total += _selection_cost(fragments[node.name.value].selection_set, fragments, variables)
    return total


def _field_cost(field: FieldNode, fragments: Fragments, variables: dict[str, Any]) -> int:
    if field.selection_set is None:
        return 0
    args = arguments(field, variables)
    size = args.get("first") or args.get("last")
    if isinstance(size, int):
        return CONNECTION_BASE + size * _node_cost(field.selection_set, fragments, variables)
    return OBJECT_COST + _selection_cost(field.selection_set, fragments, variables)


def _node_cost(
    connection: SelectionSetNode, fragments: Fragments, variables: dict[str, Any]
) -> int:
    """One node's cost: the selection under `nodes` or `edges { node }` (pageInfo is
    part of the connection's base, UNCONFIRMED)."""
    for node in connection.selections:
        if not isinstance(node, FieldNode) or node.selection_set is None:
            continue
        if node.name.value == "nodes":
            return _selection_cost(node.selection_set, fragments, variables)
        if node.name.value == "edges":
            inner = [
                s
                for s in node.selection_set.selections
                if isinstance(s, FieldNode) and s.name.value == "node"
            ]
            return sum(_selection_cost(s.selection_set, fragments, variables) for s in inner)
    return 0
