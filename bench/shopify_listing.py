"""Shopify at the Standard plan: a catalog listed and its drift written, by cursor pages
and by a bulk operation (connectors/shopify_bulk.py), with wall time and cost points.

    python -m bench.shopify_listing [--items 20000] [--modes pages bulk]

The Shopify sandbox runs in a process of its own at the Standard plan's cost bucket
(100 points a second, sandbox.shopify.cost) with `DRIFT` of its variants off the ERP's
quantity. The connector lists the catalog through the shop's real shared budget
(sync/cost_points.py `PointsBudget` on Redis, `REDIS_URL`, default DB 9) and writes
the ERP's quantity to every SKU that differs, as a full sync's catalog refresh and
batches do, without the worker, queue and database around them: at this plan the
store's points are the whole of the difference (about 802 s of points for 20,000
variants by pages), the rest of a full sync taking seconds (bench/fullsync.py).

Measured 2026-12-06 (2 shared cores, tests running beside it), 20,000 variants, 2,013
written: by pages 793.2 s (listing 792.3 s), 80,293 points, 111 Admin calls; by a bulk
operation 7.9 s (listing 7.8 s, the sandbox running 5,000 objects a second), 108
points, 17 Admin calls and one file download; 0 THROTTLED both.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import redis
import requests

from connectors.registry import build_storefront
from connectors.shopify import ShopifyStore
from connectors.types import CostReport, StockUpdate
from models import Platform
from sandbox.base import SandboxConfig
from sandbox.catalog import erp_quantity
from sandbox.server import running_in_subprocess
from sync.cost_points import PLATFORM_POINTS, PointsBudget

DRIFT = 0.1
TOKEN = "shpat_bench"


class Counted(PointsBudget):
    """The shop's budget, adding up what each call was charged (Shopify's actual cost)."""

    charged = 0.0

    def settle(self, requested: float, report: CostReport | None) -> None:
        self.charged += report.actual if report and report.actual is not None else 0.0
        super().settle(requested, report)


def run(mode: str, items: int, client: redis.Redis) -> dict[str, Any]:
    config = SandboxConfig(
        items=items, drift=DRIFT, plan="standard", credentials={"access_token": TOKEN}
    )
    owner = f"bench-shopify-listing:{mode}:{time.time_ns()}"
    with running_in_subprocess("shopify", config) as url:
        store = build_storefront("shopify", url, {"access_token": TOKEN})
        assert isinstance(store, ShopifyStore)
        if mode == "pages":
            store.bulk_above = 10**9
        meter = store.meter = Counted(client, owner, PLATFORM_POINTS[Platform.SHOPIFY])
        started = time.monotonic()
        updates: list[StockUpdate] = []
        listed = 0
        for page in store.iter_pages():
            listed += len(page.products)
            updates.extend(
                StockUpdate(p.sku, p.product_id, p.variant_id, erp_quantity(p.sku), p.quantity)
                for p in page.products
                if p.quantity != erp_quantity(p.sku)
            )
        listing = time.monotonic() - started
        results = store.set_stock(updates)
        seconds = time.monotonic() - started
        stats = requests.get(f"{url}/_sandbox/stats", timeout=30).json()
    return {
        "mode": mode,
        "items": items,
        "listed": listed,
        "written": sum(r.ok for r in results),
        "listing_s": round(listing, 1),
        "seconds": round(seconds, 1),
        "points": meter.charged,
        "admin_calls": stats["routes"].get("POST /admin/api/<version>/graphql.json", 0),
        "file_downloads": stats["routes"].get("GET /_files/bulk/<token>.jsonl", 0),
        "throttled": stats["rejected_429"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--modes", nargs="+", choices=["pages", "bulk"], default=["bulk", "pages"])
    args = parser.parse_args()
    client = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/9"))
    for mode in args.modes:
        print(run(mode, args.items, client), flush=True)


if __name__ == "__main__":
    main()
