"""Writing changed numbers to a store while it keeps selling (issue 20).

A store sells at any moment; our last reading of its number is seconds to hours old
(the catalog refresh, or our own last write), and every write is absolute.

- **Compare-and-set where the platform has it** (Shopify's `changeFromQuantity`): each
  write carries the number we believe the store holds (`StockUpdate.expected`, the row's
  quantity). A store holding another refuses it (`UpdateResult.stale`); we read its
  number back and write again against that. A store below our belief has sold since
  we read it. If the site reports its orders to us (it has reservations: order
  webhooks or the plugin), those units are an order on its way and the write keeps
  them sold: `number - (expected - actual)`, and the order's reservation then matches
  what the store shows. If it does not (a merchant whose ERP imports the store's orders
  by itself), the ERP's next figure will count them, so the number is written as is:
  keeping them too would lower that store twice until the next full sync. A number
  above ours (a hand edit, a restock) is never kept: the ERP is the truth.
- **Every sale is settled by its own order event.** It reads the store back under the
  rows' locks, after any write of ours that raced it, and lowers a number above what
  the store may sell (sync/push.py `read_back`, sync/store_orders.py). WooCommerce and
  BigCommerce have no conditional write (and BigCommerce's relative adjustments would
  keep a hand edit upwards as well as a sale, docs/platforms.md section 4), so there a
  write can land over a sale made a moment before it, and this is what keeps a store
  from *ending* above `basis - reserved`: tests/functional/test_reservations.py races
  200 orders against a running full sync.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any, Protocol

from connectors.interfaces import Storefront
from connectors.types import StockUpdate, UpdateResult
from sync.catalog import Pushed
from sync.pacing import calls_made

#: Why a SKU is left after a second stale compare: the store keeps selling it.
STILL_SELLING = (
    "the store's number changed again while writing (it is selling): the sale's own "
    "order event writes it"
)
#: Why a SKU is left when its number cannot be read back after a stale compare.
UNREADABLE = "the store's number changed while writing and could not be read back"


class Tally(Protocol):
    """What a write reports into (sync/push.py `PushOutcome`)."""

    synced: int
    unchanged: int
    store_calls: int

    def fail(self, sku: str, reason: str) -> None: ...


def read_levels(store: Storefront, rows: Iterable[Any]) -> dict[str, int]:
    """The store's current numbers of `rows`' SKUs (each has `sku` and `product_id`),
    one product read each."""
    rows = list(rows)
    wanted = {row.sku for row in rows}
    levels = {}
    for product_id in sorted({row.product_id for row in rows}):
        for product in store.get_product(product_id):
            if product.sku in wanted and product.quantity is not None:
                levels[product.sku] = product.quantity
    return levels


def write_changed(
    store: Storefront,
    changed: Sequence[tuple[StockUpdate, Pushed]],
    tally: Tally,
    *,
    keep_sales: bool,
) -> list[Pushed]:
    """Send the changed SKUs (module docstring); count them; return the rows to record:
    those written, and those found already holding the number to write. `keep_sales`:
    the site reports its orders, so a sale found by a stale compare stays sold."""
    recorded: list[Pushed] = []
    stale = _send(store, changed, tally, recorded)
    if not stale:
        return recorded
    levels = read_levels(store, [update for update, _ in stale])
    again = []
    for update, pushed in stale:
        actual = levels.get(update.sku)
        if actual is None:
            tally.fail(update.sku, UNREADABLE)
            continue
        sold = max(0, (update.expected or 0) - actual) if keep_sales else 0
        number = max(0, update.quantity - sold)
        if actual == number:
            tally.unchanged += 1
            recorded.append(replace(pushed, quantity=number))
        else:
            retry = replace(update, quantity=number, expected=actual)
            again.append((retry, replace(pushed, quantity=number)))
    for update, _ in _send(store, again, tally, recorded):
        tally.fail(update.sku, STILL_SELLING)
    return recorded


def _send(
    store: Storefront,
    changed: Sequence[tuple[StockUpdate, Pushed]],
    tally: Tally,
    recorded: list[Pushed],
) -> list[tuple[StockUpdate, Pushed]]:
    """One `set_stock` call: record what was written, fail what was refused, return
    what was refused as stale."""
    if not changed:
        return []
    updates = [update for update, _ in changed]
    results = _counted(store, updates, tally)
    stale = []
    for (update, pushed), result in zip(changed, results, strict=True):
        if result.ok:
            tally.synced += 1
            recorded.append(replace(pushed, written=True))
        elif result.stale:
            stale.append((update, pushed))
        else:
            tally.fail(update.sku, result.error or "refused by the store")
    return stale


def _counted(store: Storefront, updates: list[StockUpdate], tally: Tally) -> list[UpdateResult]:
    before = calls_made(store)
    results = store.set_stock(updates)
    after = calls_made(store)
    if before is None or after is None:
        # A store not built by the worker context: the fewest requests it could take.
        tally.store_calls += math.ceil(len(updates) / store.batch_limit)
    else:
        tally.store_calls += after - before
    return results
