"""Latency benchmark: webhook to store, with no sync running and during a full sync.

    python -m bench.latency [--events 1000] [--items 100000] [--platform woocommerce]
                            [--rate 40] [--concurrency 2]

The real path end to end: an ERP sandbox changes the stock of `--events` distinct SKUs
(`--rate` a second, five per Business Central notification) and notifies the receiver
(gunicorn) over HTTP; the relay opens each SKU's dedupe window and queues it; a real
Celery worker reads the ERP after the window and writes the store sandbox. Twice:
first with nothing else running, then while a full sync of all `--items` SKUs (the
store drifted again by 10%) runs on the same worker.

Reported per phase: p50/p95/p99 of the webhook log's receipt-to-processed time (the
store written), and of ERP change to store write (`items.last_synced_at`, demo/watch.py);
how many events were processed while the sync was still running; the ratio of the
p95s. Target (issue 7): p95 under the dedupe window plus 1 s, with or without a sync.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Sequence
from contextlib import ExitStack
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bench.common import (
    bench_settings,
    format_seconds,
    fresh_redis,
    percentiles,
    report,
)
from bench.stack import SandboxSite, live_services, redrift, sandbox_site, wait_run
from demo.platforms import ERP, STORES
from demo.watch import ErpChanges
from models import EventKind, SyncRun, WebhookLog, WebhookStatus
from settings import Settings
from sync.runs import start_run
from workers.context import client_context

DATABASE = "stocksync_bench_latency"
REDIS_DB = 12
DRIFT = 0.1
#: SKUs per Business Central notification.
GROUP = 5
SETTLE_TIMEOUT = 600.0


def _send(site: SandboxSite, skus: Sequence[str], rate: float, changes: ErpChanges) -> int:
    """Change each SKU's ERP stock once, `rate` a second; the log id to count from."""
    erp = site.erp.stock()
    started = time.monotonic()
    for index in range(0, len(skus), GROUP):
        group = {sku: erp[sku] + 1000 + index for sku in skus[index : index + GROUP]}
        at = time.time()
        site.erp.set_stock(group)
        for sku, value in group.items():
            changes.expect(site.store.platform, sku, value, at)
        # Paced by the clock, not by sleeps adding up: the rate holds under load.
        time.sleep(max(0.0, started + (index + GROUP) / rate - time.monotonic()))
    return len(skus)


def _log_latencies(sessions: sessionmaker[Session], after_id: int) -> tuple[list[float], int]:
    """Receipt-to-processed seconds of the ERP events logged after `after_id`, and how
    many are not processed."""
    elapsed = func.extract("epoch", WebhookLog.processed_at - WebhookLog.received_at)
    with sessions() as session:
        rows = session.execute(
            select(WebhookLog.status, elapsed).where(
                WebhookLog.id > after_id, WebhookLog.kind == EventKind.ERP_ITEM_CHANGED
            )
        ).all()
    done = [float(s) for status, s in rows if status == WebhookStatus.PROCESSED]
    return done, len(rows) - len(done)


def _last_id(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return session.scalar(select(func.coalesce(func.max(WebhookLog.id), 0))) or 0


def _phase(
    sessions: sessionmaker[Session], site: SandboxSite, skus: Sequence[str], rate: float
) -> dict[str, Any]:
    """Send the events, wait until the store has them all; the phase's figures."""
    marker = _last_id(sessions)
    changes = ErpChanges({site.store.platform: site.site_id})
    started = time.monotonic()
    _send(site, skus, rate, changes)
    to_store = changes.wait(sessions, SETTLE_TIMEOUT)
    seconds = time.monotonic() - started
    logged, unprocessed = _log_latencies(sessions, marker)
    return {
        "events": len(skus),
        "marker": marker,
        "seconds": seconds,
        "unprocessed": unprocessed,
        "not_written": len(changes) - len(to_store),
        "log": percentiles(logged),
        "erp_to_store": percentiles(to_store),
    }


def measure(settings: Settings, site: SandboxSite, events: int, rate: float) -> dict[str, Any]:
    ctx = client_context(settings)
    sessions = ctx.sessions
    try:
        print("[latency] initial full sync (mirrors the catalog)", flush=True)
        wait_run(sessions, start_run(ctx, site.site_id, trigger="bench"), SETTLE_TIMEOUT)
        chosen = random.Random(3).sample(sorted(site.erp.stock()), 2 * events)
        print(f"[latency] {events} events, no sync running", flush=True)
        quiet = _phase(sessions, site, chosen[:events], rate)
        redrifted = redrift(site, DRIFT)
        run_id = start_run(ctx, site.site_id, trigger="bench")
        wait_run(sessions, run_id, SETTLE_TIMEOUT, cut=True)
        print(f"[latency] {events} events during a full sync ({redrifted} SKUs to fix)")
        busy = _phase(sessions, site, chosen[events:], rate)
        with sessions() as session:
            still_running = _processed_before(session, busy["marker"], run_id)
        run = wait_run(sessions, run_id, SETTLE_TIMEOUT)
        busy["sync"] = {"status": str(run.status), "synced": run.synced, "total": run.total}
        busy["processed_during_sync"] = still_running
        return {"quiet": quiet, "during_sync": busy}
    finally:
        ctx.dispose()


def _processed_before(session: Session, after_id: int, run_id: int) -> int:
    """ERP events of the phase processed before the run finished (all, if it has not)."""
    run = session.get_one(SyncRun, run_id)
    query = (
        select(func.count())
        .select_from(WebhookLog)
        .where(
            WebhookLog.kind == EventKind.ERP_ITEM_CHANGED,
            WebhookLog.status == WebhookStatus.PROCESSED,
            WebhookLog.id > after_id,
        )
    )
    if run.finished_at is not None:
        query = query.where(WebhookLog.processed_at <= run.finished_at)
    return int(session.scalar(query) or 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--platform", choices=STORES, default="woocommerce")
    parser.add_argument("--rate", type=float, default=40.0, help="ERP changes per second")
    parser.add_argument("--concurrency", type=int, default=None, help="worker processes")
    args = parser.parse_args()
    if 2 * args.events > args.items:
        sys.exit("--items must be at least twice --events (each phase changes its own SKUs)")

    settings = fresh_redis(bench_settings(DATABASE), REDIS_DB)
    concurrency = args.concurrency or settings.worker_concurrency
    with ExitStack() as stack:
        ctx = client_context(settings)
        stack.callback(ctx.dispose)
        site = sandbox_site(stack, ctx, args.platform, items=args.items, drift=DRIFT)
        receiver = live_services(stack, settings, concurrency, "latency-worker.log")
        site.erp.configure(webhook_url=receiver + site.registered.webhook_path(ERP))
        results = measure(settings, site, args.events, args.rate)
    _report(results, args, concurrency, settings.dedupe_window_seconds)


def _report(results: dict[str, Any], args: Any, concurrency: int, window: float) -> None:
    quiet, busy = results["quiet"], results["during_sync"]
    ratio = None
    if quiet["log"]["p95"] and busy["log"]["p95"]:
        ratio = busy["log"]["p95"] / quiet["log"]["p95"]
    rows = [_row("no sync running", quiet, window)]
    rows.append(_row(f"during a {args.items:,}-SKU full sync", busy, window))
    report(
        "latency",
        [
            "phase",
            "events",
            "p50 s",
            "p95 s",
            "p99 s",
            "ERP->store p50",
            "p95",
            "p99",
            f"p95 < {window + 1:g} s",
        ],
        rows,
        {
            "events": args.events,
            "items": args.items,
            "platform": args.platform,
            "rate_per_second": args.rate,
            "concurrency": concurrency,
            "dedupe_window_seconds": window,
            "results": results,
            "ratio_p95": ratio,
            "targets": {"p95_seconds_max": window + 1},
        },
    )
    overlap = busy.get("processed_during_sync", 0)
    print(f"\np95 during the sync / p95 without: {ratio:.2f}x" if ratio else "")
    print(f"events processed while the sync was still running: {overlap} of {busy['events']}")


def _row(name: str, phase: dict[str, Any], window: float) -> list[Any]:
    log, e2s = phase["log"], phase["erp_to_store"]
    met = "-" if log["p95"] is None else ("met" if log["p95"] < window + 1 else "NOT met")
    return [
        name,
        phase["events"],
        *(format_seconds(log[p]) for p in ("p50", "p95", "p99")),
        *(format_seconds(e2s[p]) for p in ("p50", "p95", "p99")),
        met,
    ]


if __name__ == "__main__":
    main()
