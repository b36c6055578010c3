"""Zoho Inventory as an inventory source (docs/platforms.md section 6).

Calls go to `{base_url}/inventory/v1` (the data centre's API host, e.g.
`https://www.zohoapis.eu`) with `organization_id` on every call and the header
`Authorization: Zoho-oauthtoken <token>`. Access tokens come from the data centre's
accounts server and are shared through the token cache, because Zoho mints at most 10
per refresh token per 10 minutes (section 6). The token response also names an
`api_domain`; we keep the configured `base_url` instead, since only the token string is
cached, and a source is configured for one data centre anyway.

Rate limits: 100 requests per minute per organization and a daily quota by plan, with
429 when exceeded (section 6, UNCONFIRMED). `connectors.http` turns 429 into a
`TransientError`; whether Zoho sends `Retry-After` is UNCONFIRMED.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from itertools import chain
from typing import Any, NamedTuple
from urllib.parse import quote

from connectors import zoho_feed
from connectors.errors import PermanentError, TransientError
from connectors.http import HttpClient
from connectors.oauth import AccessToken, TokenAuth, cache_key, require
from connectors.tokens import TokenCache
from connectors.types import (
    ChangePage,
    Clock,
    ItemPage,
    OrderProgress,
    SourceItem,
    host_clock,
    source_items,
)
from models.skus import try_normalize_sku

DEFAULT_ACCOUNTS_URL = "https://accounts.zoho.com"

#: The item-level on-hand fields a source may read (its `stock_field`), each with the
#: available-for-sale field that pairs with it (section 6 and correction 26):
#: `stock_on_hand` (the default) and `available_stock` ignore committed stock (Zoho's
#: own figures show them equal); `actual_available_stock` is most likely the
#: physical-stock twin (UNCONFIRMED). Only the `*available_for_sale_stock` fields net
#: out the stock committed to Zoho's sales orders.
STOCK_FIELDS = {
    "stock_on_hand": "available_for_sale_stock",
    "available_stock": "available_for_sale_stock",
    "actual_available_stock": "actual_available_for_sale_stock",
}
DEFAULT_STOCK_FIELD = "stock_on_hand"

#: Sales-order statuses that commit no stock: a draft (UNCONFIRMED whether Zoho
#: commits drafts; a partner's KB says only confirmed orders do) and a void order.
NOT_COMMITTED = frozenset({"draft", "void"})
#: Per on-hand field, the sales-order field and values that say that figure went down
#: by the order: accounting stock falls with the invoice, physical stock (`actual_*`,
#: INFERRED) with the shipment (section 6, "What a sales order moves"). Whole only.
SHIPPED_WHEN = {
    "stock_on_hand": ("invoiced_status", frozenset({"invoiced"})),
    "available_stock": ("invoiced_status", frozenset({"invoiced"})),
    "actual_available_stock": ("shipped_status", frozenset({"shipped", "fulfilled"})),
}

#: Items per list page: Zoho's default and, as far as known, its maximum (section 6;
#: UNCONFIRMED for Inventory and UNCONFIRMED that more than 200 is accepted).
PER_PAGE = 200

#: Up to this many SKUs, `get_quantities` asks per SKU (`GET items?sku=`) instead of
#: paging the whole list. Zoho documents no multi-SKU filter, so the choice is between
#: n calls and ceil(catalog / 200) calls; a webhook or a small batch wins with per-SKU
#: calls, anything bigger with the list (a 500-SKU batch per SKU would be 5 minutes of
#: the 100 requests/minute budget, section 6).
PER_SKU_LOOKUPS = 5

#: Up to this many store order numbers, `order_progress` asks per number
#: (`GET salesorders?reference_number=`); more are matched against one listing of
#: recently modified sales orders, whose cost grows with pages (200 orders each), not
#: with numbers: 2,000 open store orders would otherwise be 2,000 calls, 20 minutes of
#: the 100 requests/minute budget (section 6).
PER_NUMBER_LOOKUPS = 3

#: The sales-order list, most recently modified first. `sort_column` and `sort_order`
#: (`A`/`D`) are list parameters of Zoho's Books and Inventory lists and
#: `last_modified_time` a sort column public clients use; Zoho's sales-order OpenAPI
#: copy lists only `page` and `per_page` for this call, so their support here is
#: UNCONFIRMED (section 6).
RECENT_FIRST = {"sort_column": "last_modified_time", "sort_order": "D"}

#: Zoho's timestamp form, e.g. `2026-12-04T10:15:00+0000` (section 6).
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S%z"

#: The window of Zoho's 10-tokens-per-refresh-token limit (section 6). After the 10th
#: mint the accounts server refuses until the window ends, so that is the wait to hint.
TOKEN_WINDOW_SECONDS = 600

#: The `error` of the accounts server's answer once that limit is reached (400).
_QUOTA_ERROR = "Access Denied"


class _Page(NamedTuple):
    number: int
    #: The clock's time just before the page's request (`SourceItem.read_at`).
    read_at: datetime
    rows: list[dict[str, Any]]
    #: Zoho's `page_context.has_more_page`.
    more: bool


class ZohoInventorySource:
    """`InventorySource` over one Zoho Inventory organization.

    `credentials`: `client_id`, `client_secret`, `refresh_token`, `organization_id`,
    optional `accounts_url` (the data centre's accounts server, default `.com`) and
    `stock_field` (the on-hand figure, one of `STOCK_FIELDS`, default `stock_on_hand`;
    sources stored with `available_stock` read the same number). `clock` dates the
    readings (`connectors.types.SourceItem`); this host's if not given.
    """

    #: Zoho gives on hand less committed stock (sync/sellable.py, the site's basis).
    offers_available_for_sale = True
    #: Items carry `locations[]` with per-location stock (section 6, "Per location").
    offers_locations = True
    #: How a refusal names the ERP, and where its facts are.
    label = "Zoho Inventory"
    facts = "docs/platforms.md section 6"

    @staticmethod
    def budget_account(base_url: str, credentials: Mapping[str, str]) -> tuple[str, ...]:
        """Whose requests the limits count: the organisation's (section 6), in its data
        centre."""
        return (base_url.rstrip("/").lower(), str(credentials.get("organization_id", "")))

    def __init__(
        self,
        base_url: str,
        credentials: Mapping[str, str],
        *,
        token_cache: TokenCache | None = None,
        clock: Clock | None = None,
    ) -> None:
        require(
            credentials, "zoho", "client_id", "client_secret", "refresh_token", "organization_id"
        )
        self.clock = clock or host_clock
        self.stock_field = credentials.get("stock_field") or DEFAULT_STOCK_FIELD
        if self.stock_field not in STOCK_FIELDS:
            raise PermanentError(
                f"zoho: stock_field {self.stock_field!r} is not one of {', '.join(STOCK_FIELDS)}"
            )
        accounts_url = (credentials.get("accounts_url") or DEFAULT_ACCOUNTS_URL).rstrip("/")
        self.token_url = f"{accounts_url}/oauth/v2/token"
        # Section 6 shows these as query parameters; sent as a form body instead (as
        # public clients do, INFERRED) so the secret never lands in URL access logs.
        self._token_form = {
            "grant_type": "refresh_token",
            "client_id": credentials["client_id"],
            "client_secret": credentials["client_secret"],
            "refresh_token": credentials["refresh_token"],
        }
        self._organization = {"organization_id": credentials["organization_id"]}
        self.api = TokenAuth(
            HttpClient("zoho", f"{base_url.rstrip('/')}/inventory/v1"),
            mint=self._mint,
            key=cache_key(
                "zoho", self.token_url, credentials["client_id"], credentials["refresh_token"]
            ),
            scheme="Zoho-oauthtoken",
            token_cache=token_cache,
        )

    def iter_items(self) -> Iterator[SourceItem]:
        """Every stocked item, one page of `PER_PAGE` in memory at a time."""
        return source_items(self.iter_item_pages())

    def iter_item_pages(self, resume: str | None = None) -> Iterator[ItemPage]:
        """The item list a page of `PER_PAGE` at a time. Zoho pages by number over a
        list that moves while we walk it: `resume` is the last page read, read again,
        so an item deleted meanwhile does not shift the first of the next page past us
        (as a store's catalog, `connectors.types.CatalogPage`)."""
        first = int(resume) if resume and resume.isdigit() else 1
        for page in self._pages("items", {}, first=first):
            items = [item for row in page.rows if (item := self._to_item(row, page.read_at))]
            yield ItemPage(items, str(page.number) if page.more else None)

    def get_quantities(self, skus: Sequence[str]) -> dict[str, SourceItem]:
        """Read `skus` in the fewest calls Zoho allows (see `PER_SKU_LOOKUPS`).

        Paging stops as soon as every wanted SKU was seen, so a batch costs at most
        ceil(catalog / 200) calls. Zoho's `sku` filter may match loosely or by case
        (UNCONFIRMED), so results are always matched exactly on the normalised SKU.
        """
        wanted = {sku for sku in map(try_normalize_sku, skus) if sku}
        items: Iterator[SourceItem]
        if len(wanted) <= PER_SKU_LOOKUPS:
            items = chain.from_iterable(self._read({"sku": sku}) for sku in sorted(wanted))
        else:
            items = self.iter_items()
        found: dict[str, SourceItem] = {}
        for item in items:
            if item.sku in wanted:
                found[item.sku] = item
                if len(found) == len(wanted):
                    break
        return found

    def get_item(self, item_id: str) -> SourceItem | None:
        """One item by Zoho's `item_id` (what a workflow webhook names); None if unknown
        (deleted, or never there).

        An unknown id answers 404 in the sandbox; the real code is UNCONFIRMED.
        """
        read_at = self.clock()
        try:
            body = self.api.json(
                "GET", f"items/{quote(item_id, safe='')}", params=self._organization
            )
        except PermanentError as exc:
            if exc.status == 404:
                return None
            raise
        return self._to_item(body.get("item") or {}, read_at)

    def get_items(self, item_ids: Sequence[str]) -> dict[str, SourceItem | None]:
        """`get_item` for each id: Zoho documents no list filter on several `item_id`s
        that we could confirm, so a group of notices costs a call each, as before."""
        return {item_id: self.get_item(item_id) for item_id in item_ids}

    def order_progress(
        self, numbers: Sequence[str], *, since: datetime
    ) -> dict[str, OrderProgress]:
        """How far Zoho has taken each store order, by its sales orders'
        `reference_number` (section 6, "Absorbed").

        Zoho documents no filter that takes several reference numbers (nor, for that
        matter, one: `reference_number` as a filter is our UNCONFIRMED reading). Up to
        `PER_NUMBER_LOOKUPS` numbers are asked one list call each, as few pages as
        Zoho has of each; more are found in one listing of all sales orders, most
        recently modified first (`RECENT_FIRST`), which stops after the first page
        whose rows were all last modified before `since`: no later row can be newer,
        and no older sales order can be about these orders (`InventorySource`).
        Either way rows are matched exactly on `reference_number`, and a row modified
        before `since` is never credited, so both ways give the same answer. Numbers
        with no sales order are absent; see `progress_of` for what counts.

        The listing pages by offset over a moving key: a sales order modified while it
        runs jumps to the first page and is missed if that page was read, the row
        before it being seen twice instead (harmless). Missing one merely delays a
        store order to the next call, except for one split over several sales orders,
        which could be judged shipped on the others alone: a narrow race, accepted for
        the calls it saves.
        """
        # An empty number would match every sales order without a reference.
        wanted = dict.fromkeys(number for number in numbers if number)
        pages: Iterator[list[dict[str, Any]]]
        if len(wanted) <= PER_NUMBER_LOOKUPS:
            pages = (
                page.rows
                for number in wanted
                for page in self._pages("salesorders", {"reference_number": number})
            )
        else:
            pages = self._recent(since)
        orders: dict[str, list[dict[str, Any]]] = {}
        for rows in pages:
            for row in rows:
                number = row.get("reference_number")
                if number in wanted and not _modified_before(row, since):
                    orders.setdefault(number, []).append(row)
        return {number: progress_of(rows, self.stock_field) for number, rows in orders.items()}

    def stock_changes(self, cursor: str | None) -> ChangePage:
        """Items modified since the cursor, a time on Zoho's clock: the stock movements
        no item workflow webhook reports (`connectors.zoho_feed`)."""
        return zoho_feed.stock_changes(self._list_items, cursor)

    def _list_items(self, params: Mapping[str, str | int]) -> dict[str, Any]:
        body: dict[str, Any] = self.api.json(
            "GET", "items", params={**self._organization, **params}
        )
        return body

    def _recent(self, since: datetime) -> Iterator[list[dict[str, Any]]]:
        """The pages of `GET salesorders`, most recently modified first, up to and
        including the first whose rows were all modified before `since`."""
        for page in self._pages("salesorders", RECENT_FIRST):
            yield page.rows
            if page.rows and all(_modified_before(row, since) for row in page.rows):
                return

    def _read(self, filters: Mapping[str, str]) -> Iterator[SourceItem]:
        """Every item `GET items` lists with `filters`, page by page."""
        for page in self._pages("items", filters):
            for row in page.rows:
                item = self._to_item(row, page.read_at)
                if item is not None:
                    yield item

    def _pages(
        self, resource: str, filters: Mapping[str, str], *, first: int = 1
    ) -> Iterator[_Page]:
        """Page `GET <resource>` from page `first` while `page_context.has_more_page`
        is true (section 6): each page's rows with the clock's time just before its
        request."""
        number = first
        while True:
            params = {**self._organization, **filters, "page": number, "per_page": PER_PAGE}
            read_at = self.clock()
            body = self.api.json("GET", resource, params=params)
            more = bool(body.get("page_context", {}).get("has_more_page"))
            yield _Page(number, read_at, body.get(resource, []), more)
            if not more:
                return
            number += 1

    def _to_item(self, row: Mapping[str, Any], read_at: datetime) -> SourceItem | None:
        """A `SourceItem` for an item that tracks stock, or None.

        Items without the stock field (services, non-inventory items) track no stock. An
        inactive item keeps its stock in Zoho but cannot be used in new transactions
        (section 6), so it sells as 0. Stock may be fractional: floored, and negative
        stock sells as zero. An item without the available-for-sale field has
        `available_for_sale` None: a site selling from that basis then fails the SKU
        rather than guess (sync/push.py).

        `locations[]`, where the answer carries it, gives the per-location figures a
        site mapped to some locations sells from. That the list answer carries it (not
        only the single-item one) is UNCONFIRMED (section 6): modelled as it does, by
        the sandbox too; an answer without it gives `locations` None, and a mapped site
        then fails the SKU by name rather than sell the item-level figure. A location's
        negative figure is kept (floored), so a mapped site's sum nets one warehouse's
        shortfall against another's stock; sync/sellable.py sells a negative sum as 0.
        """
        stock = row.get(self.stock_field)
        sku = try_normalize_sku(row.get("sku"))
        if stock is None or sku is None:
            return None
        active = row.get("status") == "active"
        on_hand, for_sale = self._figures(row, "", active)
        locations = row.get("locations")
        return SourceItem(
            sku=sku,
            quantity=max(0, on_hand),
            item_id=str(row["item_id"]),
            read_at=read_at,
            available_for_sale=None if for_sale is None else max(0, for_sale),
            locations=None
            if locations is None
            else {
                str(place["location_id"]): self._figures(place, "location_", active)
                for place in locations
            },
        )

    def _figures(self, row: Mapping[str, Any], prefix: str, active: bool) -> tuple[int, int | None]:
        """(on hand, available-for-sale) of an item (`prefix` "") or of one entry of its
        `locations[]` ("location_"): Zoho names a location's figures after the item's,
        `location_stock_on_hand`, `location_available_for_sale_stock`, ... (section 6,
        "Per location"; the available-for-sale ones INFERRED from public clients).
        Floored; missing figures are 0 on hand and None for sale; an inactive item's
        are 0."""
        on_hand = row.get(prefix + self.stock_field)
        for_sale = row.get(prefix + STOCK_FIELDS[self.stock_field])
        return (
            _whole(on_hand) if active and on_hand is not None else 0,
            None if for_sale is None else _whole(for_sale) if active else 0,
        )

    def _mint(self) -> AccessToken:
        """Refresh-token grant (section 6).

        Zoho answers a bad client or refresh token with HTTP 200 and `{"error": ...}`
        (seen in public client bug reports, e.g. asciisd/zoho#6), so a body without an
        access token is a refusal too.
        """
        try:
            body: dict[str, Any] = self.api.http.json("POST", self.token_url, data=self._token_form)
        except PermanentError as exc:
            if _error_of(exc.body) == _QUOTA_ERROR:
                raise TransientError(
                    f"zoho: token limit reached (10 per 10 minutes): {exc}",
                    status=exc.status,
                    retry_after=TOKEN_WINDOW_SECONDS,
                ) from exc
            raise
        if "access_token" not in body:
            raise PermanentError(f"zoho POST /oauth/v2/token: {body.get('error', body)}")
        return AccessToken(str(body["access_token"]), int(body.get("expires_in", 3600)))


def progress_of(orders: Sequence[Mapping[str, Any]], stock_field: str) -> OrderProgress:
    """What a store order's sales orders (those carrying its number) tell (section 6).

    `committed`: one of them is past draft and not void (`confirmed`, `closed`, ...):
    Zoho commits only confirmed orders (UNCONFIRMED for drafts), and a void one
    releases. `shipped`: stock on hand went down by it, which for accounting stock
    (`stock_on_hand`, `available_stock`) happens at the invoice and for physical stock
    (`actual_*`) at the shipment. Only whole invoices or shipments of every live order
    count: a partial one, or one of two orders a merchant split the store order into,
    has moved only some of the units, and the reservation must keep the rest.
    """
    live = [order for order in orders if order.get("status") not in NOT_COMMITTED]
    field, done = SHIPPED_WHEN[stock_field]
    return OrderProgress(
        committed=bool(live), shipped=bool(live) and all(order.get(field) in done for order in live)
    )


def _modified_before(row: Mapping[str, Any], since: datetime) -> bool:
    """Whether a sales order was last modified before `since`. A row without a readable
    `last_modified_time` is not known to be older, so it counts (and keeps a listing
    going): the number match alone then decides, as before the bound existed."""
    try:
        return datetime.strptime(str(row["last_modified_time"]), TIME_FORMAT) < since
    except (KeyError, ValueError):
        return False


def _whole(stock: Any) -> int:
    """Whole units of a Zoho stock figure (it may be fractional): floored."""
    return math.floor(float(stock))


def _error_of(body: str | None) -> object:
    """The `error` of an accounts-server answer, or None if the body is not such JSON."""
    try:
        return json.loads(body or "").get("error")
    except (ValueError, AttributeError):
        # Not a JSON object (a proxy's HTML page, say): no Zoho error to read.
        return None
