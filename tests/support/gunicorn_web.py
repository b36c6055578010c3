"""The web process as deployed, for tests through the real server: gunicorn with
api/gunicorn_conf.py (gevent workers, bounded PostgreSQL waits, body deadline) running
api.wsgi:app on the given settings."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from embedded.ports import free_port
from settings import Settings

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def gunicorn_web(settings: Settings, home: Path) -> Iterator[str]:
    """Start gunicorn on a free port, wait for `/healthz`, yield its base URL; stop it.

    Its access and error lines go to `home / "web.log"`."""
    assert settings.database_url and settings.redis_url
    port = free_port()
    env = {
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "STOCKSYNC_ENCRYPTION_KEY": settings.encryption_keys[0],
        "STOCKSYNC_HOME": str(home),
    }
    if settings.admin_token:
        env["ADMIN_TOKEN"] = settings.admin_token
    argv = [sys.executable, "-m", "gunicorn", "--config", "python:api.gunicorn_conf"]
    argv += ["--access-logfile", "-"]  # as the Procfile, compose and `stocksync up` run it
    log = (home / "web.log").open("wb")
    proc = subprocess.Popen(
        [*argv, "api.wsgi:app", "--bind", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{base}/healthz", timeout=5).raise_for_status()
                break
            except requests.RequestException:
                # Not listening yet, or its workers still booting.
                assert proc.poll() is None, (home / "web.log").read_text()
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)
        log.close()
