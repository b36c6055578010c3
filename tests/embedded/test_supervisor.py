"""The supervisor restarts a child that exits (with backoff) or fails its probe, and keeps
the others running."""

from __future__ import annotations

import json
import math
import os
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from embedded.supervisor import (
    CRASH_LOOP_EXITS,
    PROBE_EVERY_SECONDS,
    RESTART_CAP_SECONDS,
    RESTART_FIRST_SECONDS,
    STABLE_SECONDS,
    Probe,
    ProcessSpec,
    Supervisor,
)
from tests.support.stack import wait_for

SLEEPER = ProcessSpec("web", [sys.executable, "-c", "import time; time.sleep(600)"])


def _crasher(starts: Path) -> ProcessSpec:
    """A child that notes each start in `starts`, then exits with 3."""
    code = f"open({str(starts)!r}, 'a').write('x'); raise SystemExit(3)"
    return ProcessSpec("worker", [sys.executable, "-c", code])


@pytest.fixture
def supervised(tmp_path: Path) -> Iterator[tuple[Supervisor, Path]]:
    starts = tmp_path / "starts"
    supervisor = Supervisor([SLEEPER, _crasher(starts)], dict(os.environ))
    supervisor.start()
    try:
        yield supervisor, starts
    finally:
        supervisor.stop(grace_seconds=5)


def _starts(path: Path) -> int:
    return len(path.read_text()) if path.exists() else 0


def test_a_child_that_exits_is_started_again_and_the_others_keep_running(
    supervised: tuple[Supervisor, Path],
) -> None:
    supervisor, starts = supervised
    web = supervisor.procs["web"]
    wait_for(lambda: _starts(starts) == 1, 10, "the first start")
    wait_for(lambda: supervisor.procs["worker"].poll() is not None, 10, "the crash")
    now = time.monotonic()
    supervisor.restart_exited(now)
    supervisor.restart_exited(now + RESTART_FIRST_SECONDS - 0.1)
    assert _starts(starts) == 1  # not before its delay
    supervisor.restart_exited(now + RESTART_FIRST_SECONDS)
    wait_for(lambda: _starts(starts) == 2, 10, "the restart")
    assert supervisor.procs["web"] is web and web.poll() is None


def test_restarts_back_off_to_the_cap_and_reset_after_a_stable_run(
    supervised: tuple[Supervisor, Path],
) -> None:
    supervisor, starts = supervised
    delays = []
    # A whole number of seconds: the sums below stay exact. From the clock's own value,
    # `(now + 60) - start` could round to 59.999... near a power of two, a quick exit
    # (it failed so once in CI, as an eighth quick exit: a crash loop).
    now = float(math.floor(time.monotonic()))
    for attempt in range(1, 8):
        wait_for(lambda: supervisor.procs["worker"].poll() is not None, 10, "the crash")
        supervisor.restart_exited(now)
        delays.append(supervisor._restart_at["worker"] - now)
        now += delays[-1]
        supervisor.restart_exited(now)
        wait_for(lambda n=attempt: _starts(starts) == n + 1, 10, "the restart")
    assert delays == [1, 2, 4, 8, 16, 30, 30]
    assert delays[-1] == RESTART_CAP_SECONDS
    wait_for(lambda: supervisor.procs["worker"].poll() is not None, 10, "the crash")
    supervisor.restart_exited(now + STABLE_SECONDS)  # it ran a minute before this exit
    assert supervisor._restart_at["worker"] - (now + STABLE_SECONDS) == RESTART_FIRST_SECONDS


def _crash_and_restart(supervisor: Supervisor, starts: Path, now: float) -> float:
    """Let the crasher exit once more, past its restart delay; return the new now."""
    count = _starts(starts)
    wait_for(lambda: supervisor.procs["worker"].poll() is not None, 10, "the crash")
    supervisor.restart_exited(now)
    if supervisor.failure is None:
        now = supervisor._restart_at["worker"]
        supervisor.restart_exited(now)
        wait_for(lambda: _starts(starts) == count + 1, 10, "the restart")
    return now


def test_a_crash_loop_stops_the_stack_naming_the_child_and_its_exit_code(
    supervised: tuple[Supervisor, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    supervisor, starts = supervised
    now = time.monotonic()
    for _ in range(CRASH_LOOP_EXITS - 1):
        now = _crash_and_restart(supervisor, starts, now)
    assert supervisor.failure is None  # each quick exit so far was restarted
    now = _crash_and_restart(supervisor, starts, now)
    assert supervisor.failure is not None
    assert "worker" in supervisor.failure and "last with 3" in supervisor.failure
    assert f"[up] {supervisor.failure}" in capsys.readouterr().err
    supervisor.restart_exited(now + RESTART_CAP_SECONDS)
    assert _starts(starts) == CRASH_LOOP_EXITS  # never started again
    assert supervisor.wait() == 1  # `stocksync up` exits 1; the fixture stops the rest


def test_a_stable_run_between_exits_starts_the_count_over(
    supervised: tuple[Supervisor, Path],
) -> None:
    supervisor, starts = supervised
    now = time.monotonic()
    for _ in range(CRASH_LOOP_EXITS - 1):
        now = _crash_and_restart(supervisor, starts, now)
    # This exit comes after a minute's run: one bad minute, not a loop.
    now = _crash_and_restart(supervisor, starts, now + STABLE_SECONDS)
    for _ in range(CRASH_LOOP_EXITS - 2):
        now = _crash_and_restart(supervisor, starts, now)
    assert supervisor.failure is None
    assert supervisor.procs["web"].poll() is None


class _ProbeHandler(BaseHTTPRequestHandler):
    """Answers as the consumers probe does: 200, or 503 naming the server's `failing`."""

    def do_GET(self) -> None:
        failing = self.server.failing  # type: ignore[attr-defined]
        body = json.dumps({"failing": {failing: "..."}} if failing else {}).encode()
        self.send_response(503 if failing else 200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def probe() -> Iterator[HTTPServer]:
    server = HTTPServer(("127.0.0.1", 0), _ProbeHandler)
    server.failing = None  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()


def test_a_child_whose_probe_names_its_failure_long_enough_is_restarted(
    probe: HTTPServer,
) -> None:
    url = f"http://127.0.0.1:{probe.server_port}/readyz/consumers"
    worker = replace(SLEEPER, name="worker", probe=Probe(url, "consumers"))
    # A probe nobody answers never counts against its child.
    orphan = replace(SLEEPER, name="relay", probe=Probe("http://127.0.0.1:1/x", "consumers"))
    supervisor = Supervisor([worker, orphan], dict(os.environ), unhealthy_seconds=30)
    supervisor.start()

    def answer(failing: str | None, at: float) -> None:
        probe.failing = failing  # type: ignore[attr-defined]
        supervisor.restart_unhealthy(at)

    try:
        first, relay = supervisor.procs["worker"], supervisor.procs["relay"]
        now = time.monotonic()
        answer(None, now)
        answer("consumers", now + PROBE_EVERY_SECONDS)  # failing since here
        answer(None, now + PROBE_EVERY_SECONDS + 1)  # too soon: not asked
        answer("consumers", now + 30)
        assert first.poll() is None  # 25 s of failing: not yet
        answer(None, now + 35)  # working again: the count starts over
        answer("consumers", now + 100)
        answer("consumers", now + 129)
        assert first.poll() is None
        # Another failure (Redis down: the worker reconnects by itself) is not its own.
        answer("redis", now + 135)
        assert first.poll() is None
        answer("consumers", now + 140)
        answer("consumers", now + 170)
        wait_for(lambda: first.poll() is not None, 10, "the stalled child killed")
        supervisor.restart_exited(now + 171)
        supervisor.restart_exited(now + 171 + RESTART_FIRST_SECONDS)
        assert supervisor.procs["worker"] is not first
        assert supervisor.procs["worker"].poll() is None
        assert supervisor.procs["relay"] is relay and relay.poll() is None
    finally:
        supervisor.stop(grace_seconds=5)
