"""Instructions per webhook request: the receiver against a bare Flask route, counted.

    python -m bench.instructions [--requests 1000] [--greenlets 16]

Why counted and not timed: on a shared 2-core VM the same ingest run swings by 10-30 %
(bench/ingest.py), so a change worth a few percent cannot be seen in req/s. valgrind's
callgrind counts the instructions a process executes, whatever the neighbours do:
with a fixed hash seed the bare route's count repeats exactly, the receiver's within
about 0.5 % (its batches, and so its per-row share of each INSERT, follow PostgreSQL's
timing). Each app is called in-process by `--greenlets` gevent greenlets
(bench/wsgi_loop.py), on real PostgreSQL (DATABASE_URL, else embedded), with
bench/ingest.py's signed WooCommerce and Shopify deliveries: once for a warm-up count
and once for `--requests` more, and the difference divided by `--requests`, so start-up
and imports cancel out. What this leaves out: gunicorn's HTTP parsing and socket writes
(the same for both apps), kernel time, and PostgreSQL's and the relay's own work, which
bench/ingest.py covers. Needs valgrind (`apt-get install valgrind`).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.common import bench_settings, child_env, report
from bench.ingest import APPS, delivery_lines, empty_log, register_sites

DATABASE = "stocksync_bench_instructions"
WARM_UP = 200


def _instructions(settings: Any, app: str, requests_file: Path, count: int, greenlets: int) -> int:
    empty_log(settings)  # each count writes its own rows, none a duplicate of the last run's
    with tempfile.TemporaryDirectory() as scratch:
        result = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={scratch}/callgrind.out",
                sys.executable,
                "-m",
                "bench.wsgi_loop",
                app,
                str(requests_file),
                str(count),
                str(greenlets),
            ],
            env=child_env(settings, PYTHONHASHSEED="0"),  # str hashing varies per run otherwise
            capture_output=True,
            text=True,
            check=True,
        )
    answered = result.stdout.strip().splitlines()[-1]
    if answered != f'{{"200 OK": {count}}}':
        raise SystemExit(f"{app}: not every request answered 200: {answered}")
    return int(re.search(r"Collected : (\d+)", result.stderr).group(1))  # type: ignore[union-attr]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--greenlets", type=int, default=16)
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("bench.instructions needs valgrind: apt-get install valgrind")

    settings = bench_settings(DATABASE)
    wc_site, shop_site = register_sites(settings)
    requests_file = settings.home / "instructions-requests.txt"
    requests_file.parent.mkdir(parents=True, exist_ok=True)
    lines = delivery_lines(WARM_UP + args.requests, wc_site, shop_site)
    requests_file.write_text("\n".join(lines) + "\n")

    per_request: dict[str, float] = {}
    for name, app in APPS.items():
        small = _instructions(settings, app, requests_file, WARM_UP, args.greenlets)
        large = _instructions(settings, app, requests_file, WARM_UP + args.requests, args.greenlets)
        per_request[name] = (large - small) / args.requests
    ratio = per_request["receiver"] / per_request["bare Flask route"]
    rows: list[list[Any]] = [[name, f"{count:,.0f}"] for name, count in per_request.items()]
    rows.append(["receiver / bare", f"{ratio:.2f}x"])
    report(
        "instructions",
        ["app (WSGI, in-process)", "instructions per request"],
        rows,
        {"requests": args.requests, "greenlets": args.greenlets, "per_request": per_request},
    )


if __name__ == "__main__":
    main()
