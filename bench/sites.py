"""Many sites on one source: the nightly wave's ERP calls, fairness and wall time.

    python -m bench.sites [--sites 1 10 50] [--items 2000] [--latency 0 50]
                          [--workers 1 2 4] [--erp businesscentral zoho]
                          [--platforms woocommerce shopify]

For each ERP, latency and N of `--sites`, one ERP sandbox and N store sandboxes (10% of
each store's SKUs at other quantities, every call answered after `--latency` ms) are
registered as one source and its N sites, in a fresh database; a real `celery -A
workers worker` of `--workers` processes runs them. All N runs are started together,
as the nightly beat starts them (`sync.runs.start_all`), and the wave ends when every
run has finished. Measured (issue 22, items 2 and 4):

1. ERP calls: every request the ERP sandbox answered during the wave, against the
   same for 1 site in the same invocation (1 is always run first as the baseline).
   Target: ERP calls(N) <= 1.1 x ERP calls(1), since the ERP read is shared by every
   run of the source (sync/erp_reads.py).
2. Fairness: per site, its first batch's and its run's finish relative to the wave's
   start (the earliest run's `created_at`), from `sync_batches` and `sync_runs`: the
   latest first batch, the median and longest run, and whether every site made
   progress before any finished (latest first batch < earliest run end). The runs
   share `BATCHES_IN_FLIGHT` batches in the queue (each at least 2) and each queues
   its next as one ends (sync/runs.py `fill_window`), so the sites' batches take
   turns; the catalog listings, queued first by the runs' start tasks, still come
   before any batch.
3. Wall time of the wave (first run created to last run finished), SKUs/s over all
   sites, and the ratio to 1 site's.
4. Scale-out (issue 22, item 6), with several `--workers` counts: each wave is run
   once per count, and the efficiency of w processes is SKU/s(w) / (w / w0 x
   SKU/s(w0)), w0 the smallest count. Target at 4 processes, 50 ms a call: >= 0.8.
   Processes share this machine's cores; a wave with calls of 50 ms waits more than it
   computes, which is the case the target is set for.

Why one process per store sandbox: `demo.platforms.start_sandbox` serves one account per
process, and the stores' request threads must not share an interpreter with each other's
catalogs any more than with what is measured. Each is a Flask process of about 105 MB
RSS at 2,000 SKUs (measured 2026-12-05), so 50 take about 5 GB of this machine's
24 GiB: the limit is memory, not ports; serving several stores from one process would
need the sandbox to route by account, which it does not. `--platforms` cycles through
the list given.
"""

from __future__ import annotations

import argparse
import statistics
import time
from contextlib import ExitStack
from datetime import datetime
from itertools import cycle, islice
from typing import Any

from sqlalchemy import func, select

from bench.common import MachineCpu, bench_settings, fresh_redis, report
from bench.stack import Fleet, celery_worker, sandbox_fleet
from demo.platforms import STORES
from models import SyncBatch, SyncRun
from sandbox.accounts import ERPS
from sync.runs import start_all
from workers.context import client_context

DATABASE = "stocksync_bench_sites"
#: This benchmark's own Redis database (bench/common.py `fresh_redis`).
REDIS_DB = 4
DRIFT = 0.1
#: Longest a whole wave may take before the case is reported as timed out.
WAVE_TIMEOUT = 3600.0
#: ERP calls(N sites) at most this times ERP calls(1 site) (issue 22, item 2).
ERP_RATIO_MAX = 1.1
#: Throughput efficiency at 4 worker processes, at least (issue 22, item 6).
EFFICIENCY_MIN = 0.8


def run_case(
    erp: str, platforms: list[str], items: int, latency_ms: float, workers: int
) -> dict[str, Any]:
    """One wave of `len(platforms)` sites on one source, in a fresh database; its figures."""
    settings = fresh_redis(bench_settings(DATABASE), REDIS_DB)
    with ExitStack() as stack:
        ctx = client_context(settings)
        stack.callback(ctx.dispose)
        fleet = sandbox_fleet(
            stack, ctx, erp, platforms, items=items, drift=DRIFT, latency_ms=latency_ms
        )
        log = settings.home / "bench-sites-worker.log"
        stack.enter_context(celery_worker(settings, workers, log))
        fleet.erp.reset_stats()
        with MachineCpu() as cpu:
            started = start_all(ctx, trigger="bench")
            run_ids = [entry["run_id"] for entry in started["started"]]
            assert not started["skipped"], started["skipped"]
            runs = _wait_all(ctx.sessions, run_ids)
        erp_stats = fleet.erp.stats()
        # The wave's result, not only its timing: a run that finished without writing
        # what its readings said would look fast here.
        erp_stock = fleet.erp.stock()
        left = [_differing(erp_stock, store.stock()) for store in fleet.stores]
        with ctx.sessions() as session:
            firsts = dict(
                session.execute(
                    select(SyncBatch.run_id, func.min(SyncBatch.finished_at))
                    .where(SyncBatch.run_id.in_(run_ids))
                    .group_by(SyncBatch.run_id)
                ).all()
            )
    result = _figures(fleet, runs, firsts, erp_stats, items, cpu.busy)
    return {**result, "left_differing": sum(left)}


def _differing(erp: dict[str, int], store: dict[str, int]) -> int:
    """SKUs whose store stock is not the ERP's after the wave."""
    return sum(1 for sku, quantity in erp.items() if store.get(sku) != quantity)


def _wait_all(sessions: Any, run_ids: list[int]) -> list[SyncRun]:
    """Until every run has finished; the runs."""
    deadline = time.monotonic() + WAVE_TIMEOUT
    while True:
        with sessions() as session:
            runs = list(session.scalars(select(SyncRun).where(SyncRun.id.in_(run_ids))))
        if all(run.finished_at is not None for run in runs):
            return runs
        if time.monotonic() > deadline:
            raise RuntimeError(f"the wave did not finish within {WAVE_TIMEOUT:.0f} s")
        time.sleep(0.2)


def _figures(
    fleet: Fleet,
    runs: list[SyncRun],
    firsts: dict[int, datetime | None],
    erp_stats: dict[str, Any],
    items: int,
    cpu_seconds: float,
) -> dict[str, Any]:
    """Per-site times relative to the wave's start, and the wave's spread."""
    start = min(run.created_at for run in runs)
    per_site = []
    for run in sorted(runs, key=lambda r: r.site_id):
        first = firsts.get(run.id)
        assert run.finished_at is not None
        per_site.append(
            {
                "site_id": run.site_id,
                "status": str(run.status),
                "first_batch_s": (first - start).total_seconds() if first else None,
                "run_end_s": (run.finished_at - start).total_seconds(),
                "run_s": (run.finished_at - run.created_at).total_seconds(),
                "synced": run.synced,
                "failed": run.failed,
            }
        )
    firsts_s = [s["first_batch_s"] for s in per_site if s["first_batch_s"] is not None]
    ends = [s["run_end_s"] for s in per_site]
    durations = [s["run_s"] for s in per_site]
    latest_first = max(firsts_s) if firsts_s else None
    wall = max(ends)
    return {
        "sites": len(runs),
        "erp_calls": erp_stats["calls"],
        "erp_route_calls": erp_stats.get("route_calls"),
        "wall_seconds": wall,
        "skus_per_second": items * len(runs) / wall,
        "latest_first_batch_s": latest_first,
        "earliest_end_s": min(ends),
        "median_run_s": statistics.median(durations),
        "max_run_s": max(durations),
        "all_progressed_at_once": latest_first is not None
        and len(firsts_s) == len(runs)
        and latest_first < min(ends),
        "statuses": sorted({s["status"] for s in per_site}),
        "failed": sum(s["failed"] for s in per_site),
        "cpu_seconds": cpu_seconds,
        "per_site": per_site,
        "stores": [store.url for store in fleet.stores],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sites", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--latency", type=float, nargs="+", default=[0.0])
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[2], help="worker processes, one wave each"
    )
    parser.add_argument("--erp", nargs="+", choices=ERPS, default=["businesscentral"])
    parser.add_argument("--platforms", nargs="+", choices=STORES, default=["woocommerce"])
    args = parser.parse_args()
    counts = sorted({1, *args.sites})

    cases: dict[str, dict[str, Any]] = {}
    rows = []
    for erp in args.erp:
        for latency in args.latency:
            for workers in sorted(args.workers):
                base: dict[str, Any] | None = None
                for n in counts:
                    name = f"{erp} {n} sites {args.items} {latency:g}ms {workers}w"
                    print(f"[sites] {name} ...", flush=True)
                    platforms = list(islice(cycle(args.platforms), n))
                    result = run_case(erp, platforms, args.items, latency, workers)
                    base = base or result
                    result["workers"] = workers
                    result["erp_ratio"] = result["erp_calls"] / base["erp_calls"]
                    result["wall_ratio"] = result["wall_seconds"] / base["wall_seconds"]
                    result["erp_target_met"] = n == 1 or result["erp_ratio"] <= ERP_RATIO_MAX
                    least = cases.get(
                        f"{erp} {n} sites {args.items} {latency:g}ms {min(args.workers)}w", result
                    )
                    result["efficiency"] = result["skus_per_second"] / (
                        workers / least["workers"] * least["skus_per_second"]
                    )
                    cases[name] = result
                    _say(name, result)
                    rows.append(_row(erp, n, args.items, latency, result))
    report(
        "sites",
        [
            "ERP",
            "sites",
            "SKUs/site",
            "latency",
            "workers",
            "efficiency",
            "ERP calls",
            "vs 1 site",
            "<= 1.1x",
            "wall s",
            "vs 1 site",
            "SKU/s",
            "latest 1st batch s",
            "median run s",
            "max run s",
            "all at once",
            "status",
        ],
        rows,
        {
            "drift": DRIFT,
            "platforms": args.platforms,
            "cases": cases,
            "targets": {"erp_calls_ratio_max": ERP_RATIO_MAX, "efficiency_min": EFFICIENCY_MIN},
        },
    )


def _say(name: str, r: dict[str, Any]) -> None:
    first = r["latest_first_batch_s"]
    print(
        f"[sites] {name}: ERP calls {r['erp_calls']} ({r['erp_ratio']:.2f}x 1 site, "
        f"target {'met' if r['erp_target_met'] else 'NOT met'}); wave {r['wall_seconds']:.1f} s "
        f"({r['wall_ratio']:.2f}x 1 site), {r['skus_per_second']:,.0f} SKU/s; latest first "
        f"batch {'-' if first is None else f'{first:.1f}'} s, earliest run end "
        f"{r['earliest_end_s']:.1f} s, run median {r['median_run_s']:.1f} s max "
        f"{r['max_run_s']:.1f} s; all sites progressed at once: {r['all_progressed_at_once']}; "
        f"efficiency {r['efficiency']:.2f} (at 4 processes, target >= {EFFICIENCY_MIN})",
        flush=True,
    )


def _row(erp: str, n: int, items: int, latency: float, r: dict[str, Any]) -> list[Any]:
    first = r["latest_first_batch_s"]
    return [
        erp,
        n,
        f"{items:,}",
        f"{latency:g} ms",
        r["workers"],
        f"{r['efficiency']:.2f}",
        r["erp_calls"],
        f"{r['erp_ratio']:.2f}x",
        "yes" if r["erp_target_met"] else "no",
        r["wall_seconds"],
        f"{r['wall_ratio']:.2f}x",
        f"{r['skus_per_second']:,.0f}",
        "-" if first is None else f"{first:.1f}",
        r["median_run_s"],
        r["max_run_s"],
        "yes" if r["all_progressed_at_once"] else "no",
        ",".join(r["statuses"])
        + (f" {r['failed']} failed" if r["failed"] else "")
        + (f" {r['left_differing']} differ" if r["left_differing"] else ""),
    ]


if __name__ == "__main__":
    main()
