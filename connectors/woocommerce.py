"""WooCommerce storefront: REST API v3 products, variations and batch stock writes.

Auth is the store's consumer key and secret (docs/platforms.md section 2): HTTP Basic by
default, or `consumer_key`/`consumer_secret` query parameters when the credentials say
`query_string_auth: "true"`, for hosts that strip the `Authorization` header. Stores are
expected to be served over HTTPS; WC refuses both modes on plain HTTP.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import requests

from connectors.errors import PermanentError
from connectors.http import HttpClient, decode_json
from connectors.tokens import TokenCache
from connectors.types import (
    CatalogPage,
    OrderSnapshot,
    StockUpdate,
    StoreProduct,
    UpdateResult,
    catalog_products,
)
from connectors.woocommerce_orders import parse_order
from models.skus import try_normalize_sku


class _Page(NamedTuple):
    """One page of a collection: its number, rows, the store's page count, if last."""

    number: int
    rows: list[dict[str, Any]]
    of: int | None
    last: bool


#: WordPress caps `per_page` at 100 (docs/platforms.md section 2); the fewest pages possible.
PAGE_SIZE = 100
#: Variation listings of one page read at once (`iter_pages`). Each still takes a place
#: in the site's shared budget, which decides how many really run together.
READ_AT_ONCE = 2


class WooCommerceStore:
    """A WooCommerce store, by site root URL (the API lives under `/wp-json/wc/v3/`)."""

    #: `check_batch_limit()` rejects a batch over 100 items in total with HTTP 413
    #: (filter `woocommerce_rest_batch_items_limit`, default 100; docs/platforms.md section 2).
    batch_limit = 100

    @staticmethod
    def budget_account(base_url: str, credentials: Mapping[str, str]) -> tuple[str, ...]:
        """Whose requests the limit counts: the host's (section 2: hosts and security
        plugins limit requests, whatever the key)."""
        return (_host(base_url),)

    def __init__(
        self,
        base_url: str,
        credentials: Mapping[str, str],
        *,
        token_cache: TokenCache | None = None,
    ) -> None:
        """`token_cache` is accepted for the registry's uniform signature; WC keys never expire."""
        try:
            key, secret = credentials["consumer_key"], credentials["consumer_secret"]
        except KeyError as exc:
            raise PermanentError(f"woocommerce: credentials lack {exc.args[0]}") from None
        session = requests.Session()
        auth: tuple[str, str] | None = (key, secret)
        if str(credentials.get("query_string_auth", "")).lower() == "true":
            session.params = {"consumer_key": key, "consumer_secret": secret}
            auth = None
        # With query-string auth the secret is in every URL; HttpClient keeps query
        # values out of its error messages.
        self.http = HttpClient(
            "woocommerce",
            f"{base_url.rstrip('/')}/wp-json/wc/v3",
            headers={"Accept": "application/json"},
            auth=auth,
            session=session,
        )

    # Reads -----------------------------------------------------------------------------

    def iter_catalog(self) -> Iterator[StoreProduct]:
        """Every simple product and every variation (see `iter_pages`)."""
        return catalog_products(self.iter_pages())

    def iter_pages(self, resume: str | None = None) -> Iterator[CatalogPage]:
        """Pages of products, each with its variable products' variations: at most a
        page of products and the SKUs they hold in memory.

        Pages in ascending id order: WC's default order is newest first, which would
        shift rows between pages if a product were created during the walk. `resume` is
        the number of the last page read, read again: a product deleted since shifts
        the rest one place back, and re-reading the page keeps the first of the next
        page from slipping past us (up to a page's worth of deletions).
        """
        first = int(resume) if resume and resume.isdigit() else 1
        # A page's variable products each cost a listing of their variations, most of a
        # catalog's calls (183 of 226 for 2,000 SKUs); they are read `READ_AT_ONCE` at a
        # time, as many as the host serves at once by default (sync/limits.py), in order.
        with ThreadPoolExecutor(READ_AT_ONCE, thread_name_prefix="woocommerce-read") as pool:
            for page in self._numbered_pages("products", first):
                sellable = pool.map(lambda product: list(self._sellable(product)), page.rows)
                products = [sku for skus in sellable for sku in skus]
                resume_at = None if page.last else str(page.number)
                yield CatalogPage(products, resume_at, page.of)

    def get_product(self, product_id: str) -> list[StoreProduct]:
        """One product: itself if simple, its variations if variable, [] if it is gone.

        A variation id also works (WC serves variations at `/products/<id>` too), which is
        what a `product.updated` webhook for a variation names (docs/platforms.md section 1).
        Gone is deleted for good (404) or in the trash, WordPress's delete, which
        `/products/<id>` still answers with `status: "trash"` (section 2).
        """
        try:
            product = self.http.json("GET", f"products/{int(product_id)}")
        except PermanentError as exc:
            if exc.status == 404:
                # Deleted since the webhook was sent: nothing left to sync.
                return []
            raise
        except ValueError:
            raise PermanentError(
                f"woocommerce: product id {product_id!r} is not a number"
            ) from None
        if product.get("status") == "trash":
            return []
        return list(self._sellable(product))

    def read_order(self, order_id: str, payload: object) -> OrderSnapshot | None:
        """The order of a signed `order.*` delivery, parsed from `payload`
        (`connectors.woocommerce_orders`); an order with refunds costs one read of
        `orders/<id>/refunds`. None if that read finds the order gone (404)."""
        try:
            return parse_order(payload, self._refunds)
        except PermanentError as exc:
            if exc.status == 404:
                return None
            raise

    def _refunds(self, order_id: str) -> Iterator[dict[str, Any]]:
        return self._pages(f"orders/{int(order_id)}/refunds")

    def _sellable(self, product: Mapping[str, Any]) -> Iterator[StoreProduct]:
        kind = product.get("type")
        if kind == "variable":
            for variation in self._pages(f"products/{product['id']}/variations"):
                yield from _store_product(variation, parent_id=product["id"])
        elif kind == "variation":
            yield from _store_product(product, parent_id=product.get("parent_id"))
        elif kind == "simple":
            yield from _store_product(product, parent_id=None)
        # grouped and external products hold no stock of their own: nothing to sync.

    def _pages(self, path: str) -> Iterator[dict[str, Any]]:
        """Rows of a collection, page by page."""
        for page in self._numbered_pages(path, 1):
            yield from page.rows

    def _numbered_pages(self, path: str, number: int) -> Iterator[_Page]:
        """Each page of a collection from page `number`, until `X-WP-TotalPages`
        (section 2)."""
        while True:
            params = {"per_page": PAGE_SIZE, "page": number, "orderby": "id", "order": "asc"}
            response = self.http.request("GET", path, params=params)
            rows = decode_json(response, self.http.call_name("GET", path))
            total_pages = response.headers.get("X-WP-TotalPages")
            of = int(total_pages) if total_pages and total_pages.isdigit() else None
            last = len(rows) < PAGE_SIZE or (of is not None and number >= of)
            yield _Page(number, rows, of, last)
            if last:
                return
            number += 1

    # Writes ----------------------------------------------------------------------------

    def set_stock(self, updates: Sequence[StockUpdate]) -> list[UpdateResult]:
        """Absolute stock through `products/batch` and `products/<id>/variations/batch`.

        Variations can only be batched under their parent, so updates are grouped by
        endpoint and each group cut into chunks of `batch_limit`. A 200 can still hold
        failed items, so every item of every response is read. A transient error aborts
        the call: the writes are absolute, so retrying the whole call is safe.
        """
        results: dict[int, UpdateResult] = {}
        groups: dict[str, list[tuple[int, str, dict[str, Any]]]] = defaultdict(list)
        for position, update in enumerate(updates):
            try:
                if update.variant_id is None:
                    path, item_id = "products/batch", int(update.product_id)
                else:
                    path = f"products/{int(update.product_id)}/variations/batch"
                    item_id = int(update.variant_id)
            except ValueError:
                reason = f"not WooCommerce ids: {update.product_id!r}, {update.variant_id!r}"
                results[position] = UpdateResult(update.sku, False, reason)
                continue
            item = {"id": item_id, "manage_stock": True, "stock_quantity": update.quantity}
            groups[path].append((position, update.sku, item))
        for path, group in groups.items():
            for start in range(0, len(group), self.batch_limit):
                results.update(self._send_batch(path, group[start : start + self.batch_limit]))
        return [results[position] for position in range(len(updates))]

    def _send_batch(
        self, path: str, chunk: Sequence[tuple[int, str, dict[str, Any]]]
    ) -> dict[int, UpdateResult]:
        """POST one chunk; match answers to items by id, in order if an id repeats."""
        body = self.http.json("POST", path, json={"update": [item for _, _, item in chunk]})
        answers: dict[int, deque[Mapping[str, Any]]] = defaultdict(deque)
        for answer in body.get("update", []) if isinstance(body, dict) else []:
            if isinstance(answer, dict) and isinstance(answer.get("id"), int):
                answers[answer["id"]].append(answer)
        results = {}
        for position, sku, item in chunk:
            pending = answers.get(item["id"])
            results[position] = _result(sku, pending.popleft() if pending else None)
        return results


def _store_product(row: Mapping[str, Any], *, parent_id: Any) -> Iterator[StoreProduct]:
    """A row as a StoreProduct, or nothing if its SKU can never match an ERP item."""
    sku = try_normalize_sku(row.get("sku"))
    if sku is None:
        return
    quantity = row.get("stock_quantity")
    if parent_id is None:
        product_id, variant_id = str(row["id"]), None
    else:
        product_id, variant_id = str(parent_id), str(row["id"])
    yield StoreProduct(
        sku=sku,
        product_id=product_id,
        variant_id=variant_id,
        quantity=quantity if isinstance(quantity, int) else None,
        # A variation may say "parent": its stock is the parent's, not its own.
        manages_stock=row.get("manage_stock") is True,
    )


def _result(sku: str, answer: Mapping[str, Any] | None) -> UpdateResult:
    """One batch item's outcome: WC reports failures as `{"id", "error"}` inside a 200."""
    if answer is None:
        return UpdateResult(sku, False, "missing from the batch response")
    error = answer.get("error")
    if isinstance(error, dict):
        return UpdateResult(sku, False, f"{error.get('code')}: {error.get('message')}")
    return UpdateResult(sku, True)


def _host(base_url: str) -> str:
    """The server a store is served from (host and port), the same however its URL is
    written: two stores under one domain's paths share it."""
    return (urlsplit(base_url).netloc or base_url).lower()
