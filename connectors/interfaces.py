"""The interfaces every connector implements (docs/architecture.md, layers)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from connectors.types import (
    CatalogPage,
    ChangePage,
    CostReport,
    ItemPage,
    ModifiedItem,
    OrderProgress,
    OrderSnapshot,
    RemoteSubscription,
    SourceItem,
    StockUpdate,
    StoreProduct,
    SubscriptionSpec,
    UpdateResult,
)


class InventorySource(Protocol):
    """An ERP: the source of truth for stock."""

    #: Whether its readings carry `SourceItem.available_for_sale` (on hand less what
    #: the ERP committed to its sales orders); a class attribute, so the service can
    #: tell without calling the ERP.
    offers_available_for_sale: bool
    #: Whether its readings carry `SourceItem.locations` (stock per ERP location), so a
    #: site may sell from some of them only; a class attribute like the one above.
    offers_locations: bool

    def iter_items(self) -> Iterator[SourceItem]:
        """Stream every stocked item, page by page, in constant memory."""
        ...

    def iter_item_pages(self, resume: str | None = None) -> Iterator[ItemPage]:
        """The item listing a page at a time, each with where it resumes: a full
        sync's shared read saves that place with each page (sync/erp_reads.py)."""
        ...

    def get_quantities(self, skus: Sequence[str]) -> dict[str, SourceItem]:
        """Read up to 500 SKUs in as few calls as the API allows.

        SKUs the ERP does not know are absent from the result.
        """
        ...

    def get_item(self, item_id: str) -> SourceItem | None:
        """Read one item by the ERP's own id (what its webhooks name)."""
        ...

    def get_items(self, item_ids: Sequence[str]) -> dict[str, SourceItem | None]:
        """`get_item` for several ids, in as few calls as the API allows: each id
        maps to its reading, or None as `get_item` would answer."""
        ...

    def order_progress(
        self, numbers: Sequence[str], *, since: datetime
    ) -> dict[str, OrderProgress]:
        """How far the ERP has taken each store order `numbers` names (its sales
        documents carrying that number). Numbers it has no document for are absent.

        `since` (timezone-aware) is a lower bound on when any of these orders could
        have reached the ERP: the caller passes the oldest open reservation's creation
        time, on the database's clock, less a margin for clock skew. A store order is
        imported after it is placed, so a sales document created or last modified
        before `since` cannot be about these orders: it is never credited, and an ERP
        may stop listing once its documents are that old. This is what lets the cost
        grow with pages of recent documents rather than with the count of numbers.
        """
        ...

    def stock_changes(self, cursor: str | None) -> ChangePage:
        """SKUs whose stock moved after `cursor`, in a movement feed cheap enough to
        poll (docs/platforms.md: which movements fire no webhook).

        `cursor` None starts watching: the answer carries no SKUs, only the current
        position, so a new source does not replay its history. A cursor the ERP no
        longer knows is a `PermanentError`; the caller starts again from None and
        reconciles with a full run.
        """
        ...


@runtime_checkable
class ModifiedSince(Protocol):
    """An ERP that lists the items whose record changed since a time (Business
    Central): what heals its lapsed items subscription and checks a silent one
    (`sync.healing`). Zoho needs none: its change feed is that very query
    (`last_modified_time`), read all the time."""

    def modified_since(self, since: datetime) -> Iterator[ModifiedItem]:
        """Items whose record the ERP changed after `since` (a time on the ERP's clock),
        in the ERP's order, paged lazily so a caller can stop early."""
        ...


class Storefront(Protocol):
    """A store whose stock we set."""

    #: Most updates one write call may carry (the platform's documented limit).
    batch_limit: int

    def iter_catalog(self) -> Iterator[StoreProduct]:
        """Stream every sellable SKU (products and variations), in constant memory."""
        ...

    def iter_pages(self, resume: str | None = None) -> Iterator[CatalogPage]:
        """The catalog page by page, from the start or from a page's `resume` token: a
        listing cut short (a worker killed, a task's time used up) goes on from there."""
        ...

    def set_stock(self, updates: Sequence[StockUpdate]) -> list[UpdateResult]:
        """Set absolute stock through the batch API; one result per update.

        Chunks by `batch_limit` itself, so no request over the limit is ever sent.
        """
        ...

    def get_product(self, product_id: str) -> list[StoreProduct]:
        """Read one product: itself if simple, else its variations."""
        ...

    def read_order(self, order_id: str, payload: object) -> OrderSnapshot | None:
        """The order `order_id` as the store holds it: parsed from its signed webhook
        `payload` where the platform sends the whole order, else read from the API.
        None if the store no longer has it."""
        ...


class CostMeter(Protocol):
    """A shared budget of cost points, kept by the service layer (sync/cost_points.py)
    for a platform that limits by calculated query cost (Shopify): the connector spends
    a call's price before sending it and settles with what the platform reported."""

    def spend(self, cost: float) -> None:
        """Block until the budget holds `cost`, then take it (or raise a
        `TransientError` when the wait would be too long for the caller)."""
        ...

    def settle(self, requested: float, report: CostReport | None) -> None:
        """Refund what the call did not cost and align with the platform's own count."""
        ...


@runtime_checkable
class Metered(Protocol):
    """A connector whose calls a `CostMeter` may pace (`meter` None: unpaced)."""

    meter: CostMeter | None


class Connection(Protocol):
    """A platform connection looking after itself: tested when it is added, and holding
    the webhook subscriptions stocksync registers on it (docs/architecture.md,
    connections). One class per platform, built like the connectors
    (`connectors.registry.build_connection`).
    """

    #: The topics (or scopes, or resources) stocksync subscribes to, in the platform's
    #: own names; empty where the platform has no API to subscribe (Zoho Inventory).
    topics: tuple[str, ...]

    def check(self) -> None:
        """Call the platform with these credentials and raise `ConnectionProblem` (one
        line: what is wrong) unless they work and carry every scope stocksync uses."""
        ...

    def list_subscriptions(self) -> list[RemoteSubscription]:
        """Every webhook subscription these credentials can see, ours or not."""
        ...

    def create_subscription(self, spec: SubscriptionSpec) -> RemoteSubscription:
        """Register `spec`; where the platform validates the URL first (Business
        Central's handshake), this returns once it did."""
        ...

    def update_subscription(
        self, remote: RemoteSubscription, spec: SubscriptionSpec
    ) -> RemoteSubscription:
        """Make `remote` match `spec` and be active: re-activate what the platform
        disabled, point it at a new URL or secret, renew what expires."""
        ...

    def delete_subscription(self, remote: RemoteSubscription) -> None:
        """Remove it; one already gone is no error."""
        ...

    def manual_steps(self, spec: SubscriptionSpec) -> list[str]:
        """Where `topics` is empty: the exact steps a person takes in the platform's
        own screens to make this subscription; empty elsewhere."""
        ...
