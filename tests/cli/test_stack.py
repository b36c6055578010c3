"""`stocksync up` as a new user meets it: a taken port is named at once (exit 1), and
once the stack answers, its URLs and how to log in are the last lines on the screen,
with the processes' start-up output in the log file (cli/stack.py)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from embedded.ports import free_port
from settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def _env(**extra: str) -> dict[str, str]:
    keep = ("DATABASE_URL", "REDIS_URL", "ADMIN_TOKEN", "STOCKSYNC_ENCRYPTION_KEY")
    return {k: v for k, v in os.environ.items() if k not in keep} | extra


def test_a_taken_port_is_named_and_up_exits_1_at_once(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "cli.main", "up"],
            cwd=ROOT,
            env=_env(STOCKSYNC_HOME=str(home), PORT=str(port), FLOWER_PORT=str(free_port())),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 1, result.stdout + result.stderr
    assert time.monotonic() - started < 15
    assert f"port {port} (PORT) on 127.0.0.1 is in use" in result.stderr
    assert "another `stocksync up`" in result.stderr
    # Refused before anything started: no embedded server, no process.
    assert not (home / "postgres").exists() and not (home / "redis").exists()
    assert "started" not in result.stdout


def _lines_until(path: Path, text: str, proc: subprocess.Popen[bytes], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        content = path.read_text(errors="replace")
        if text in content:
            return content
        assert proc.poll() is None, content
        time.sleep(0.3)
    raise AssertionError(f"{text!r} not printed within {timeout} s:\n{path.read_text()}")


@pytest.mark.usefixtures("db")
def test_the_urls_and_the_login_are_the_last_thing_on_screen(
    settings: Settings, redis_client: redis.Redis, tmp_path: Path
) -> None:
    assert settings.database_url and settings.redis_url and settings.admin_token
    port, flower_port = free_port(), free_port()
    screen, log = tmp_path / "screen.txt", tmp_path / "logs" / "stack.log"
    env = _env(
        DATABASE_URL=settings.database_url,
        REDIS_URL=settings.redis_url,
        STOCKSYNC_ENCRYPTION_KEY=settings.encryption_keys[0],
        STOCKSYNC_HOME=str(tmp_path / "home"),
        ADMIN_TOKEN=settings.admin_token,
        PORT=str(port),
        FLOWER_PORT=str(flower_port),
        WORKER_CONCURRENCY="1",
    )
    with screen.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "up", "--log-file", str(log)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        shown = _lines_until(screen, "Ctrl-C stops everything.", proc, 120)
        time.sleep(3)  # the workers and Flower finish starting: nothing more reaches the screen
        shown = screen.read_text()
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=60)
    assert code == 0

    lines = shown.rstrip("\n").splitlines()
    assert lines[-6:] == [
        "stocksync is up:",
        f"  dashboard  http://127.0.0.1:{port}/  log in with your ADMIN_TOKEN",
        f"  admin API  http://127.0.0.1:{port}/api/overview  (Authorization: Bearer <admin token>)",
        f"  Flower     http://127.0.0.1:{flower_port}  (local only, no FLOWER_BASIC_AUTH)",
        f"  logs       {log}",
        "Ctrl-C stops everything.",
    ]
    assert len(lines) <= 8, shown  # "starting ...", a blank line, the banner
    assert settings.admin_token not in shown
    # The start-up output went to the log: the supervisor's notes and the processes' own.
    logged = log.read_text()
    assert "[up] started worker" in logged and "[up] started flower" in logged
    assert "celery@" in logged or "stocksync@" in logged
    assert settings.admin_token not in logged
