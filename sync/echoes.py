"""Telling our own writes' echoes from the store's own changes (issue 20, item 7).

Every stock write we make comes back as a store webhook: WooCommerce's
`product.updated`, Shopify's `inventory_levels/update`, BigCommerce's inventory
scopes (docs/platforms.md sections 1, 3 and 5). An echo says nothing the mirror does
not know, so it must cost no store read and no write. A body is our echo only when
everything the mirror keeps of it matches the mirror row *and* that row holds a number
we wrote (`items.last_synced_at`, set by sync/catalog.py `record_pushed`); anything
else (a renamed SKU, a quantity we did not write, a new variation, a body we cannot
interpret) is not, and goes the normal way.

No time is compared: the store's clock is not ours, and WooCommerce builds the body at
*delivery* time (section 1), so a body showing our number means the store holds it now,
whoever moved it last. The row keeps one quantity, what we wrote or, if a catalog
refresh read the store since, what it read: a merchant's edit the refresh already
copied is then told as our echo. Only the log line is wrong then; the mirror already
holds that number, so a read would have changed nothing.

One row stands for every delivery the dedupe window coalesced into it (the relay marks
the others `duplicate`, docs/architecture.md flow 2), and a variable product's
variations share a window (the entity is the parent). So the row is an echo only when
every body of its window is: one body naming a new variation among nine echoes still
sends the row the normal way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import EventKind, Item, WebhookLog, WebhookStatus
from models.skus import try_normalize_sku

#: Rows of the window: the one processed, and those coalesced into it or still waiting.
WINDOW = (WebhookStatus.RECEIVED, WebhookStatus.QUEUED, WebhookStatus.DUPLICATE)

#: What one body is: our echo, a variable parent unchanged as the mirror knows it (an
#: echo only beside a variation's echo), or None (the normal way).
ECHO = "echo"
PARENT = "parent"
Verdict = str | None


def is_echo(session: Session, row: WebhookLog) -> bool:
    """Whether `row` and every delivery coalesced into it are our own writes' echoes."""
    judge = JUDGES.get((row.provider, row.kind or ""))
    if judge is None or row.site_id is None:
        return False
    verdicts = [judge(session, row.site_id, body) for body in _window(session, row)]
    return None not in verdicts and ECHO in verdicts


def _window(session: Session, row: WebhookLog) -> list[Any]:
    """The bodies of `row`'s window: its own and the later ones of its (site, kind,
    entity) not processed apart. Later windows' rows may be among them; judging more
    bodies only ever sends a row the normal way."""
    return list(
        session.scalars(
            select(WebhookLog.payload).where(
                WebhookLog.site_id == row.site_id,
                WebhookLog.kind == row.kind,
                WebhookLog.entity == row.entity,
                WebhookLog.received_at >= row.received_at,
                WebhookLog.status.in_(WINDOW),
            )
        )
    )


def _written(session: Session, site_id: int, *where: Any) -> Item | None:
    """The site's active row matching `where`, if it holds a number we wrote."""
    return session.scalars(
        select(Item).where(
            Item.site_id == site_id, Item.active, Item.last_synced_at.is_not(None), *where
        )
    ).first()


def _positive_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def woocommerce(session: Session, site_id: int, body: object) -> Verdict:
    """A v3 product body (`product.updated`; sandbox/woocommerce/catalog.py `to_json`).

    A simple product or a variation is our echo when its SKU, ids and `stock_quantity`
    are the mirror row's, with stock managed and a number we wrote. A variable parent
    names no stock of its own (its variations send their own `product.updated`,
    section 1); what the mirror keeps of it is which variations it has, so it counts
    only when its `variations` are exactly the product's active rows, and only beside a
    variation's echo in the same window: a parent body alone is a merchant's edit of
    the product as far as we can tell, and is re-read.
    """
    if not isinstance(body, Mapping) or body.get("status") == "trash":
        return None
    post_id, parent = _positive_int(body.get("id")), body.get("parent_id")
    if post_id is None or not isinstance(parent, int) or isinstance(parent, bool):
        return None
    if body.get("type") == "variable" and parent == 0:
        return _unchanged_parent(session, site_id, post_id, body)
    if body.get("type") not in ("simple", "variation") or body.get("manage_stock") is not True:
        return None
    sku, quantity = try_normalize_sku(body.get("sku")), body.get("stock_quantity")
    if sku is None or not isinstance(quantity, int) or isinstance(quantity, bool):
        return None
    ids: tuple[str, str | None]
    if body["type"] == "variation":
        if parent <= 0:
            return None
        ids = (str(parent), str(post_id))
    elif parent == 0:
        ids = (str(post_id), None)
    else:
        return None
    row = _written(session, site_id, Item.sku == sku)
    if row is None or (row.product_id, row.variant_id) != ids or row.quantity != quantity:
        return None
    return ECHO


def _unchanged_parent(
    session: Session, site_id: int, product_id: int, body: Mapping[str, Any]
) -> Verdict:
    variations = body.get("variations")
    if body.get("manage_stock") is not False or not isinstance(variations, list):
        return None
    mirrored = session.scalars(
        select(Item.variant_id).where(
            Item.site_id == site_id, Item.active, Item.product_id == str(product_id)
        )
    ).all()
    listed = [str(v) for v in variations if _positive_int(v) is not None]
    if len(listed) != len(variations) or sorted(listed) != sorted(map(str, mirrored)):
        return None
    return PARENT


def shopify(session: Session, site_id: int, body: object) -> Verdict:
    """An `inventory_levels/update` body, `{inventory_item_id, location_id, available}`
    (section 5): our echo when `available` is what we wrote to that inventory item.

    The location is not compared: the mirror keeps none, and we write one location
    only. A level at another location that happens to equal our number is then taken
    for an echo, which changes only the log line: stock events cost nothing either way.
    """
    if not isinstance(body, Mapping):
        return None
    item_id, available = _positive_int(body.get("inventory_item_id")), body.get("available")
    if item_id is None or not isinstance(available, int) or isinstance(available, bool):
        return None
    gid = f"gid://shopify/InventoryItem/{item_id}"
    row = _written(session, site_id, Item.variant_id == gid)
    return ECHO if row is not None and row.quantity == available else None


def bigcommerce(session: Session, site_id: int, body: object) -> Verdict:
    """An inventory scope's body (section 3): `data.inventory` = `{product_id, method,
    value}`, plus `variant_id` for a SKU (variant) event. Our echo when the level set
    absolutely is what we wrote to that product or variant. A `relative` change (an
    order, per the event text) is never ours: we write absolute levels."""
    data = body.get("data") if isinstance(body, Mapping) else None
    inventory = data.get("inventory") if isinstance(data, Mapping) else None
    if not isinstance(inventory, Mapping) or inventory.get("method") != "absolute":
        return None
    product_id, value = _positive_int(inventory.get("product_id")), inventory.get("value")
    if product_id is None or not isinstance(value, int) or isinstance(value, bool):
        return None
    variant = inventory.get("variant_id")
    variant_id = _positive_int(variant)
    if variant is not None and variant_id is None:
        return None
    row = _written(
        session,
        site_id,
        Item.product_id == str(product_id),
        Item.variant_id == str(variant_id) if variant_id else Item.variant_id.is_(None),
    )
    return ECHO if row is not None and row.quantity == value else None


#: By (provider, kind): the deliveries that echo a stock write. Shopify's
#: `products/update` is not among them: docs/platforms.md section 5 does not say it
#: fires on an inventory write (the sandbox sends none), so one that comes is re-read.
#: BigCommerce's product and SKU notices carry ids only: nothing to compare.
JUDGES: dict[tuple[str, str], Callable[[Session, int, object], Verdict]] = {
    ("woocommerce", EventKind.STORE_PRODUCT_UPSERT): woocommerce,
    ("shopify", EventKind.STORE_STOCK): shopify,
    ("bigcommerce", EventKind.STORE_STOCK): bigcommerce,
}
