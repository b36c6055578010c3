"""The real-time part of the demo: what a day of trading sends stocksync, in seconds.

1. **Orders** in each store: the store's stock drops and the store sends its own
   signed webhook; one SKU per store sells five times in a row (a burst the 5-second
   window coalesces). Stocksync does not push the ERP's number back then (the store is
   briefly below the ERP until the ERP books the order, sync/events.py); a moment later
   the ERP books the orders and notifies, and that reaches the other stores.
2. **ERP adjustments**: the rest of the changed SKUs, a few every fraction of a second,
   each one a Business Central notification; a few SKUs change five times in a burst,
   and the last value must be what the stores end with.
3. **What platforms also send**: one delivery retried three times, a forged signature,
   a malformed body.

Every ERP change is handed to `ErpChanges`, which times it until each store has it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from demo import deliveries
from demo.platforms import ERP, STORES, Sandbox
from demo.registration import Registered
from demo.watch import ErpChanges
from sandbox.accounts import Account

ORDERS_PER_STORE = 10
#: Successive changes of one SKU in a burst (store orders and ERP adjustments alike).
BURST = 5
ERP_BURST_SKUS = 5
#: ERP changes sent per notification, and the pause between notifications: about 10
#: changes a second (each written to three stores, each write echoed back as a store
#: webhook), what two shared cores absorb without a queue forming behind the window;
#: faster, and the latency figures measure that queue instead.
GROUP = 5
PAUSE_SECONDS = 0.5
#: Seconds between an order in the store and the ERP booking it.
BOOKING_DELAY = 1.0


#: A new ERP quantity, with the store it was sold in for a booked order (else None).
Change = tuple[str | None, int]


@dataclass
class Drive:
    """What the scenario sent, for the summary."""

    erp_changes: int = 0
    erp_skus: set[str] = field(default_factory=set)
    erp_notifications: int = 0
    store_orders: dict[str, int] = field(default_factory=dict)
    crafted: list[deliveries.Sent] = field(default_factory=list)


@dataclass(frozen=True)
class Platforms:
    erp: Sandbox
    stores: Mapping[str, Sandbox]
    accounts: Mapping[str, Account]
    registered: Registered
    receiver: str


def plan(skus: Sequence[str], changes: int, seed: int = 7) -> tuple[list[str], list[str]]:
    """(order SKUs, adjustment SKUs): `changes` distinct SKUs, the first ones sold."""
    chosen = random.Random(seed).sample(list(skus), min(changes, len(skus)))
    orders = min(ORDERS_PER_STORE * len(STORES), len(chosen) // 2)
    return chosen[:orders], chosen[orders:]


def drive(platforms: Platforms, watch: ErpChanges, changes: int) -> Drive:
    """Run the whole scenario (module docstring); returns as soon as all is sent."""
    erp = platforms.erp.stock()
    orders, adjustments = plan(sorted(erp), changes)
    sent = Drive()
    booked: list[tuple[str, Change]] = list(_sell(platforms, orders, erp, sent).items())
    time.sleep(BOOKING_DELAY)
    rng = random.Random(11)
    bursts, singles = adjustments[:ERP_BURST_SKUS], adjustments[ERP_BURST_SKUS:]
    adjusted: list[tuple[str, Change]] = [(sku, (None, _new(erp[sku], rng))) for sku in singles]
    # The ERP books the orders, then the adjustments, a few per notification, paced.
    for stream in (booked, adjusted):
        for start in range(0, len(stream), GROUP):
            _change_erp(platforms, watch, dict(stream[start : start + GROUP]), sent)
            time.sleep(PAUSE_SECONDS)
    for step in range(BURST):
        _change_erp(platforms, watch, {sku: (None, erp[sku] + 600 + step) for sku in bursts}, sent)
        time.sleep(0.1)
    _send_crafted(platforms, erp, sent)
    return sent


def _sell(
    platforms: Platforms, skus: Sequence[str], erp: Mapping[str, int], sent: Drive
) -> dict[str, Change]:
    """Orders in the stores: SKU -> (store it sold in, stock left), for the ERP to book."""
    booked: dict[str, Change] = {}
    for index, platform in enumerate(STORES):
        mine = list(skus[index :: len(STORES)])
        if not mine:
            continue
        store = platforms.stores[platform]
        left = {sku: max(0, erp[sku] - 1 - position % 3) for position, sku in enumerate(mine)}
        store.set_stock(left)
        hot = mine[0]
        for _ in range(BURST - 1):
            left[hot] = max(0, left[hot] - 1)
            store.set_stock({hot: left[hot]})
        sent.store_orders[platform] = len(mine) + BURST - 1
        booked.update({sku: (platform, quantity) for sku, quantity in left.items()})
    return booked


def _change_erp(
    platforms: Platforms, watch: ErpChanges, changes: Mapping[str, Change], sent: Drive
) -> None:
    """Set ERP stock (one notification) and tell the watch what each store should show.

    The store an order was sold in holds the number already and is not watched.
    """
    values = {sku: quantity for sku, (_sold_in, quantity) in changes.items()}
    at = time.time()
    platforms.erp.set_stock(values)
    for sku, (sold_in, _quantity) in changes.items():
        for platform in platforms.stores:
            if platform != sold_in:
                watch.expect(platform, sku, values[sku], at)
    sent.erp_changes += len(values)
    sent.erp_skus.update(values)
    sent.erp_notifications += 1


def _new(quantity: int, rng: random.Random) -> int:
    """A different quantity: mostly a delivery in, sometimes a stock count correcting it
    down (never below zero, never the same number)."""
    if rng.random() < 0.7 or quantity == 0:
        return quantity + rng.randint(1, 40)
    return max(0, quantity - rng.randint(1, 10))


def _send_crafted(platforms: Platforms, erp: Mapping[str, int], sent: Drive) -> None:
    accounts, registered, base = platforms.accounts, platforms.registered, platforms.receiver
    if "shopify" in platforms.stores:
        url = base + registered.webhook_path("shopify")
        secret = accounts["shopify"].sandbox["client_secret"]
        index = len(erp) // 2
        sent.crafted.append(deliveries.shopify_retries(url, secret, index, 5))
    if "woocommerce" in platforms.stores:
        url = base + registered.webhook_path("woocommerce")
        sent.crafted.append(deliveries.woocommerce_forged(url, product_id=1))
        secret = accounts["woocommerce"].webhook_secret
        sent.crafted.append(deliveries.woocommerce_malformed(url, secret))


def point_webhooks(platforms: Platforms, which: Sequence[str]) -> None:
    """Point each named platform's webhooks at the receiver (ERP or stores)."""
    for platform in which:
        sandbox = platforms.erp if platform == ERP else platforms.stores[platform]
        url = platforms.receiver + platforms.registered.webhook_path(platform)
        sandbox.configure(webhook_url=url)
