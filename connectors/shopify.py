"""Shopify storefront: catalog reads and absolute stock writes over the GraphQL Admin API.

Facts used here are from docs/platforms.md section 5 unless marked otherwise:

- Stock is written with `inventorySetQuantities`, which suits a caller that is the source
  of truth (the ERP is). From API 2026-04 every quantity must carry `changeFromQuantity`:
  we send the level we believe the store holds (`StockUpdate.expected`), so a sale made
  since we read it fails that quantity with `CHANGE_FROM_QUANTITY_STALE` instead of being
  written over (`UpdateResult.stale`); null (no belief) skips the compare.
- From API 2026-04 the `@idempotent(key:)` directive is enforced on
  `inventorySetQuantities`, so it is always sent.
- Every input array is capped at 250 items (shopify.dev/api/usage/limits), so a call
  carries at most 250 quantities; we chunk at 250 and read `userErrors`.
- Connections take at most `first: 250` (UNCONFIRMED, community answers). GraphQL
  Admin limits by calculated query cost: each call is priced before it is sent and
  settled after with `extensions.cost` by the shop's shared `CostMeter` where one is
  set (connectors/shopify_cost.py). Throttling answers 200 with a top-level `THROTTLED`
  error and the bucket in `extensions.cost.throttleStatus` (its shape UNCONFIRMED);
  REST-style limits answer 429 with `Retry-After`, which `HttpClient` already turns
  into a `TransientError`.
- A top-level `INTERNAL_SERVER_ERROR` error code (shopify.dev) is Shopify's own
  failure, reported inside a 200; it is transient like a 5xx.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from connectors.errors import PermanentError, TransientError
from connectors.http import HttpClient
from connectors.interfaces import CostMeter
from connectors.shopify_bulk import BULK_ABOVE, PREFIX, BulkCatalog, bulk_query, variant_count
from connectors.shopify_cost import (
    CONNECTION_BASE,
    MAX_QUERY_COST,
    MUTATION_COST,
    cost_report,
    page_cost,
    throttle_wait,
)
from connectors.shopify_orders import parse_order
from connectors.shopify_variants import (
    CATALOG_QUERY,
    PAGE_SIZE,
    PRODUCT_QUERY,
    VARIANT_FIELDS,
    page_of,
    products_of,
)
from connectors.tokens import TokenCache
from connectors.types import (
    CatalogPage,
    CostReport,
    OrderSnapshot,
    StockUpdate,
    StoreProduct,
    UpdateResult,
    catalog_products,
)

#: The user error of a quantity whose `changeFromQuantity` no longer matches the level
#: (docs/platforms.md section 5).
STALE = "CHANGE_FROM_QUANTITY_STALE"
#: The version whose inventory rules (changeFromQuantity, @idempotent) this module follows.
DEFAULT_API_VERSION = "2026-04"

#: Entries per `inventorySetQuantities` call: Shopify's cap on every input array.
BATCH_LIMIT = 250

#: The requested cost of each call we send (connectors/shopify_cost.py).
CATALOG_COST = page_cost(PAGE_SIZE)
PRODUCT_COST = 1 + page_cost(PAGE_SIZE)
#: `locations(first: 1) { nodes { id } }`: the connection alone (its node holds a scalar).
LOCATION_COST = CONNECTION_BASE
#: A throttled call is sent again after waiting for the bucket this many times, in
#: place, before the error goes to the caller.
THROTTLE_RESENDS = 2

LOCATION_QUERY = "query StocksyncLocation { locations(first: 1) { nodes { id } } }"

SET_QUANTITIES_MUTATION = """
mutation StocksyncSetStock($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { id }
    userErrors { code field message }
  }
}
"""


class ShopifyStore:
    """A Shopify shop, reached at `{base_url}/admin/api/{version}/graphql.json`.

    credentials: `access_token` (required), `location_id` (the location whose
    `available` quantity we set; if absent, the shop's first location is read once) and
    `api_version` (default 2026-04). Admin access tokens do not expire, so `token_cache`
    is accepted for the registry's common signature and not used.
    """

    batch_limit = BATCH_LIMIT
    #: Catalogs of more variants than this are listed by a bulk operation.
    bulk_above = BULK_ABOVE
    #: The shop's shared cost-point budget, set by the service layer (sync/context.py);
    #: None: calls are sent unpaced.
    meter: CostMeter | None = None

    @staticmethod
    def budget_account(base_url: str, credentials: Mapping[str, str]) -> tuple[str, ...]:
        """Whose cost points the bucket counts: one app's on one shop (section 5), and
        the app is ours: the shop."""
        return (base_url.rstrip("/").lower(),)

    def __init__(
        self,
        base_url: str,
        credentials: Mapping[str, str],
        *,
        token_cache: TokenCache | None = None,
    ) -> None:
        token = credentials.get("access_token")
        if not token:
            raise PermanentError("shopify: credentials have no access_token")
        version = credentials.get("api_version") or DEFAULT_API_VERSION
        self.path = f"admin/api/{version}/graphql.json"
        self._location_id = credentials.get("location_id") or None
        self.http = HttpClient(
            "shopify",
            base_url,
            headers={"X-Shopify-Access-Token": token, "Accept": "application/json"},
        )

    def iter_catalog(self) -> Iterator[StoreProduct]:
        """Stream every variant with a usable SKU (see `iter_pages`)."""
        return catalog_products(self.iter_pages())

    def iter_pages(self, resume: str | None = None) -> Iterator[CatalogPage]:
        """Pages of `PAGE_SIZE` variants, one in memory at a time. `resume` is where the
        last page read ends: the listing goes on exactly there.

        A shop of more than `bulk_above` variants is listed by a bulk operation
        (connectors/shopify_bulk.py: past 25,000 variants cursor pages stop, and below
        that they cost 4 points a variant); its `resume` names the operation and line.
        A smaller one is paged, `resume` being the GraphQL cursor after the last page.
        """
        location = self.location_id()
        if resume.startswith(PREFIX) if resume else variant_count(self) > self.bulk_above:
            yield from self.bulk_listing().pages(resume)
            return
        cursor = resume
        while True:
            data = self.graphql(
                CATALOG_QUERY, {"cursor": cursor, "location": location}, cost=CATALOG_COST
            )
            nodes, cursor = page_of(data, "productVariants")
            yield CatalogPage(list(products_of(nodes)), cursor)
            if cursor is None:
                return

    def bulk_listing(self) -> BulkCatalog:
        """The bulk listing of our catalog fields at our location (a bulk query takes no
        variables, so the location is written into it)."""
        fields = VARIANT_FIELDS.replace("$location", json.dumps(self.location_id()))
        return BulkCatalog(self, bulk_query(fields), products_of, PAGE_SIZE)

    def get_product(self, product_id: str) -> list[StoreProduct]:
        """The variants of one product (every Shopify product has at least one)."""
        products: list[StoreProduct] = []
        cursor: str | None = None
        location = self.location_id()
        while True:
            variables = {"id": product_id, "cursor": cursor, "location": location}
            data = self.graphql(PRODUCT_QUERY, variables, cost=PRODUCT_COST)
            if data.get("product") is None:
                return products
            nodes, cursor = page_of(data["product"], "variants")
            products.extend(products_of(nodes))
            if cursor is None:
                return products

    def read_order(self, order_id: str, payload: object) -> OrderSnapshot:
        """The order of a signed `orders/*` delivery, parsed from `payload` (the whole
        REST Order; `connectors.shopify_orders`): no API call."""
        return parse_order(payload)

    def location_id(self) -> str:
        """The location we write to: from credentials, else the shop's first, read once."""
        if self._location_id is None:
            data = self.graphql(LOCATION_QUERY, {}, cost=LOCATION_COST)
            try:
                self._location_id = str(data["locations"]["nodes"][0]["id"])
            except (KeyError, IndexError, TypeError) as exc:
                raise PermanentError("shopify: the shop has no location to stock") from exc
        return self._location_id

    def set_stock(self, updates: Sequence[StockUpdate]) -> list[UpdateResult]:
        """Set `available` at our location, `batch_limit` entries per mutation.

        A chunk that fails with a `TransientError` aborts the call; chunks already sent
        stay applied, which is harmless because every write is an absolute value.
        """
        results: list[UpdateResult] = []
        for start in range(0, len(updates), self.batch_limit):
            results.extend(self._set_chunk(updates[start : start + self.batch_limit]))
        return results

    def _set_chunk(self, chunk: Sequence[StockUpdate]) -> list[UpdateResult]:
        """Write one chunk, resending it once without the items Shopify rejected.

        Shopify applies a mutation with any `userErrors` not at all (the sandbox models
        the same atomicity), so one bad inventory item would fail its 249 neighbours.
        The resend carries a new idempotency key: its body differs, and Shopify rejects
        a reused key with different parameters (third-party report, UNCONFIRMED).
        """
        failed = {i: "no inventory item id" for i, u in enumerate(chunk) if not u.variant_id}
        sendable = [i for i in range(len(chunk)) if i not in failed]
        rejected = self._mutate(chunk, sendable)
        if rejected:
            failed.update(rejected)
            retry = [i for i in sendable if i not in rejected]
            rejected_again = self._mutate(chunk, retry)
            if rejected_again:
                # Atomic again: nothing of the resend was applied, not even clean items.
                for i in retry:
                    failed[i] = rejected_again.get(i, "not applied: resend rejected for others")
        return [
            UpdateResult(
                u.sku, i not in failed, failed.get(i), (failed.get(i) or "").startswith(STALE)
            )
            for i, u in enumerate(chunk)
        ]

    def _mutate(self, chunk: Sequence[StockUpdate], indices: Sequence[int]) -> dict[int, str]:
        """Send `chunk[indices]` in one mutation; return {chunk index: error} it rejected."""
        if not indices:
            return {}
        location = self.location_id()
        key = str(uuid.uuid4())
        variables = {
            "key": key,
            "input": {
                "name": "available",
                "reason": "correction",
                "referenceDocumentUri": f"stocksync://set-stock/{key}",
                "quantities": [
                    {
                        "inventoryItemId": chunk[i].variant_id,
                        "locationId": location,
                        "quantity": chunk[i].quantity,
                        # Our belief of the level: a sale since makes it stale, and
                        # sync/store_writes.py re-reads and writes around the sale.
                        "changeFromQuantity": chunk[i].expected,
                    }
                    for i in indices
                ],
            },
        }
        try:
            data = self.graphql(SET_QUANTITIES_MUTATION, variables, cost=MUTATION_COST)
        except TransientError as exc:
            if exc.status is not None:
                raise
            # No status means a timeout or a dropped connection: Shopify may have applied
            # the mutation. The same key makes one immediate resend safe (Shopify answers
            # a replayed key without applying twice); 429/5xx go to the caller's backoff.
            data = self.graphql(SET_QUANTITIES_MUTATION, variables, cost=MUTATION_COST)
        return _rejected(data, indices)

    def graphql(
        self, query: str, variables: Mapping[str, Any], *, cost: float = MAX_QUERY_COST
    ) -> dict[str, Any]:
        """POST one operation priced `cost` points; return `data`, or raise for top-level
        errors.

        With a `meter`, the price is taken from the shop's budget before the call and
        settled with Shopify's report after it; a throttled call (the bucket held less
        than we thought: Shopify lowered it, or another of our deployments spent it) is
        settled too, which lowers the budget to what Shopify said, and sent again once
        the budget holds its price, up to `THROTTLE_RESENDS` times. Without a meter
        throttles go to the caller with Shopify's wait as the hint.

        Public for `connectors.shopify_connection`, which talks to the same endpoint
        with the same token and error rules (its calls unpriced, at the most a query
        may cost).
        """
        for resend in range(THROTTLE_RESENDS + 1):
            if self.meter is not None:
                self.meter.spend(cost)
            body = self.http.json("POST", self.path, json={"query": query, "variables": variables})
            if not isinstance(body, dict):
                raise PermanentError(f"shopify POST {self.path}: response is not a JSON object")
            report = cost_report(body)
            if self.meter is not None:
                self.meter.settle(cost, report)
            if self.meter is None or resend == THROTTLE_RESENDS or not _throttled(body):
                return self._data(body, report)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _data(self, body: Mapping[str, Any], report: CostReport | None) -> dict[str, Any]:
        """`data` of an answer, or the error its top-level `errors` stand for."""
        errors = body.get("errors")
        if errors:
            listed = errors if isinstance(errors, list) else [errors]
            messages = "; ".join(_error_text(e) for e in listed)
            codes = _error_codes(listed)
            if "THROTTLED" in codes:
                raise TransientError(
                    f"shopify POST {self.path}: {messages}",
                    status=200,
                    retry_after=throttle_wait(report),
                )
            if "INTERNAL_SERVER_ERROR" in codes:
                # Shopify's own fault, answered as a GraphQL error instead of a 500
                # (shopify.dev response codes; changelog "Improved GraphQL errors",
                # 2019-10; not in docs/platforms.md section 5). No wait hint comes with it.
                raise TransientError(f"shopify POST {self.path}: {messages}", status=200)
            raise PermanentError(f"shopify POST {self.path}: {messages}", status=200)
        data = body.get("data")
        if not isinstance(data, dict):
            raise PermanentError(f"shopify POST {self.path}: response has no data")
        return data


def _throttled(body: Mapping[str, Any]) -> bool:
    errors = body.get("errors")
    return bool(errors) and "THROTTLED" in _error_codes(
        errors if isinstance(errors, list) else [errors]
    )


def _error_codes(errors: list[Any]) -> set[str]:
    """The `extensions.code` of each top-level error that has one."""
    codes = set()
    for error in errors:
        extensions = error.get("extensions") if isinstance(error, dict) else None
        code = extensions.get("code") if isinstance(extensions, dict) else None
        if isinstance(code, str):
            codes.add(code)
    return codes


def _error_text(error: Any) -> str:
    if not isinstance(error, dict):
        return str(error)
    code = (error.get("extensions") or {}).get("code")
    message = str(error.get("message", error))
    return f"{code}: {message}" if code else message


def _rejected(data: Mapping[str, Any], indices: Sequence[int]) -> dict[int, str]:
    """Map `userErrors` to chunk indices via their field path.

    `field` looks like ["input", "quantities", "3", "inventoryItemId"], where 3 is the
    position in the quantities we sent. An error naming no quantity (a bad `reason`,
    say) is our request's fault as a whole, so it is permanent for the batch.
    """
    try:
        errors = data["inventorySetQuantities"]["userErrors"] or []
    except (KeyError, TypeError) as exc:
        raise PermanentError("shopify inventorySetQuantities: unexpected payload") from exc
    rejected: dict[int, str] = {}
    for error in errors:
        field = error.get("field") or []
        text = f"{error.get('code')}: {error.get('message')}"
        position = _quantity_position(field)
        if position is None or position >= len(indices):
            raise PermanentError(f"shopify inventorySetQuantities {field}: {text}")
        rejected[indices[position]] = text
    return rejected


def _quantity_position(field: Sequence[str]) -> int | None:
    if len(field) >= 3 and field[0] == "input" and field[1] == "quantities":
        return int(field[2]) if str(field[2]).isdigit() else None
    return None
