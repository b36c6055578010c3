"""Dynamics 365 Business Central (API v2.0) as an inventory source (docs/platforms.md section 7).

Reads items through the standard `items` API page of one company with an app-only
(client-credentials) token from Entra ID. Business Central's own throttling answers are
429 (rate or queue full), 503 (queued too long) and 504 (gateway timeout), each worth a
retry after `Retry-After` (section 7, operational limits); `connectors.http` already
turns them into `TransientError` with that hint, so nothing here special-cases them.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple
from urllib.parse import quote

from connectors import businesscentral_feed
from connectors.errors import PermanentError
from connectors.http import HttpClient
from connectors.oauth import AccessToken, TokenAuth, cache_key, require
from connectors.tokens import TokenCache
from connectors.types import (
    ChangePage,
    Clock,
    ItemPage,
    ModifiedItem,
    OrderProgress,
    SourceItem,
    host_clock,
    source_items,
)
from models.skus import try_normalize_sku

log = logging.getLogger(__name__)

#: Entra ID's token endpoint for app-only (client-credentials) tokens (section 7).
ENTRA_ENDPOINT = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
#: The one scope an app-only token for the BC APIs asks for (section 7, S2S auth).
API_SCOPE = "https://api.businesscentral.dynamics.com/.default"

#: Rows per page we ask for with `Prefer: odata.maxpagesize`. BC allows up to 20,000
#: (section 7, server-driven paging); 1,000 keeps one page's memory small and each
#: request short, at 20 requests per 20,000 items, far below 6,000 per 5 minutes.
PAGE_SIZE = 1000

#: Longest request URL we send. The real limit of the BC API front end is UNCONFIRMED
#: (section 7 only warns about URL length); 2,000 characters stays under every common
#: proxy and server default we know of (IIS `maxQueryString` 2,048), so it is a safe
#: choice, not a measured one. About 50 SKUs fit in one filter at this length.
MAX_URL_LENGTH = 2000

#: Only the fields a stock reading needs, to keep pages small.
SELECT = "id,number,inventory,type,blocked,lastModifiedDateTime"

#: What an order's progress needs of a posted shipment.
#: The fields `modified_since` reads: an item's number and when its record changed.
MODIFIED_SELECT = "number,lastModifiedDateTime"
SHIPMENT_SELECT = "id,number,externalDocumentNumber,lastModifiedDateTime"

#: Up to this many store order numbers, `order_progress` filters shipments by number
#: (about 50 numbers of 20 characters fill one URL); more are matched against one
#: listing of the shipments modified since the oldest order could have been imported,
#: which costs pages of `PAGE_SIZE` recent shipments rather than URLs of numbers.
PER_NUMBER_FILTERS = 50

# `or` joins equality tests on the same field only; `in` is documented only with
# `$schemaversion=2.1` for OData web services and UNCONFIRMED for `/api/v2.0` (section 7).
_OR = quote(" or ")


class _Page(NamedTuple):
    #: The clock's time just before the page's request (`SourceItem.read_at`).
    read_at: datetime
    rows: list[dict[str, Any]]
    #: `@odata.nextLink`, None on the last page.
    next: str | None


class BusinessCentralSource:
    """`InventorySource` over one Business Central company.

    `credentials`: `tenant_id`, `client_id`, `client_secret`, `company_id`, optional
    `environment` (default `production`) and `token_url` (default Entra ID's endpoint
    for the tenant; a sandbox overrides it).
    """

    #: API v2.0 has on hand only (`items.inventory`); nothing committed (section 7).
    offers_available_for_sale = False
    #: API v2.0 has no stock per location: readings carry `locations` None (section 7).
    offers_locations = False
    #: How a refusal names the ERP, and where its facts are.
    label = "Business Central"
    facts = "docs/platforms.md section 7"

    @staticmethod
    def budget_account(base_url: str, credentials: Mapping[str, str]) -> tuple[str, ...]:
        """Whose requests the limits count: the user or service principal's (section 7),
        whatever company or environment it calls: the tenant and the app's client id."""
        return (str(credentials.get("tenant_id", "")), str(credentials.get("client_id", "")))

    def __init__(
        self,
        base_url: str,
        credentials: Mapping[str, str],
        *,
        token_cache: TokenCache | None = None,
        clock: Clock | None = None,
    ) -> None:
        require(
            credentials, "businesscentral", "tenant_id", "client_id", "client_secret", "company_id"
        )
        self.clock = clock or host_clock
        tenant = credentials["tenant_id"]
        environment = credentials.get("environment") or "production"
        self.token_url = credentials.get("token_url") or ENTRA_ENDPOINT.format(tenant=tenant)
        self._token_form = {
            "grant_type": "client_credentials",
            "client_id": credentials["client_id"],
            "client_secret": credentials["client_secret"],
            "scope": API_SCOPE,
        }
        # The tenant form of the endpoint: the one that works with app-only tokens (7).
        api_base = (
            f"{base_url.rstrip('/')}/v2.0/{tenant}/{environment}/api/v2.0"
            f"/companies({credentials['company_id']})"
        )
        self.api = TokenAuth(
            HttpClient("businesscentral", api_base),
            mint=self._mint,
            key=cache_key("businesscentral", self.token_url, tenant, credentials["client_id"]),
            scheme="Bearer",
            token_cache=token_cache,
        )

    def iter_items(self) -> Iterator[SourceItem]:
        """Every stocked item, one page of `PAGE_SIZE` in memory at a time."""
        return source_items(self.iter_item_pages())

    def iter_item_pages(self, resume: str | None = None) -> Iterator[ItemPage]:
        """The item list a page of `PAGE_SIZE` at a time. `resume` is the page's
        `@odata.nextLink`: BC's skip token names the last key read, so items created
        or deleted meanwhile shift nothing (section 7, server-driven paging)."""
        for page in self._pages(resume or f"items?$select={SELECT}"):
            items = [item for row in page.rows if (item := _to_item(row, page.read_at))]
            yield ItemPage(items, page.next)

    def get_quantities(self, skus: Sequence[str]) -> dict[str, SourceItem]:
        """Read `skus` with `number eq '..' or ...` filters, as few URLs as fit the limit.

        500 SKUs of the `SKU-000001` form take 10 requests. A SKU that cannot be an item
        number (see `models.skus`) cannot exist in BC and is simply absent.
        """
        wanted = {sku for sku in map(try_normalize_sku, skus) if sku}
        found: dict[str, SourceItem] = {}
        prefix = f"items?$select={SELECT}&$filter="
        for url in self._filter_urls(prefix, "number", sorted(wanted)):
            for item in self._read(url):
                # Guards against a filter the server ignored: never report unasked SKUs.
                if item.sku in wanted:
                    found[item.sku] = item
        return found

    def get_item(self, item_id: str) -> SourceItem | None:
        """One item by its GUID (the id a webhook's `resource` names); None if unknown
        (deleted: BC answers 404 `BadRequest_NotFound`, section 7)."""
        try:
            key = uuid.UUID(item_id)
        except ValueError:
            # Not a GUID, so it names no item; also keeps arbitrary text out of the URL.
            return None
        read_at = self.clock()
        try:
            row = self.api.json("GET", f"items({key})?$select={SELECT}")
        except PermanentError as exc:
            if exc.status == 404:
                return None
            raise
        return _to_item(row, read_at)

    def get_items(self, item_ids: Sequence[str]) -> dict[str, SourceItem | None]:
        """Items by their GUIDs with `id eq <guid> or ...` filters, packed into URLs as
        SKUs are (32 to a URL): the relay groups a source's item notices whose
        windows closed together, and one request reads them all where `get_item` would
        make one each. An id BC does not list (deleted, or no GUID at all) maps to None,
        as `get_item`'s 404 does; so does an item that carries no stock."""
        keys: dict[str, list[str]] = {}
        for item_id in item_ids:
            try:
                keys.setdefault(str(uuid.UUID(item_id)), []).append(item_id)
            except ValueError:
                continue  # no GUID names no item, and stays out of the URL
        found: dict[str, SourceItem | None] = dict.fromkeys(item_ids)
        prefix = f"items?$select={SELECT}&$filter="
        try:
            for url in self._filter_urls(prefix, "id", sorted(keys), clause=_guid_eq):
                for item in self._read(url):
                    # As for SKUs: never report an item that was not asked for.
                    for asked in keys.get(item.item_id.lower(), ()):
                        found[asked] = item
        except PermanentError as exc:
            if exc.status != 400:
                raise
            # That BC takes this filter is our reading, not confirmed on a live tenant
            # (docs/platforms.md section 7): refused, each item is read on its own
            # rather than every notice of the group failing.
            log.warning("businesscentral.id_filter_refused", extra={"error": str(exc)[:200]})
            return {item_id: self.get_item(item_id) for item_id in item_ids}
        return found

    def order_progress(
        self, numbers: Sequence[str], *, since: datetime
    ) -> dict[str, OrderProgress]:
        """Store orders whose shipment BC has posted: a `salesShipments` row carrying
        the number as `externalDocumentNumber` (section 7, "Absorbed").

        Up to `PER_NUMBER_FILTERS` numbers are asked with `externalDocumentNumber eq
        '..' or ...` filters packed into URLs of at most `MAX_URL_LENGTH` (as SKUs
        are); more with one listing of the shipments posted or changed after `since`
        (`lastModifiedDateTime gt <since>`), paged: no older shipment can be about
        these orders (`InventorySource`), and a few pages of recent shipments are
        cheaper than many URLs of numbers. Either way rows are matched exactly on the
        number and one modified before `since` is never credited, so both ways give
        the same answer.

        Only a posted shipment counts: a sales order alone lowers no figure of the one
        basis BC's API offers, on hand (`offers_available_for_sale` is False), so it is
        not reported and the reservation stays. `committed` equals `shipped`: it says
        whether the ERP's figure nets the units, and BC has no available-for-sale
        figure, so on hand, which nets them once shipped, is the one figure either flag
        can speak of. Numbers without a posted shipment are absent.
        """
        # An empty number would match every document without one.
        wanted = sorted({number for number in numbers if number})
        prefix = f"salesShipments?$select={SHIPMENT_SELECT}&$filter="
        urls: Iterator[str]
        if len(wanted) <= PER_NUMBER_FILTERS:
            urls = self._filter_urls(prefix, "externalDocumentNumber", wanted)
        else:
            urls = iter([prefix + _after("lastModifiedDateTime", since)])
        shipped = {
            row.get("externalDocumentNumber")
            for url in urls
            for page in self._pages(url)
            for row in page.rows
            if not _modified_before(row, since)
        }
        # Exact match again, as for items: never credit a number not asked for.
        return {
            number: OrderProgress(committed=True, shipped=True)
            for number in wanted
            if number in shipped
        }

    def stock_changes(self, cursor: str | None) -> ChangePage:
        """Item ledger entries after the last seen entry number: the stock movements
        no `items` webhook reports (`connectors.businesscentral_feed`)."""
        return businesscentral_feed.stock_changes(self.api, cursor)

    def modified_since(self, since: datetime) -> Iterator[ModifiedItem]:
        """Items whose record changed after `since` (`lastModifiedDateTime gt`, in
        number order), a page per request as the caller reads on. A posting changes no
        Item record (section 7), so this is what an `items` subscription notifies, not
        every stock movement: those are the ledger feed's (`stock_changes`)."""
        url = f"items?$select={MODIFIED_SELECT}&$filter=" + _after("lastModifiedDateTime", since)
        for page in self._pages(url):
            for row in page.rows:
                sku = try_normalize_sku(row.get("number"))
                modified = _modified_at(row)
                if sku and modified is not None and modified > since:
                    yield ModifiedItem(sku, modified)

    def _read(self, url: str) -> Iterator[SourceItem]:
        """Every item the list at `url` holds, page by page."""
        for page in self._pages(url):
            for row in page.rows:
                item = _to_item(row, page.read_at)
                if item is not None:
                    yield item

    def _pages(self, url: str | None) -> Iterator[_Page]:
        """Follow `@odata.nextLink` from `url` until the server stops sending one (7):
        each page's rows with the clock's time just before its request."""
        while url:
            read_at = self.clock()
            body = self.api.json("GET", url, headers={"Prefer": f"odata.maxpagesize={PAGE_SIZE}"})
            url = body.get("@odata.nextLink")
            yield _Page(read_at, body.get("value", []), url)

    def _filter_urls(
        self,
        prefix: str,
        field: str,
        values: list[str],
        clause: Callable[[str, str], str] | None = None,
    ) -> Iterator[str]:
        """`prefix` followed by `<field> eq` clauses (`clause`, string literals by
        default) joined by `or`, packed greedily into URLs of at most `MAX_URL_LENGTH`
        characters."""
        clause = clause or _eq
        budget = MAX_URL_LENGTH - len(self.api.http.url(prefix))
        clauses: list[str] = []
        used = 0
        for value in values:
            text = clause(field, value)
            cost = len(text) + (len(_OR) if clauses else 0)
            if clauses and used + cost > budget:
                yield prefix + _OR.join(clauses)
                clauses, cost = [], len(text)
                used = 0
            clauses.append(text)
            used += cost
        if clauses:
            yield prefix + _OR.join(clauses)

    def _mint(self) -> AccessToken:
        """Client-credentials grant against Entra ID (section 7); a bad secret is a 401."""
        body: dict[str, Any] = self.api.http.json("POST", self.token_url, data=self._token_form)
        return AccessToken(str(body["access_token"]), int(body["expires_in"]))


def _eq(field: str, value: str) -> str:
    """`<field> eq '<value>'`, URL-quoted; OData escapes a single quote by doubling it."""
    return quote("{} eq '{}'".format(field, value.replace("'", "''")), safe="'")


def _guid_eq(field: str, value: str) -> str:
    """`<field> eq <guid>`, URL-quoted: an OData v4 Guid literal is unquoted (section 7)."""
    return quote(f"{field} eq {value}")


def _after(field: str, since: datetime) -> str:
    """`<field> gt <since>`, URL-quoted: an OData DateTimeOffset literal is unquoted
    ISO 8601, here in UTC with `Z` (section 7)."""
    literal = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return quote(f"{field} gt {literal}", safe=":")


def _modified_before(row: Mapping[str, Any], since: datetime) -> bool:
    """Whether a document's `lastModifiedDateTime` is before `since`; one without a
    readable time is not known to be older, so the number match alone decides."""
    modified = _modified_at(row)
    return modified is not None and modified < since


def _modified_at(row: Mapping[str, Any]) -> datetime | None:
    """A row's `lastModifiedDateTime`, None when absent or unreadable."""
    try:
        return datetime.fromisoformat(str(row["lastModifiedDateTime"]))
    except (KeyError, ValueError):
        return None


def _to_item(row: Mapping[str, Any], read_at: datetime) -> SourceItem | None:
    """A `SourceItem` for an item that carries stock, or None.

    Only `type == "Inventory"` items carry stock (Service and Non-Inventory do not). A
    blocked item keeps its inventory but no transaction with it can be posted (section
    7), so it sells as 0. `inventory` is a decimal: a fraction of a unit cannot be
    sold, so it is floored, and negative stock (allowed by some posting setups) sells
    as zero.
    """
    if row.get("type") != "Inventory":
        return None
    sku = try_normalize_sku(row.get("number"))
    if sku is None:
        return None
    blocked = bool(row.get("blocked"))
    quantity = 0 if blocked else max(0, math.floor(float(row.get("inventory") or 0)))
    return SourceItem(sku=sku, quantity=quantity, item_id=str(row["id"]), read_at=read_at)
