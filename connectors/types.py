"""Plain values that cross the connector boundary.

They carry no behaviour so that workers, tests and sandboxes can build them freely and
so that they serialise to JSON primitives for Celery task arguments.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

#: Where a connector takes a reading's time from. Workers pass the database's clock
#: (sync/context.py), one clock for every host; alone, a connector uses this host's.
Clock = Callable[[], datetime]


def host_clock() -> datetime:
    """This host's wall clock: right only while one host does every reading."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class SourceItem:
    """One ERP item as read from the ERP.

    `read_at` is the connector's clock just before the request that returned the value:
    the value is at least that fresh. Writes carry it so an older reading never
    overwrites a newer one (docs/architecture.md flow 6), which holds across hosts only
    if every reading comes from one clock (the database's, `Clock`). An earlier stamp
    is the safe error: it can only make a reading lose to one taken later.

    `quantity` is the ERP's stock on hand; `available_for_sale` is on hand less what
    the ERP has committed to its own sales orders, or None where the ERP's API offers
    no such figure (Business Central API v2.0; docs/platforms.md 6 and 7). Which of the
    two a store sells from is the site's basis (sync/sellable.py). Both are 0 for an
    item the ERP keeps but has retired (Business Central `blocked`, Zoho `status`
    inactive), and for one it does not list.

    `listed` is False for a SKU the ERP was asked for and does not list (deleted, or
    never there): quantity 0, `read_at` the time of the question, `item_id` empty. The
    write path tells the two apart (sync/push.py). Connectors never return one.

    `locations` maps the ERP's location (warehouse) ids to that location's
    (on hand, available-for-sale) figures, the second None where the ERP gives none;
    the whole of it None where the ERP reports no locations (Business Central API
    v2.0, docs/platforms.md 7). A site mapped to some locations sells from their sum
    (sync/sellable.py). A location the item is not stocked at may be absent.
    """

    sku: str
    quantity: int
    item_id: str
    read_at: datetime
    listed: bool = True
    available_for_sale: int | None = None
    locations: Mapping[str, tuple[int, int | None]] | None = None


@dataclass(frozen=True, slots=True)
class ItemPage:
    """One page of an ERP's item listing and where to resume after it.

    `resume` is opaque, the connector's: given back to `InventorySource.iter_item_pages`,
    the listing goes on after this page (re-reading it where the ERP pages by number,
    as a store's catalog does: `CatalogPage`). None after the last page.
    """

    items: list[SourceItem]
    resume: str | None


def source_items(pages: Iterable[ItemPage]) -> Iterator[SourceItem]:
    """Every item of a listing, page after page: `InventorySource.iter_items`."""
    for page in pages:
        yield from page.items


@dataclass(frozen=True, slots=True)
class StoreProduct:
    """One sellable SKU in a store: a simple product or a single variation.

    `product_id` is the id of the product (the parent for a variation); `variant_id` is
    the platform's id for the variation, or for Shopify the inventory item, or None for
    a product without variations.
    """

    sku: str
    product_id: str
    variant_id: str | None
    quantity: int | None
    manages_stock: bool = True


@dataclass(frozen=True, slots=True)
class CatalogPage:
    """One page of a store's catalog listing and where to resume after it.

    `resume` is opaque, the connector's: given back to `Storefront.iter_pages`, the
    listing goes on after this page (a connector paging by number re-reads this page,
    so a product deleted meanwhile cannot shift an unread one past us). None after the
    last page. `of` is the store's count of pages where its answer says one
    (WooCommerce's `X-WP-TotalPages`, BigCommerce's pagination), for progress.
    """

    products: list[StoreProduct]
    resume: str | None
    of: int | None = None


def catalog_products(pages: Iterable[CatalogPage]) -> Iterator[StoreProduct]:
    """Every product of a listing, page after page: `Storefront.iter_catalog`."""
    for page in pages:
        yield from page.products


@dataclass(frozen=True, slots=True)
class StockUpdate:
    """Set the absolute stock of one store SKU.

    `expected` is the number we believe the store holds now: a platform with
    compare-and-set (Shopify's `changeFromQuantity`) refuses the write if it holds
    another, which means a sale since we read it (`UpdateResult.stale`). None sets
    it unconditionally; platforms without compare-and-set ignore it.
    """

    sku: str
    product_id: str
    variant_id: str | None
    quantity: int
    expected: int | None = None


@dataclass(frozen=True, slots=True)
class UpdateResult:
    """The platform's answer for one `StockUpdate` of a batch call."""

    sku: str
    ok: bool
    error: str | None = None
    #: Refused because the store no longer held `StockUpdate.expected`.
    stale: bool = False


class OrderState(StrEnum):
    """Where a store order stands, as far as stock goes (docs/platforms.md, each
    store's "Order webhooks")."""

    #: Placed: its units are sold until it ends (WooCommerce `pending` included: the
    #: siblings must not sell them while the shopper pays).
    OPEN = "open"
    #: Cancelled, failed or declined on the store: nothing of it is sold any more.
    CANCELLED = "cancelled"
    #: Refunded as a whole.
    REFUNDED = "refunded"
    #: Not an order yet (WooCommerce `checkout-draft`, BigCommerce Incomplete): ignored.
    NOT_PLACED = "not_placed"


@dataclass(frozen=True, slots=True)
class OrderLine:
    """Units of one SKU an order still holds: ordered, less what was removed or
    restocked by a refund (a line with 0 holds nothing)."""

    sku: str
    units: int


@dataclass(frozen=True, slots=True)
class OrderSnapshot:
    """A store order as the store holds it now, read or parsed by its connector.

    `order_id` is the platform's id (what its webhooks name); `number` what a merchant
    types into the ERP when importing it (WooCommerce `number`, Shopify `name`,
    BigCommerce `id`), which is how the ERP's sales documents are matched.
    `updated_at` is the platform's modification time: a snapshot older than one already
    applied is ignored, so replays and reordered deliveries change nothing.
    `store_applied` says whether the store's own stock already went down by these lines
    (Shopify at once; WooCommerce from `on-hold`/`processing`/`completed`; BigCommerce
    as its `update_stock_behavior` says). Lines of one SKU are summed.
    """

    order_id: str
    number: str
    updated_at: datetime
    state: OrderState
    store_applied: bool
    lines: tuple[OrderLine, ...]


@dataclass(frozen=True, slots=True)
class OrderProgress:
    """How far an ERP has taken a store order it imported (matched by its number).

    `committed`: the ERP holds a confirmed sales document for it, so its
    available-for-sale figure already nets the units. `shipped`: the ERP's stock on
    hand went down by it (shipment posted, or invoice for Zoho's accounting stock).
    """

    committed: bool
    shipped: bool


@dataclass(frozen=True, slots=True)
class SubscriptionSpec:
    """A webhook subscription stocksync wants on a platform.

    `secret` is the one we generated for it (WooCommerce's webhook secret, the
    BigCommerce header secret, Business Central's `clientState`), or None where the
    platform signs with the app's own secret (Shopify).
    """

    topic: str
    url: str
    secret: str | None


@dataclass(frozen=True, slots=True)
class RemoteSubscription:
    """A webhook subscription as the platform lists it.

    `version` is what a conditional update must name (Business Central's ETag), None
    where the platform has none; `expires_at` is None where subscriptions never expire.
    """

    remote_id: str
    topic: str
    url: str
    active: bool
    expires_at: datetime | None = None
    version: str | None = None


@dataclass(frozen=True, slots=True)
class ChangePage:
    """One read of an ERP's stock-movement feed (`InventorySource.stock_changes`).

    `skus` may have moved since the cursor passed in (a hint: the stock is read again
    before any write); `cursor` is where the next read starts, opaque to the caller;
    `more` says another page is ready now rather than at the next poll.
    """

    skus: tuple[str, ...]
    cursor: str
    more: bool = False


@dataclass(frozen=True, slots=True)
class ModifiedItem:
    """An item whose record changed (`InventorySource.modified_since`): its SKU and when,
    on the ERP's clock."""

    sku: str
    modified_at: datetime


@dataclass(frozen=True)
class CostReport:
    """What a platform with a cost model said of one call (Shopify's `extensions.cost`,
    docs/platforms.md section 5): its requested and actual cost and the bucket after it.
    A figure the answer did not carry is None."""

    requested: float | None
    actual: float | None
    available: float | None
    maximum: float | None
    restore_rate: float | None
