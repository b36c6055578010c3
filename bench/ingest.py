"""Ingest benchmark: the webhook receiver under gunicorn against two baselines.

    python -m bench.ingest [--seconds 10] [--connections 32] [--rounds 3] [--log-level INFO]

The baselines: a bare Flask route answering 200 (bench/bare_app.py), and the durable
floor (bench/durable_app.py): the bare route plus the HMAC check and one durable INSERT
per request, the least a receiver that never loses an accepted event must do. All three
apps run under the web process's own gunicorn settings (api/gunicorn_conf.py: 2
gevent workers; the receiver's concurrent requests share one commit, api/intake.py)
and get the same load over loopback: WooCommerce and Shopify deliveries signed by the
sandboxes' own formulas (sandbox/woocommerce/webhooks.py, sandbox/shopify/webhooks.py)
with their default accounts' secrets, each for a different product (so none is
coalesced away), from wrk (Debian's package) when present, else a
Python load generator. The receiver runs on real PostgreSQL and Redis (DATABASE_URL /
REDIS_URL, else embedded), with the relay (`stocksync relay`) running beside it, since
every accepted row costs its share there too. Targets: at least half the bare route's
req/s (issue 7), at least the durable floor's (issue 22), p99 under 50 ms at 32
connections.

The receiver and the relay log at `--log-level`, by default INFO, a deployment's default
(`LOG_LEVEL`): one JSON line per accepted webhook, which cost the receiver about 12 % of
its req/s against WARNING in four alternating runs (3,206-3,305 against 3,644-3,700).
The lines go to /dev/null, so what a log collector costs is not counted.

The apps take turns for `--rounds` rounds and each figure is the median of its
rounds: on a shared 2-core machine one 10-second run of each gave ratios from 0.32x
to 0.39x minutes apart, as neighbours' load came and went.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench import durable_app
from bench.common import ROOT, bench_settings, child_env, fresh_redis, gunicorn, process, report
from bench.loadgen import python_load
from embedded.ports import free_port
from models.db import make_engine
from sandbox.accounts import DEFAULTS
from sandbox.shopify import webhooks as shopify
from sandbox.woocommerce import webhooks as woocommerce
from sync.sites import add_site
from sync.sources import add_source
from workers.context import client_context

DATABASE = "stocksync_bench_ingest"
#: The relay's messages go here, emptied at the start, not onto another run's queues.
REDIS_DB = 10
BARE, FLOOR, RECEIVER = "bare Flask route", "durable floor", "receiver"
APPS = {BARE: "bench.bare_app:app", FLOOR: "bench.durable_app:app", RECEIVER: "api.wsgi:app"}
#: Receiver req/s at least these times each baseline's.
RATIO_MIN = {BARE: 0.5, FLOOR: 1.0}
#: The accounts whose secrets sign the deliveries and verify them on the sites.
WOOCOMMERCE, SHOPIFY = DEFAULTS["woocommerce"], DEFAULTS["shopify"]


#: Keys of the bench's source and sites: nothing behind them is ever called.
BC_KEYS = {"tenant_id": "t", "client_id": "c", "client_secret": "s", "company_id": "co"}


def register_sites(settings: Any) -> tuple[int, int]:
    """A source and the WooCommerce and Shopify sites the deliveries are signed for;
    their ids (also bench/instructions.py's)."""
    ctx = client_context(settings)
    try:
        add_source(
            ctx,
            name="erp",
            kind="businesscentral",
            base_url="http://127.0.0.1:1",
            credentials=BC_KEYS,
            check=False,
        )
        wc = add_site(
            ctx,
            name="wc",
            platform="woocommerce",
            base_url="http://127.0.0.1:1",
            source="erp",
            credentials={"consumer_key": "ck_bench", "consumer_secret": "cs_bench"},
            webhook_secret=WOOCOMMERCE.receiver_secret(),
            check=False,
        )
        shop = add_site(
            ctx,
            name="shop",
            platform="shopify",
            base_url="http://127.0.0.1:1",
            source="erp",
            credentials={"access_token": "shpat_bench"},
            webhook_secret=SHOPIFY.receiver_secret(),
            check=False,
        )
    finally:
        ctx.dispose()
    return wc["id"], shop["id"]


def delivery_lines(count: int, wc_site: int, shop_site: int) -> Iterator[str]:
    """One line per request: path, headers, body; half WooCommerce, half Shopify."""
    for i in range(count):
        if i % 2:
            path, (body, headers) = f"/webhooks/woocommerce/{wc_site}", _woocommerce_update(i)
        else:
            # REST ids start at 1: the receiver refuses id 0 (api/webhooks/shopify.py).
            path, (body, headers) = f"/webhooks/shopify/{shop_site}", _shopify_update(i + 1)
        header_line = "|".join(f"{k}: {v}" for k, v in headers.items())
        yield f"{path}\t{header_line}\t{body.decode()}"


def _woocommerce_update(product_id: int) -> tuple[bytes, dict[str, str]]:
    """A `product.updated`; its id and modification time are its idempotency key."""
    modified = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
    body = woocommerce.encode_body(
        {
            "id": product_id,
            "sku": "SKU-1",
            "parent_id": 0,
            "type": "simple",
            "date_modified_gmt": modified,
        }
    )
    secret = WOOCOMMERCE.webhook_secret
    headers = woocommerce.delivery_headers(
        source="http://shop.test/", resource="product", event="updated", secret=secret, body=body
    )
    return body, headers


def _shopify_update(product_id: int) -> tuple[bytes, dict[str, str]]:
    """A `products/update`; each gets its own `X-Shopify-Webhook-Id`, the idempotency key."""
    body = json.dumps({"id": product_id, "title": "Thing", "variants": []}).encode()
    secret = SHOPIFY.sandbox["client_secret"]
    return body, shopify.delivery_headers(topic="products/update", secret=secret, body=body)


def _wrk(url: str, requests_file: Path, seconds: int, connections: int) -> dict[str, float]:
    threads = 2
    result = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(ROOT / "bench" / "requests.lua"),
            url,
        ],
        env={
            "REQUESTS": str(requests_file),
            "WRK_THREADS": str(threads),
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        check=True,
    )
    out = result.stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50_ms": _ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1)),  # type: ignore[union-attr]
        "p99_ms": _ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1)),  # type: ignore[union-attr]
        "non_2xx": float(errors.group(1)) if errors else 0.0,
    }


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def _load(url: str, requests_file: Path, seconds: int, connections: int) -> dict[str, float]:
    if shutil.which("wrk"):
        return _wrk(url, requests_file, seconds, connections)
    return python_load(url, requests_file, seconds, connections)


def empty_log(settings: Any) -> None:
    """Empty the webhook log and the delivery-id memory, so replayed deliveries are not
    duplicates of a last run's, and the durable floor's table (made here the first
    time), so each app writes into an empty table."""
    engine = make_engine(settings.database_url)
    with engine.begin() as conn:
        conn.execute(durable_app.CREATE)
        conn.execute(text(f"TRUNCATE webhook_log, webhook_deliveries, {durable_app.TABLE}"))
    engine.dispose()


def _round(
    settings: Any, app: str, requests_file: Path, args: argparse.Namespace
) -> dict[str, float]:
    """One load run against `app`, started fresh (the receiver with its relay, on an
    empty log: the deliveries replayed each round would otherwise all be duplicates)."""
    empty_log(settings)
    port = free_port()
    env = child_env(settings, LOG_LEVEL=args.log_level)
    with ExitStack() as stack:
        if app == APPS[RECEIVER]:
            relay = [sys.executable, "-m", "cli.main", "relay"]
            stack.enter_context(process(relay, env))
        stack.enter_context(
            process(
                gunicorn(app, port),
                env,
                ready_url=f"http://127.0.0.1:{port}/healthz",
            )
        )
        time.sleep(1)  # both workers booted
        return _load(f"http://127.0.0.1:{port}", requests_file, args.seconds, args.connections)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="LOG_LEVEL of the receiver and the relay (default: INFO, as deployed)",
    )
    args = parser.parse_args()

    settings = fresh_redis(bench_settings(DATABASE), REDIS_DB)
    wc_site, shop_site = register_sites(settings)
    requests_file = settings.home / "ingest-requests.txt"
    requests_file.parent.mkdir(parents=True, exist_ok=True)
    # Enough distinct deliveries that none repeats within a run at the target rate.
    requests_file.write_text("\n".join(delivery_lines(60_000, wc_site, shop_site)) + "\n")
    tool = "wrk" if shutil.which("wrk") else "python load generator"
    print(
        f"load: {tool}, {args.connections} connections, {args.seconds} s per run, "
        f"{args.rounds} rounds taking turns; gunicorn settings of api/gunicorn_conf.py "
        f"(2 gevent workers); receiver and relay at LOG_LEVEL={args.log_level}\n"
    )

    rounds: list[dict[str, dict[str, float]]] = []
    for number in range(1, args.rounds + 1):
        runs = {name: _round(settings, app, requests_file, args) for name, app in APPS.items()}
        rounds.append(runs)
        print(
            f"round {number}: bare {runs[BARE]['rps']:,.0f} req/s, "
            f"durable floor {runs[FLOOR]['rps']:,.0f} req/s (p99 {runs[FLOOR]['p99_ms']:.1f} ms), "
            f"receiver {runs[RECEIVER]['rps']:,.0f} req/s (p99 {runs[RECEIVER]['p99_ms']:.1f} ms): "
            f"{runs[RECEIVER]['rps'] / runs[BARE]['rps']:.2f}x bare, "
            f"{runs[RECEIVER]['rps'] / runs[FLOOR]['rps']:.2f}x floor"
        )
    print()
    results = {
        name: {
            key: statistics.median(runs[name][key] for runs in rounds)
            for key in ("rps", "p50_ms", "p99_ms", "non_2xx")
        }
        for name in APPS
    }
    ratios = {
        base: [runs[RECEIVER]["rps"] / runs[base]["rps"] for runs in rounds] for base in RATIO_MIN
    }
    ratio = {base: statistics.median(values) for base, values in ratios.items()}
    rows = [
        [name, r["rps"], r["p50_ms"], r["p99_ms"], int(r["non_2xx"])] for name, r in results.items()
    ]
    rows += [[f"receiver / {base}", f"{ratio[base]:.2f}x", "", "", ""] for base in RATIO_MIN]
    report(
        "ingest",
        ["app (median of rounds)", "req/s", "p50 ms", "p99 ms", "non-2xx"],
        rows,
        {
            "tool": tool,
            "connections": args.connections,
            "seconds": args.seconds,
            "log_level": args.log_level,
            "rounds": rounds,
            "results": results,
            "ratios": ratios,
            "ratio": ratio,
            "targets": {"ratio_min": RATIO_MIN, "p99_ms_max": 50},
        },
    )
    print(
        "\ntargets: "
        + ", ".join(
            f"receiver >= {least:.2f}x {base} (median {ratio[base]:.2f}x)"
            for base, least in RATIO_MIN.items()
        )
        + f", p99 < 50 ms (median {results[RECEIVER]['p99_ms']:.1f})"
    )


if __name__ == "__main__":
    main()
