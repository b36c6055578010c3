"""BigCommerce storefront: the V3 Catalog API to read, the Inventory API to write.

Facts this module relies on are in docs/platforms.md section 4:

- Reads page `GET /v3/catalog/products?include=variants` (at most 250 per page). The
  product, not the variant list, is read because only the product says how it tracks
  inventory (`inventory_tracking`), and that decides how the Inventory API wants the
  item named: by `variant_id` when tracked by variant, by `product_id` otherwise. The
  wrong one is rejected with 422 ("variant_id X is tracked by product, please update
  stock by product id").
- Writes use `PUT /v3/inventory/adjustments/absolute`, at most 2,000 items per request,
  one request at a time (BigCommerce asks to wait for each 200 before the next).
- Orders (issue 20) are read through the same paced calls by
  `connectors.bigcommerce_orders`, so they spend the one quota too.
- Rate limits: a quota per 30 s window shared by every app on the store, reported on
  every response by `X-Rate-Limit-*` headers.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import requests

from connectors.bigcommerce_orders import OrderReader
from connectors.errors import PermanentError
from connectors.http import HttpClient, decode_json, retry_after_header
from connectors.tokens import TokenCache
from connectors.types import (
    CatalogPage,
    OrderSnapshot,
    StockUpdate,
    StoreProduct,
    UpdateResult,
    catalog_products,
)
from models.skus import try_normalize_sku

#: Items per absolute adjustment request (docs/platforms.md section 4, Inventory API).
BATCH_LIMIT = 2000
#: Largest page the Catalog API serves (`LimitParam`, docs/platforms.md section 4).
PAGE_LIMIT = 250
#: A 429 without rate-limit headers means BigCommerce as a whole is under load, not our
#: store's quota: back off longer than one quota window (docs/platforms.md section 4).
PLATFORM_LOAD_WAIT = 30.0
#: Never pause longer than this for the quota, whatever a header says: one window is
#: 30 s, so a bigger value is a garbled header, not a reason to stall a worker.
MAX_QUOTA_PAUSE = 35.0

_RESET_MS = "X-Rate-Limit-Time-Reset-Ms"
_REQUESTS_LEFT = "X-Rate-Limit-Requests-Left"
#: Resends of one chunk after 422s that named some of its items. Each costs a request
#: from the quota every app on the store shares, so it is bounded; 3 resends clear about
#: a hundred bad items, far more than a sync of ERP-read SKUs should ever meet.
MAX_RESENDS = 3
#: How a 422 names the rejected items, e.g. "[Item with variant_id 106 is tracked by
#: product, please update stock by product id]" (reference/inventory.v3.yml example).
#: The id must be followed by something: in a body cut at 2,000 characters, a number at
#: the very end may be cut short and name another item.
_NAMED_ITEM = re.compile(r"\b(variant_id|product_id) (\d+)(?=\D)")


def rate_limit_wait(response: requests.Response) -> float | None:
    """Seconds to wait before retrying a 429 or 5xx (docs/platforms.md section 4).

    `X-Rate-Limit-Time-Reset-Ms` is the documented wait; `Retry-After` is honoured if a
    proxy sends one; a bare 429 gets `PLATFORM_LOAD_WAIT`; a 5xx without hints, None.
    """
    reset = _reset_seconds(response)
    if reset is not None:
        return reset
    hint = retry_after_header(response)
    if hint is not None:
        return hint
    return PLATFORM_LOAD_WAIT if response.status_code == 429 else None


class BigCommerceStore:
    """One BigCommerce store, addressed by store hash, authenticated by `X-Auth-Token`.

    `reset_hint` is the quota pacing: when a response says no requests are left in the
    window, it holds the seconds until the window resets, and the next call sleeps that
    long first (at most `MAX_QUOTA_PAUSE`). A catalog stream therefore slows down instead
    of dying mid-way on a 429; other callers may read it to pace their own work.
    """

    batch_limit = BATCH_LIMIT

    @staticmethod
    def budget_account(base_url: str, credentials: Mapping[str, str]) -> tuple[str, ...]:
        """Whose requests the quota counts: the store's, shared by every app on it
        (section 4)."""
        return (str(credentials.get("store_hash", "")),)

    def __init__(
        self,
        base_url: str,
        credentials: Mapping[str, str],
        *,
        token_cache: TokenCache | None = None,
    ) -> None:
        # `token_cache` is accepted for the registry's common signature only: a
        # BigCommerce API-account token does not expire, so there is nothing to cache.
        del token_cache
        store_hash = credentials["store_hash"]
        self.location_id = int(credentials.get("location_id", 1))
        self.http = HttpClient(
            "bigcommerce",
            # The store's root, not its v3: order reads are V2 (`connectors.bigcommerce_orders`).
            f"{base_url.rstrip('/')}/stores/{store_hash}",
            headers={
                "X-Auth-Token": credentials["access_token"],
                "Accept": "application/json",
            },
            wait_hint=rate_limit_wait,
        )
        self.reset_hint: float | None = None
        self._window_resets_at = 0.0
        self.orders = OrderReader(self._call)

    def iter_catalog(self) -> Iterator[StoreProduct]:
        """Stream every sellable SKU (see `iter_pages`)."""
        return catalog_products(self.iter_pages())

    def iter_pages(self, resume: str | None = None) -> Iterator[CatalogPage]:
        """Pages of 250 products with their variants, one in memory at a time, by id.

        `resume` is the number of the last page read, read again: a product deleted
        since shifts the rest one place back, and re-reading the page keeps the first
        of the next page from slipping past us.
        """
        page = int(resume) if resume and resume.isdigit() else 1
        while True:
            body = self._call(
                "GET",
                "v3/catalog/products",
                params={"include": "variants", "limit": PAGE_LIMIT, "page": page, "sort": "id"},
            )
            products = [sku for product in body["data"] for sku in _store_products(product)]
            total_pages = int(body["meta"]["pagination"]["total_pages"])
            last = page >= total_pages
            yield CatalogPage(products, None if last else str(page), total_pages)
            if last:
                return
            page += 1

    def get_product(self, product_id: str) -> list[StoreProduct]:
        """Read one product with its variants; [] if it no longer exists (404).

        A product named by a `store/product/*` webhook may be deleted by the time we read
        it; an empty list tells the caller there is nothing left to sync.
        """
        try:
            body = self._call(
                "GET", f"v3/catalog/products/{product_id}", params={"include": "variants"}
            )
        except PermanentError as exc:
            if exc.status == 404:
                return []
            raise
        return list(_store_products(body["data"]))

    def read_order(self, order_id: str, payload: object) -> OrderSnapshot | None:
        """Read the order its webhook names: BigCommerce's payloads carry ids only
        (docs/platforms.md section 3), so `payload` has nothing more to give."""
        del payload
        return self.orders.read(order_id)

    def set_stock(self, updates: Sequence[StockUpdate]) -> list[UpdateResult]:
        """Set absolute stock in sequential requests of at most `batch_limit` items.

        A transient error aborts the call; the chunks already sent stay applied, and
        retrying the whole call is safe because absolute sets are idempotent.
        """
        results: list[UpdateResult] = []
        for start in range(0, len(updates), self.batch_limit):
            results.extend(self._set_chunk(updates[start : start + self.batch_limit]))
        return results

    def _set_chunk(self, chunk: Sequence[StockUpdate]) -> list[UpdateResult]:
        """Write one chunk; on 422, fail the items it names and resend the others.

        BigCommerce rejects the whole request and saves nothing when any item is invalid
        (docs/platforms.md section 4), naming the items in the error title. Resending the
        rest keeps one bad SKU from failing 1,999 good ones. The names are read from the
        error body, which `ConnectorError` keeps only the first 2,000 characters of, so
        a 422 about many items may name only the first few dozen; each resend names
        more. A 422 that names none of the items sent fails them all with its error.
        """
        errors: dict[int, str] = {}
        pending = list(range(len(chunk)))
        for _attempt in range(1 + MAX_RESENDS):
            rejection = self._try_put_absolute([chunk[i] for i in pending])
            if rejection is None:
                pending = []
                break
            named = _named_items(rejection.body)
            rejected = {i for i in pending if _identity(chunk[i]) in named}
            if not rejected:
                # It blames none of the items sent: a resend would get the same answer.
                errors.update(dict.fromkeys(pending, str(rejection)))
                pending = []
                break
            errors.update(dict.fromkeys(rejected, str(rejection)))
            pending = [i for i in pending if i not in rejected]
            if not pending:
                break
        for i in pending:
            errors[i] = f"not saved: still rejected for other items after {MAX_RESENDS} resends"
        return [UpdateResult(u.sku, i not in errors, errors.get(i)) for i, u in enumerate(chunk)]

    def _try_put_absolute(self, chunk: Sequence[StockUpdate]) -> PermanentError | None:
        """`_put_absolute`, returning its 422 instead of raising it; None if saved."""
        try:
            self._put_absolute(chunk)
        except PermanentError as exc:
            if exc.status != 422:
                raise
            return exc
        return None

    def _put_absolute(self, chunk: Sequence[StockUpdate]) -> None:
        items = []
        for update in chunk:
            key, value = _identity(update)
            items.append(
                {"location_id": self.location_id, key: int(value), "quantity": update.quantity}
            )
        self._call(
            "PUT", "v3/inventory/adjustments/absolute", json={"reason": "stocksync", "items": items}
        )

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One request, paced by the quota, returning the decoded JSON body; None for a
        204, which V2 answers for an empty collection (UNCONFIRMED, see the sandbox's
        `order_routes`)."""
        pause = self._window_resets_at - time.monotonic()
        if pause > 0:
            time.sleep(min(pause, MAX_QUOTA_PAUSE))
        response = self.http.request(method, path, **kwargs)
        self._note_quota(response)
        if response.status_code == 204:
            return None
        return decode_json(response, self.http.call_name(method, path))

    def _note_quota(self, response: requests.Response) -> None:
        """Record `reset_hint` when the window's quota is spent (docs/platforms.md section 4)."""
        reset = _reset_seconds(response)
        if response.headers.get(_REQUESTS_LEFT) == "0" and reset is not None:
            self.reset_hint = reset
            self._window_resets_at = time.monotonic() + reset
        else:
            self.reset_hint = None


def _store_products(product: Mapping[str, Any]) -> Iterator[StoreProduct]:
    """The sellable SKUs of one product, named the way the Inventory API accepts them.

    Tracked by variant: each variant, by `variant_id`. Tracked by product, or not
    tracked: the product itself, by `product_id` (`variant_id` None), with
    `manages_stock` False when BigCommerce does not track its stock at all.
    """
    product_id = str(product["id"])
    tracking = product.get("inventory_tracking", "none")
    if tracking == "variant":
        for variant in product.get("variants") or []:
            sku = try_normalize_sku(variant.get("sku"))
            if sku is not None:
                yield StoreProduct(
                    sku, product_id, str(variant["id"]), variant.get("inventory_level")
                )
        return
    sku = try_normalize_sku(product.get("sku"))
    if sku is not None:
        yield StoreProduct(
            sku,
            product_id,
            None,
            product.get("inventory_level"),
            manages_stock=tracking == "product",
        )


def _named_items(body: str | None) -> set[tuple[str, str]]:
    """The (`variant_id` | `product_id`, id) pairs a 422 body names.

    Read from the raw body text rather than parsed JSON: a body cut at 2,000 characters
    is no longer valid JSON, but the names before the cut are still good.
    """
    return set(_NAMED_ITEM.findall(body or ""))


def _identity(update: StockUpdate) -> tuple[str, str]:
    """How the Inventory API names this item: by variant if it has one, else by product."""
    if update.variant_id is not None:
        return ("variant_id", update.variant_id)
    return ("product_id", update.product_id)


def _reset_seconds(response: requests.Response) -> float | None:
    value = response.headers.get(_RESET_MS)
    if not value:
        return None
    try:
        return max(0.0, float(value) / 1000)
    except ValueError:
        return None
