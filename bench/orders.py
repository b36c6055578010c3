"""Store-order benchmark: an order on one store to its sibling's new number (issue 20).

    python -m bench.orders [--orders 200] [--items 2000] [--rate 5]
                           [--store-a woocommerce] [--store-b bigcommerce] [--concurrency 2]

The real path end to end: a Business Central sandbox and two store sandboxes, A and B,
both sites of the one source and synced first; the receiver (gunicorn), the relay and
a real Celery worker. Two phases on distinct SKUs, `--orders` events each at `--rate` a
second:

1. the baseline, ERP changes: the ERP's stock of a SKU changes and it notifies the
   receiver, which waits out the SKU's dedupe window before a worker reads the ERP
   and writes the stores (what bench/latency.py measures);
2. store orders: an order of 1 unit is placed on A through its sandbox (which sends
   the platform's signed order webhooks), and B must drop by it at once.

Each event is timed from the moment it was made to the moment B's level of the SKU
differs from before it, seen by polling B's `/_sandbox/stock` every `POLL_SECONDS`
(so a figure is late by up to that much plus one read, the same in both phases): the
number a shopper on B sees, whatever stocksync believes it wrote. Reported: p50/p95/p99
and the count per phase, the ratio of the p95s (orders / ERP), and how many write
requests A and B took in the order phase. A should take none: it lowered itself when
it took each order (sync/store_orders.py), so a write there would be a second decrement
or a write over the sale. Target: orders p95 under the dedupe window + 1 s, like an ERP
change (issue 20); nothing is asserted, the checks are printed.
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from typing import Any

import requests
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bench.common import (
    bench_settings,
    format_seconds,
    fresh_redis,
    percentiles,
    report,
)
from bench.stack import live_services, sandbox_sites, wait_run
from demo.platforms import ERP, STORES, Sandbox
from models import WebhookLog, WebhookStatus
from settings import Settings
from sync.runs import start_run
from workers.context import client_context

DATABASE = "stocksync_bench_orders"
#: This benchmark's own Redis database (bench/common.py `fresh_redis`).
REDIS_DB = 13
#: How often B's stock is read back while events are outstanding.
POLL_SECONDS = 0.1
SETTLE_TIMEOUT = 300.0
#: The body of an order of one unit of a SKU, by the platform of the store taking it
#: (each sandbox's `POST /_sandbox/orders`): paid at once, so every store counts it.
ORDER_BODY: dict[str, Callable[[str], dict[str, Any]]] = {
    "woocommerce": lambda sku: {"lines": [{"sku": sku, "quantity": 1}], "status": "processing"},
    "shopify": lambda sku: {"lines": [{"sku": sku, "quantity": 1}]},
    # 11: Awaiting Fulfillment, a paid order.
    "bigcommerce": lambda sku: {"lines": [{"sku": sku, "quantity": 1}], "status_id": 11},
}


class LevelWatch:
    """Polls a store's stock in a thread until each watched SKU's level moves; the
    seconds from each event to the first read that saw it move."""

    def __init__(self, store: Sandbox) -> None:
        # A client of its own: the main thread keeps using `store` meanwhile.
        self._store = Sandbox(store.platform, store.url)
        self._lock = threading.Lock()
        #: sku -> (level before the event, epoch seconds of the event)
        self._pending: dict[str, tuple[int, float]] = {}
        self.moved: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="level-watch", daemon=True)

    def __enter__(self) -> LevelWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def expect(self, sku: str, before: int, at: float) -> None:
        with self._lock:
            self._pending[sku] = (before, at)

    def wait(self, timeout: float) -> int:
        """Until every watched SKU moved or `timeout` s passed; how many never moved."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._pending:
                    return 0
            time.sleep(POLL_SECONDS)
        with self._lock:
            return len(self._pending)

    def _run(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            with self._lock:
                if not self._pending:
                    continue
            stock = self._store.stock()
            seen = time.time()
            with self._lock:
                for sku, (before, at) in list(self._pending.items()):
                    if stock[sku] != before:
                        self.moved[sku] = seen - at
                        del self._pending[sku]


def _paced(skus: Sequence[str], rate: float, act: Callable[[str], None]) -> None:
    """`act` on each SKU, `rate` a second, paced by the clock (bench/latency.py)."""
    started = time.monotonic()
    for index, sku in enumerate(skus):
        act(sku)
        time.sleep(max(0.0, started + (index + 1) / rate - time.monotonic()))


def _phase(
    store_b: Sandbox, skus: Sequence[str], rate: float, act: Callable[[str], None]
) -> dict[str, Any]:
    """`act` on each SKU at `rate`; B's figures for it once every SKU moved on B."""
    stock = store_b.stock()
    before = {sku: stock[sku] for sku in skus}
    with LevelWatch(store_b) as watch:

        def timed(sku: str) -> None:
            watch.expect(sku, before[sku], time.time())
            act(sku)

        _paced(skus, rate, timed)
        never = watch.wait(SETTLE_TIMEOUT)
    return {
        "events": len(skus),
        "not_moved": never,
        "to_b": percentiles(list(watch.moved.values())),
    }


def _events_pending(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(WebhookLog)
                .where(WebhookLog.status.in_((WebhookStatus.RECEIVED, WebhookStatus.QUEUED)))
            )
            or 0
        )


def _settle(sessions: sessionmaker[Session], window: float) -> None:
    """Until every logged event is processed, then a dedupe window more and again: a
    store's own stock webhook for an order may open a window of its own."""
    for _ in range(2):
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while _events_pending(sessions) and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(window + 1)


def _chosen(sandboxes: Mapping[str, Sandbox], count: int) -> list[str]:
    """`count` SKUs every sandbox holds at least 2 of, at random (seeded)."""
    stocks = [sandbox.stock() for sandbox in sandboxes.values()]
    common = sorted(sku for sku in stocks[0] if all(s.get(sku, 0) >= 2 for s in stocks))
    if len(common) < count:
        sys.exit(f"only {len(common)} SKUs are stocked everywhere: raise --items")
    return random.Random(7).sample(common, count)


def measure(
    settings: Settings, sandboxes: Mapping[str, Sandbox], site_ids: Sequence[int], args: Any
) -> dict[str, Any]:
    ctx = client_context(settings)
    sessions = ctx.sessions
    erp, store_a, store_b = (sandboxes[p] for p in (ERP, args.store_a, args.store_b))
    try:
        print("[orders] initial full sync of both stores", flush=True)
        for run_id in [start_run(ctx, site_id, trigger="bench") for site_id in site_ids]:
            wait_run(sessions, run_id, SETTLE_TIMEOUT)
        skus = _chosen(sandboxes, 2 * args.orders)
        window = settings.dedupe_window_seconds

        print(f"[orders] {args.orders} ERP changes (the baseline)", flush=True)
        erp_stock = erp.stock()
        erp_phase = _phase(
            store_b,
            skus[: args.orders],
            args.rate,
            lambda s: erp.set_stock({s: erp_stock[s] + 100}),
        )
        _settle(sessions, window)

        print(f"[orders] {args.orders} orders on {args.store_a}", flush=True)
        store_a.reset_stats()
        store_b.reset_stats()
        body = ORDER_BODY[args.store_a]
        order_phase = _phase(
            store_b, skus[args.orders :], args.rate, lambda s: _place(store_a, body(s))
        )
        _settle(sessions, window)
        order_phase["writes_a"] = store_a.stats()["write_calls"]
        order_phase["writes_b"] = store_b.stats()["write_calls"]
        return {"erp_changes": erp_phase, "orders": order_phase}
    finally:
        ctx.dispose()


def _place(store: Sandbox, body: dict[str, Any]) -> None:
    """Play a shopper on `store`: its sandbox sends the platform's order webhooks."""
    answer = requests.post(f"{store.url}/_sandbox/orders", json=body, timeout=30)
    if answer.status_code != 201:
        raise RuntimeError(f"{store.platform}: order refused: {answer.status_code} {answer.text}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=5.0, help="events per second")
    parser.add_argument("--store-a", choices=STORES, default="woocommerce", help="takes orders")
    parser.add_argument("--store-b", choices=STORES, default="bigcommerce", help="is timed")
    parser.add_argument("--concurrency", type=int, default=None, help="worker processes")
    args = parser.parse_args()
    if args.store_a == args.store_b:
        sys.exit("--store-a and --store-b must be different platforms")

    settings = fresh_redis(bench_settings(DATABASE), REDIS_DB)
    concurrency = args.concurrency or settings.worker_concurrency
    with ExitStack() as stack:
        ctx = client_context(settings)
        stack.callback(ctx.dispose)
        stores = [args.store_a, args.store_b]
        sandboxes, _, registered = sandbox_sites(stack, ctx, stores, items=args.items, drift=0.0)
        receiver = live_services(stack, settings, concurrency, "orders-worker.log")
        for platform, sandbox in sandboxes.items():
            sandbox.configure(webhook_url=receiver + registered.webhook_path(platform))
        site_ids = [registered.site_ids[p] for p in stores]
        results = measure(settings, sandboxes, site_ids, args)
    _report(
        results, args, (concurrency, settings.events_concurrency), settings.dedupe_window_seconds
    )


def _report(results: dict[str, Any], args: Any, processes: tuple[int, int], window: float) -> None:
    """`processes`: the main worker's and the events worker's."""
    concurrency, events_concurrency = processes
    erp, orders = results["erp_changes"], results["orders"]
    ratio = None
    if erp["to_b"]["p95"] and orders["to_b"]["p95"]:
        ratio = orders["to_b"]["p95"] / erp["to_b"]["p95"]
    rows = [
        _row(f"ERP change -> {args.store_b}", erp, window),
        _row(f"order on {args.store_a} -> {args.store_b}", orders, window),
    ]
    report(
        "orders",
        ["event", "events", "moved", "p50 s", "p95 s", "p99 s", f"p95 < {window + 1:g} s"],
        rows,
        {
            "orders": args.orders,
            "items": args.items,
            "rate_per_second": args.rate,
            "store_a": args.store_a,
            "store_b": args.store_b,
            "concurrency": concurrency,
            "events_concurrency": events_concurrency,
            "dedupe_window_seconds": window,
            "poll_seconds": POLL_SECONDS,
            "results": results,
            "ratio_p95": ratio,
            "targets": {"p95_seconds_max": window + 1, "writes_a": 0},
        },
    )
    if ratio:
        print(f"\np95 of orders / p95 of ERP changes: {ratio:.2f}x")
    print(
        f"write requests in the order phase: {args.store_a} (A, took the orders) "
        f"{orders['writes_a']} (should be 0: {'yes' if orders['writes_a'] == 0 else 'NO'}), "
        f"{args.store_b} (B) {orders['writes_b']}"
    )


def _row(name: str, phase: dict[str, Any], window: float) -> list[Any]:
    to_b = phase["to_b"]
    met = "-" if to_b["p95"] is None else ("met" if to_b["p95"] < window + 1 else "NOT met")
    return [
        name,
        phase["events"],
        phase["events"] - phase["not_moved"],
        *(format_seconds(to_b[p]) for p in ("p50", "p95", "p99")),
        met,
    ]


if __name__ == "__main__":
    main()
