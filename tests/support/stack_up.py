"""`stocksync up` as an operator runs it, on the test's own PostgreSQL and Redis (outage tests).

The stack's own supervisor, web (gunicorn), relay and worker (prefork) run as real
processes; beat runs too, so the site under test gets its nightly run for today up front
(`no_nightly_run_today`) and beat starts none in the middle of the test.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import requests
from sqlalchemy.orm import Session, sessionmaker

from embedded.ports import free_port
from models import RunStatus
from models.db import transaction
from settings import Settings
from tests.factories.sync import run_row

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def stack_up(
    settings: Settings,
    log: Path,
    *,
    flower: bool = False,
    environ: Mapping[str, str] | None = None,
) -> Iterator[str]:
    """`stocksync up` (`--no-flower` unless `flower`) on `settings`' services, `environ`
    added to its environment; yields the web's base URL once `/readyz` answers 200.
    SIGINT at the end, as Ctrl-C."""
    settings = replace(settings, web_port=free_port())
    env = {
        **os.environ,
        "DATABASE_URL": str(settings.database_url),
        "REDIS_URL": str(settings.redis_url),
        "STOCKSYNC_ENCRYPTION_KEY": ",".join(settings.encryption_keys),
        "STOCKSYNC_HOME": str(settings.home),
        "PORT": str(settings.web_port),
        "WORKER_CONCURRENCY": "2",
        "EVENTS_CONCURRENCY": "2",
        **(environ or {}),
    }
    base = f"http://127.0.0.1:{settings.web_port}"
    with log.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "up", "--flower" if flower else "--no-flower"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_ready(base, process)
        yield base
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)


def _wait_ready(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "stocksync up exited while starting"
        try:
            if requests.get(f"{base}/readyz", timeout=1).ok:
                return
        except requests.RequestException:
            # Not listening yet, or gunicorn's workers still booting.
            pass
        time.sleep(0.2)
    raise AssertionError("stocksync up not ready within 60 s")


def no_nightly_run_today(sessions: sessionmaker[Session], site_id: int) -> None:
    """Record today's nightly run of the site as done, so beat starts none (a site with
    the default hour, in UTC, is otherwise due all afternoon)."""
    with transaction(sessions) as session:
        run_row(
            session,
            site_id,
            kind="full",
            status=RunStatus.COMPLETED,
            local_date=datetime.now(UTC).date(),
            finished_at=datetime.now(UTC),
        )
