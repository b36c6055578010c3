"""`stocksync up` on embedded defaults: ready within 30 s, nothing left after Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from embedded.ports import free_port


def _children(pid: int) -> set[int]:
    """Every live descendant of `pid`, read from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


def _settled_tree(pid: int, timeout: float = 20.0) -> set[int]:
    """The process tree once it stops changing (pools start after their parents)."""
    deadline = time.monotonic() + timeout
    tree, stable_since = _children(pid), time.monotonic()
    while time.monotonic() - stable_since < 1.0 and time.monotonic() < deadline:
        time.sleep(0.1)
        current = _children(pid)
        if current != tree:
            tree, stable_since = current, time.monotonic()
    return tree


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
def test_up_is_ready_within_30s_and_ctrl_c_leaves_no_process(tmp_path: Path) -> None:
    port, flower_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env |= {
        "STOCKSYNC_HOME": str(tmp_path / "home"),
        "PORT": str(port),
        "FLOWER_PORT": str(flower_port),
        "STOCKSYNC_ENCRYPTION_KEY": "",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "up"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    seen: set[int] = set()
    try:
        started = time.monotonic()
        ready = False
        while time.monotonic() - started < 30 and not ready:
            seen |= _children(proc.pid)
            try:
                ready = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=1).ok
            except requests.RequestException:
                # Not listening yet, or gunicorn's workers still booting.
                time.sleep(0.2)
        assert ready, "not ready within 30 s"
        seen |= _settled_tree(proc.pid)
        assert len(seen) >= 5  # web, relay, worker, beat, flower and their pools
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:  # a failed assertion above: still stop it cleanly
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in seen) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in seen if _alive(pid)]
    # The embedded servers it started are stopped too.
    assert not (tmp_path / "home" / "postgres" / "postmaster.pid").exists()
    from embedded.redis import running_port

    assert running_port(tmp_path / "home") is None
