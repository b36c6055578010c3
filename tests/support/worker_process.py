"""A real `celery worker` process (prefork, as in production) for end-to-end tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from settings import Settings

CELERY = str(Path(sys.executable).with_name("celery"))
ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def worker_process(
    settings: Settings,
    encryption_key: str,
    log: Path,
    *,
    beat: bool = False,
    clock_skew: float = 0.0,
    name: str = "celery",
    env: Mapping[str, str] | None = None,
) -> Iterator[int]:
    """`celery -A workers worker` with two pool processes; yields its pid.

    `name` is its node name (`<name>@<host>`), and `log`'s folder its
    `STOCKSYNC_HOME`: two of them with their own stand for two hosts; `env` adds to
    its environment (`BATCH_SIZE`). `beat` embeds the beat scheduler (`-B`), with the
    production schedule, so the maintenance sweeps run at their real cadence.
    `clock_skew` puts the process's wall clock that many seconds off, as on a host
    whose clock drifted (tests/support/skewed_clock.py)."""
    command = [CELERY] if not clock_skew else [sys.executable, "-m", "tests.support.skewed_clock"]
    environment = {
        **os.environ,
        "DATABASE_URL": str(settings.database_url),
        "REDIS_URL": str(settings.redis_url),
        "STOCKSYNC_ENCRYPTION_KEY": encryption_key,
        "STOCKSYNC_HOME": str(log.parent),
        "WORKER_CONCURRENCY": "2",
        "STOCKSYNC_TEST_CLOCK_SKEW": str(clock_skew),
        **(env or {}),
    }
    with log.open("ab") as output:
        process = subprocess.Popen(
            [*command, "-A", "workers", "worker", "-Q", "events,sync,maintenance", "-l", "WARNING"]
            + ["-n", f"{name}@%h"]
            + (["-B"] if beat else []),
            cwd=ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: killed as one below
        )
    try:
        yield process.pid
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
