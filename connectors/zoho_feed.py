"""Zoho Inventory's stock-movement feed: items modified since the last read
(docs/platforms.md section 6).

Why a feed: Zoho's webhooks come from workflow rules the merchant sets on a module,
such as "Item add/edit"; an invoice, a shipment or an inventory adjustment is a record
of its own module, and nothing in Zoho's published API or help says an item rule fires
when such a record moves the item's stock (INFERRED: no such trigger is documented;
Zoho Inventory's API documents no webhooks or workflows at all, section 6). So stock
lowered by an invoice may reach no webhook.

The feed: `GET /items?last_modified_time=<since>&sort_column=last_modified_time&
sort_order=D`. The items list documents `last_modified_time` as "Filter items modified
after the given date and time" (format `yyyy-MM-ddTHH:mm:ssZ`, sent in Zoho's own
`+0000` form) and `last_modified_time` among its sort columns (Zoho's items OpenAPI
copy, api-evangelist/zoho-inventory `openapi/_original/items.yml`, CONFIRMED as
documented). That an invoice, a shipment or an adjustment moves the item's
`last_modified_time` is UNCONFIRMED: test on a real organisation; if it does not, the
fallback is documents modified since (invoices, packages/shipments, inventory
adjustments, each listed by `last_modified_time` and then read one by one for its line
items' SKUs), several calls per poll.

Cost: one call per poll while at most `PER_PAGE` (200) items changed since the last;
one more per further 200. Zoho's budget is about 100 requests per minute per
organisation and a daily cap by plan (section 6): a poll every minute is 1,440 calls a
day, so the poll period is the caller's lever on that cap.

The cursor is a time on Zoho's clock (the newest `last_modified_time` Zoho showed us),
never ours. Each read starts `OVERLAP` before it, since Zoho's times have whole seconds
and an item changed in the same second as the newest one seen, after our read, has the
same time: its SKU is reported again next time, which the caller coalesces. Newest
first, an item changed while a burst is paged moves to page 1, already read, and the
rows after it shift down one: a row is seen twice, none skipped, and the changed item
is newer than the cursor the sweep ends with, so the next poll reports it. An item
deleted from a page already read shifts the rows up instead, and the one crossing the
page boundary is missed (left to the nightly run): rare, as it takes a burst of more
than a page and a deletion within the same sweep. A guard
stops at the first row older than the window too, so a server that ignored the filter
would cost one page, not the catalog.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from connectors.errors import CursorLost
from connectors.types import ChangePage
from models.skus import try_normalize_sku

#: Zoho's timestamp form, e.g. `2026-12-04T10:15:00+0000` (section 6).
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
#: Items per page: the list's default and documented maximum (section 6).
PER_PAGE = 200
#: How far before the cursor each read starts (see the module docstring). A minute
#: covers whole-second times and a short lag between Zoho stamping an item and listing
#: it (UNCONFIRMED that there is one); it costs duplicates, not calls.
OVERLAP = timedelta(seconds=60)
#: Where watching starts in an organisation with no items yet: any item is newer.
EMPTY = "1970-01-01T00:00:00+0000"
#: Separates a cursor's time from the sweep state carried while `more` is set.
_SEP = "|"

#: One `GET /items` with these query parameters (the source adds its organisation):
#: the answer's JSON body.
ListItems = Callable[[Mapping[str, str | int]], dict[str, Any]]


def stock_changes(list_items: ListItems, cursor: str | None) -> ChangePage:
    """`InventorySource.stock_changes` for Zoho Inventory.

    None costs one call (newest first, one row): the newest `last_modified_time`, or
    `EMPTY` with no items. Otherwise one page of the items modified since the cursor
    less `OVERLAP`, newest first; SKUs of every listed item with one (inactive items
    too: the caller reads each again). While Zoho has more pages, `more` is set and the
    cursor carries the sweep (start time, newest time, next page); the last page's
    cursor is the newest time seen, so a cursor past the end gives nothing and stays.
    """
    if cursor is None:
        body = list_items(_newest_first(page=1, per_page=1))
        rows = body.get("items") or []
        return ChangePage(skus=(), cursor=str(rows[0]["last_modified_time"]) if rows else EMPTY)
    since, newest, page = _parse(cursor)
    after = since - OVERLAP
    body = list_items(
        {"last_modified_time": after.strftime(TIME_FORMAT), **_newest_first(page, PER_PAGE)}
    )
    rows = body.get("items") or []
    skus: dict[str, None] = {}
    older_seen = False
    for row in rows:
        modified = _time(row.get("last_modified_time"))
        if modified is not None and modified <= after:
            older_seen = True  # newest first: every later row is older still
            break
        if modified is not None and modified > newest:
            newest = modified
        sku = try_normalize_sku(row.get("sku"))
        if sku:
            skus[sku] = None
    more = bool(body.get("page_context", {}).get("has_more_page")) and not older_seen
    if more:
        state = _SEP.join((_text(since), _text(newest), str(page + 1)))
        return ChangePage(skus=tuple(skus), cursor=state, more=True)
    return ChangePage(skus=tuple(skus), cursor=_text(newest))


def _newest_first(page: int, per_page: int) -> dict[str, str | int]:
    return {
        "sort_column": "last_modified_time",
        "sort_order": "D",
        "page": page,
        "per_page": per_page,
    }


def _parse(cursor: str) -> tuple[datetime, datetime, int]:
    """(since, newest seen so far, page) from a cursor this module made."""
    parts = cursor.split(_SEP)
    try:
        if len(parts) == 1:
            since = datetime.strptime(parts[0], TIME_FORMAT)
            return since, since, 1
        if len(parts) == 3 and int(parts[2]) >= 2:
            since, newest = (datetime.strptime(part, TIME_FORMAT) for part in parts[:2])
            return since, newest, int(parts[2])
    except ValueError:
        pass  # falls through to the one refusal below
    raise CursorLost(f"zoho: change-feed cursor {cursor[:60]!r} is not one of ours")


def _time(raw: object) -> datetime | None:
    """A row's time; None for one without a readable time, which is then reported
    (not known to be older) and moves nothing."""
    try:
        return datetime.strptime(str(raw), TIME_FORMAT)
    except ValueError:
        return None


def _text(when: datetime) -> str:
    return when.strftime(TIME_FORMAT)
