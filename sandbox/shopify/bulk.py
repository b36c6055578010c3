"""The Shopify sandbox's bulk query operations: run, poll, download (docs/platforms.md §5).

`bulkOperationRunQuery(query:)` starts an operation over the shop's variants; it runs
on the sandbox clock at `OBJECTS_PER_SECOND` (a sandbox choice: Shopify publishes no
rate, UNCONFIRMED), CREATED for its first `QUEUED_SECONDS`, then RUNNING with a growing
`objectCount`, then COMPLETED with a `url`. The file is the JSONL Shopify serves: one
variant a line, its nested objects inline (no nested connection, so no `__parentId`
lines), taken as the shop stands when the operation completes. The `url` needs no
token, like Shopify's signed storage URL, and expires `URL_LIFETIME` after completion:
the operation then reads EXPIRED with no `url`, and the file answers 403 (the storage's
answer to an expired signature is UNCONFIRMED).

`QUERIES_AT_ONCE` query operations may run at once per shop; one more is refused with a
`userErrors` entry `OPERATION_IN_PROGRESS` (the 2026-07 reference says one at a time;
the code chosen among BulkOperationUserErrorCode's values is UNCONFIRMED).

Only the query shape the connector sends is run: `productVariants` with `edges { node
{ ... } }` (or `nodes`), its `inventoryLevel(locationId:)` as a literal. Anything else
is refused with `INVALID` (the sandbox is no GraphQL engine).
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from flask import request
from graphql import GraphQLError, parse
from graphql.language import FieldNode, OperationDefinitionNode, SelectionSetNode

from sandbox.accounts import SHOPIFY_LOCATION
from sandbox.shopify.arguments import arguments, child
from sandbox.shopify.selection import project

if TYPE_CHECKING:
    from sandbox.shopify.state import ShopifyState

#: Objects an operation processes a second of the sandbox clock (UNCONFIRMED).
OBJECTS_PER_SECOND = 5_000.0
#: How long an operation stays CREATED before it runs (UNCONFIRMED).
QUEUED_SECONDS = 0.2
#: `url` values expire seven days after completion (BulkOperation reference).
URL_LIFETIME = timedelta(days=7)
#: Query operations one app may run at once per shop (2026-07 bulkOperationRunQuery).
QUERIES_AT_ONCE = 1
#: Where the sandbox serves the files: not an Admin API path, so no token, no quota.
FILES_PREFIX = "/_files/bulk/"
_GID = "gid://shopify/BulkOperation/"


@dataclass
class Operation:
    number: int
    query: str
    node: SelectionSetNode
    level: FieldNode | None
    created_at: datetime
    total: int
    token: str
    lines: list[bytes] | None = None
    completed_at: datetime | None = None

    def seconds(self) -> float:
        return QUEUED_SECONDS + self.total / OBJECTS_PER_SECOND


class BulkOperations:
    """The shop's operations, by number."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.operations: dict[int, Operation] = {}
        self.started = 0

    def run(self, state: ShopifyState, query: str, now: datetime) -> dict[str, Any]:
        """The `bulkOperationRunQuery` payload for `query`."""
        try:
            node, level = _variant_selection(query)
        except (GraphQLError, ValueError) as exc:
            return _refused("INVALID", f"Invalid bulk query: {exc}")
        with self.lock:
            running = [
                op
                for op in self.operations.values()
                if self._status(state, op, now) in ("CREATED", "RUNNING")
            ]
            if len(running) >= QUERIES_AT_ONCE:
                return _refused(
                    "OPERATION_IN_PROGRESS",
                    "A bulk query operation for this app and shop is already in progress: "
                    f"{_GID}{running[0].number}.",
                )
            self.started += 1
            with state.lock:
                total = sum(1 for i in range(len(state.skus)) if state.live(i))
            op = Operation(self.started, query, node, level, now, total, secrets.token_urlsafe(16))
            self.operations[op.number] = op
        return {"bulkOperation": self.view(state, op, now), "userErrors": []}

    def find(self, gid: str) -> Operation | None:
        number = gid.removeprefix(_GID)
        with self.lock:
            return self.operations.get(int(number)) if number.isdigit() else None

    def current(self) -> Operation | None:
        with self.lock:
            return self.operations[self.started] if self.started else None

    def view(self, state: ShopifyState, op: Operation, now: datetime) -> dict[str, Any]:
        """The BulkOperation object as Shopify answers it at `now`."""
        with self.lock:
            status = self._status(state, op, now)
        elapsed = (now - op.created_at).total_seconds() - QUEUED_SECONDS
        done = (
            op.total
            if status in ("COMPLETED", "EXPIRED")
            else max(0, int(elapsed * OBJECTS_PER_SECOND))
        )
        url = None
        if status == "COMPLETED":
            url = f"{request.host_url.rstrip('/')}{FILES_PREFIX}{op.token}.jsonl"
        return {
            "__typename": "BulkOperation",
            "id": f"{_GID}{op.number}",
            "status": status,
            "errorCode": None,
            "objectCount": str(min(done, op.total)),  # UnsignedInt64 is a string on the wire
            "rootObjectCount": str(min(done, op.total)),
            "fileSize": str(sum(len(line) for line in op.lines)) if op.lines else None,
            "url": url,
            "partialDataUrl": None,
            "query": op.query,
            "type": "QUERY",
            "createdAt": op.created_at.isoformat(),
            "completedAt": op.completed_at.isoformat() if op.completed_at else None,
        }

    def file(self, state: ShopifyState, token: str, now: datetime) -> Iterator[bytes] | None:
        """The lines of the completed operation whose file is `token`; None if no such
        file, not complete yet, or expired."""
        with self.lock:
            op = next((o for o in self.operations.values() if o.token == token), None)
            if op is None or self._status(state, op, now) != "COMPLETED" or op.lines is None:
                return None
            lines = op.lines
        return iter(lines)

    def _status(self, state: ShopifyState, op: Operation, now: datetime) -> str:
        """CREATED, RUNNING, COMPLETED or EXPIRED at `now`; the file is written when the
        operation is first seen complete, from the shop as it stands then."""
        elapsed = (now - op.created_at).total_seconds()
        if elapsed < QUEUED_SECONDS:
            return "CREATED"
        if elapsed < op.seconds():
            return "RUNNING"
        if op.completed_at is None:
            op.completed_at = op.created_at + timedelta(seconds=op.seconds())
            op.lines = _lines(state, op)
        if now >= op.completed_at + URL_LIFETIME:
            op.lines = None
            return "EXPIRED"
        return "COMPLETED"


def _lines(state: ShopifyState, op: Operation) -> list[bytes]:
    here = op.level is None or arguments(op.level, {}).get("locationId") == SHOPIFY_LOCATION
    with state.lock:
        nodes = [state.variant_node(i, here) for i in range(len(state.skus)) if state.live(i)]
    return [
        json.dumps(project(n, op.node, {}), separators=(",", ":")).encode() + b"\n" for n in nodes
    ]


def _variant_selection(query: str) -> tuple[SelectionSetNode, FieldNode | None]:
    """The selection of one variant in a bulk query of `productVariants`, and its
    `inventoryLevel` field; ValueError for any other shape."""
    document = parse(query)
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1:
        raise ValueError("one query operation expected")
    roots = [s for s in operations[0].selection_set.selections if isinstance(s, FieldNode)]
    if len(roots) != 1 or roots[0].name.value != "productVariants":
        raise ValueError("the sandbox bulk-runs productVariants only")
    nodes = child(roots[0], "nodes")
    edges = child(roots[0], "edges")
    node = nodes if nodes is not None else (child(edges, "node") if edges is not None else None)
    if node is None or node.selection_set is None:
        raise ValueError("productVariants needs edges { node { ... } } or nodes { ... }")
    item = child(node, "inventoryItem")
    level = child(item, "inventoryLevel") if item is not None else None
    return node.selection_set, level


def _refused(code: str, message: str) -> dict[str, Any]:
    return {
        "bulkOperation": None,
        "userErrors": [{"code": code, "field": ["query"], "message": message}],
    }


def bulk_operation_run_query(
    state: ShopifyState, field: FieldNode, variables: dict[str, Any]
) -> dict[str, Any]:
    query = arguments(field, variables).get("query")
    if not isinstance(query, str):
        raise GraphQLError("Argument 'query' of bulkOperationRunQuery must be a String")
    return state.bulk.run(state, query, state.clock.now())


def node(state: ShopifyState, field: FieldNode, variables: dict[str, Any]) -> Any:
    """`node(id:)` for a BulkOperation id (the only node the sandbox resolves); null
    for any other id, as for one that does not exist."""
    op = state.bulk.find(str(arguments(field, variables).get("id")))
    return None if op is None else state.bulk.view(state, op, state.clock.now())


def current_bulk_operation(state: ShopifyState, field: FieldNode, variables: dict[str, Any]) -> Any:
    """The app's most recent query operation, or null."""
    op = state.bulk.current()
    return None if op is None else state.bulk.view(state, op, state.clock.now())
