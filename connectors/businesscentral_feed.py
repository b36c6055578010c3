"""Business Central's stock-movement feed: item ledger entries after the last one seen
(docs/platforms.md section 7, "Stock movements and webhooks").

Why a feed: an `items` subscription fires when the Item record changes, but posting
stock (a sales shipment, a purchase receipt, an item journal) writes item ledger
entries and leaves the record alone (microsoft/AL#6417, INFERRED from it: a webhook
cannot fire without a record change), and `itemLedgerEntries` is not in the list of
webhook entities (`dynamics-subscriptions.md`, CONFIRMED). Every posted movement of
stock is an item ledger entry, numbered by `entryNumber`, which rises with each posting
and is never reused (INFERRED: BC's ledger-entry primary key, "Entry No."), so "entries
after N" misses nothing that was posted.

Fields (`api-reference/v2.0/resources/dynamics_itemledgerentry.md`, CONFIRMED):
`entryNumber` (integer), `itemNumber` (the item's `number`, which is our SKU:
`connectors/businesscentral.py` reads `items.number` as the SKU). `$top` with
`$orderby` is what BC's OData guidance recommends for "top ranked records", and `$top`
is discouraged only with `$skip`, which we never send (`webservices/
odata-client-performance.md`, CONFIRMED for BC's OData; INFERRED for this API page,
whose own page lists only GET); `$filter` on the key and `$select` as for items.

Cost: one call per poll while fewer than `FEED_PAGE` entries were posted since the last
one; a burst is read `FEED_PAGE` entries per call with `more` set.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from connectors.errors import CursorLost
from connectors.oauth import TokenAuth
from connectors.types import ChangePage
from models.skus import try_normalize_sku

#: Entries per call. Each carries two small fields, so 1,000 is a few tens of KB; a
#: day's postings of a busy company fit in a handful of calls, far below BC's 6,000
#: requests per 5 minutes (section 7, operational limits).
FEED_PAGE = 1000

_ENTRIES = "itemLedgerEntries"


def stock_changes(api: TokenAuth, cursor: str | None) -> ChangePage:
    """`InventorySource.stock_changes` for Business Central; `cursor` is the last
    `entryNumber` read, as decimal text.

    None costs one call, `$orderby=entryNumber desc&$top=1`: the newest entry's number
    (0 in a company with no entries), so watching starts there. Otherwise one call
    reads up to `FEED_PAGE` entries after the cursor in `entryNumber` order; their
    distinct item numbers are the SKUs (entries of items whose number cannot be a SKU
    are dropped, as `iter_items` drops them), the last entry's number the next cursor.
    A full page sets `more`. A cursor past the newest entry reads nothing and stays.
    """
    if cursor is None:
        rows = _get(
            api, f"{_ENTRIES}?$select=entryNumber&$orderby={quote('entryNumber desc')}&$top=1"
        )
        return ChangePage(skus=(), cursor=str(_entry_number(rows[0]) if rows else 0))
    after = _parse(cursor)
    rows = _get(
        api,
        f"{_ENTRIES}?$select=entryNumber,itemNumber"
        f"&$filter={quote(f'entryNumber gt {after}')}&$orderby=entryNumber&$top={FEED_PAGE}",
    )
    skus = dict.fromkeys(
        sku for sku in (try_normalize_sku(row.get("itemNumber")) for row in rows) if sku
    )
    last = max((_entry_number(row) for row in rows), default=after)
    return ChangePage(skus=tuple(skus), cursor=str(last), more=len(rows) >= FEED_PAGE)


def _get(api: TokenAuth, url: str) -> list[dict[str, Any]]:
    """The rows of one page; `Prefer` keeps BC from splitting a `$top` page (section 7,
    server-driven paging), so `more` can rest on the row count alone."""
    page = api.json("GET", url, headers={"Prefer": f"odata.maxpagesize={FEED_PAGE}"})
    rows: list[dict[str, Any]] = page.get("value", [])
    return rows


def _entry_number(row: dict[str, Any]) -> int:
    return int(row["entryNumber"])


def _parse(cursor: str) -> int:
    """The entry number a cursor holds; anything else is not one of ours."""
    try:
        after = int(cursor)
    except ValueError:
        raise CursorLost(
            f"businesscentral: change-feed cursor {cursor[:40]!r} is not an entry number"
        ) from None
    if after < 0:
        raise CursorLost(f"businesscentral: change-feed cursor {after} is negative")
    return after
