"""What every benchmark shares: real services, a fresh database, processes on free
ports, and results printed as a table and written as JSON under bench/results/.

Services are those of DATABASE_URL / REDIS_URL if set, else embedded ones under
`var/bench`, exactly as the application resolves them.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg2
import redis
import requests
from sqlalchemy.engine import make_url

from demo.summary import percentile
from embedded.runtime import resolve
from models.migrate import upgrade
from settings import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def bench_settings(database: str) -> Settings:
    """Resolved settings on a freshly created, migrated `database`."""
    environ = dict(os.environ)
    environ.setdefault("STOCKSYNC_HOME", str(ROOT / "var" / "bench"))
    settings = resolve(load_settings(environ))
    assert settings.database_url
    url = make_url(settings.database_url)
    admin = psycopg2.connect(
        url.set(drivername="postgresql", database="postgres").render_as_string(False)
    )
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{database}"')
    admin.close()
    database_url = url.set(database=database).render_as_string(False)
    upgrade(database_url)
    return replace(settings, database_url=database_url)


def fresh_redis(settings: Settings, index: int) -> Settings:
    """`settings` on Redis database `index` of the same server, emptied first.

    What `bench_settings` does for PostgreSQL: a benchmark with a worker must not find
    another run's messages queued (a worker would work through all of them before
    anything was timed); each benchmark has its own database index. BENCH_REDIS_DB, if
    set, replaces it, for a server whose indexes are shared with others.
    """
    assert settings.redis_url
    index = int(os.environ.get("BENCH_REDIS_DB", index))
    url = f"{settings.redis_url.rsplit('/', 1)[0]}/{index}"
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()
    return replace(settings, redis_url=url)


def child_env(settings: Settings, **extra: str) -> dict[str, str]:
    assert settings.database_url and settings.redis_url
    return {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "STOCKSYNC_ENCRYPTION_KEY": ",".join(settings.encryption_keys),
        "STOCKSYNC_HOME": str(settings.home),
        "LOG_LEVEL": "WARNING",
        **extra,
    }


@contextmanager
def process(
    argv: Sequence[str],
    env: Mapping[str, str],
    ready_url: str | None = None,
    log: Path | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `argv` until the block ends; wait for `ready_url` to answer first.

    `log`'s folder is made here, where the file is opened: with DATABASE_URL/REDIS_URL
    set nothing else creates the benchmark home on a fresh clone.
    """
    if log:
        log.parent.mkdir(parents=True, exist_ok=True)
    output = log.open("ab") if log else subprocess.DEVNULL
    proc = subprocess.Popen(
        list(argv),
        env=dict(env),
        cwd=ROOT,
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        if ready_url:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if requests.get(ready_url, timeout=1).status_code < 500:
                        break
                except requests.RequestException:
                    # Not listening yet: keep polling until the deadline.
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{argv[0]} did not become ready ({ready_url})")
                time.sleep(0.2)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if log:
            output.close()  # type: ignore[union-attr]


def gunicorn(app: str, port: int) -> list[str]:
    """`app` under the web process's own gunicorn settings (api/gunicorn_conf.py)."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        "python:api.gunicorn_conf",
        app,
        "--bind",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
    ]


class MachineCpu:
    """CPU seconds the whole machine spent between entering and leaving the block.

    Why beside wall time: on this shared VM a phase's wall time swings by tens of
    percent with the neighbours' load (steal), while the CPU our processes, the
    sandboxes, PostgreSQL and Redis burn for the same work moves far less. `busy` is
    user + nice + system + irq + softirq of /proc/stat's first line, `steal` the time
    the hypervisor gave our vCPUs to others; idle and iowait are not work.
    """

    busy = 0.0
    steal = 0.0

    def __enter__(self) -> MachineCpu:
        self._start = _cpu_ticks()
        return self

    def __exit__(self, *exc: object) -> None:
        end = _cpu_ticks()
        hz = os.sysconf("SC_CLK_TCK")
        self.busy = (end[0] - self._start[0]) / hz
        self.steal = (end[1] - self._start[1]) / hz


def _cpu_ticks() -> tuple[int, int]:
    """(busy, steal) clock ticks since boot, summed over every CPU (`MachineCpu`)."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return user + nice + system + irq + softirq, steal


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "when": datetime.now(UTC).isoformat(),
    }


def report(
    name: str, headers: Sequence[str], rows: Sequence[Sequence[Any]], data: Mapping[str, Any]
) -> Path:
    """Print a table and write `bench/results/<name>.json`."""
    widths = [max(len(str(h)), *(len(_cell(r[i])) for r in rows)) for i, h in enumerate(headers)]
    print(" | ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("-+-".join("-" * w for w in widths))
    for row in rows:
        print(" | ".join(_cell(c).ljust(w) for c, w in zip(row, widths, strict=True)))
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **data}, indent=2, default=str))
    print(f"\nwritten to {path.relative_to(ROOT)}")
    return path


def percentiles(values: Sequence[float]) -> dict[str, float | None]:
    """p50, p95 and p99 of `values` (None where there are none), and their count `n`."""
    return {f"p{p}": percentile(values, p) for p in (50, 95, 99)} | {"n": float(len(values))}


def format_seconds(value: float | None) -> str:
    """A table cell for a time in seconds, "-" for none."""
    return "-" if value is None else f"{value:.2f}"


def _cell(value: Any) -> str:
    return f"{value:,.1f}" if isinstance(value, float) else str(value)
