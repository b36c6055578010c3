"""The supervisor restarts a child that exits (with backoff) or fails its probe, and keeps
the others running."""

from __future__ import annotations

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
    PROBE_EVERY_SECONDS,
    RESTART_CAP_SECONDS,
    RESTART_FIRST_SECONDS,
    STABLE_SECONDS,
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
    now = time.monotonic()
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


class _Probe(BaseHTTPRequestHandler):
    """Answers with the server's `status` (a child's health probe)."""

    def do_GET(self) -> None:
        self.send_response(self.server.status)  # type: ignore[attr-defined]
        self.end_headers()

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def probe() -> Iterator[HTTPServer]:
    server = HTTPServer(("127.0.0.1", 0), _Probe)
    server.status = 200  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()


def test_a_child_failing_its_probe_long_enough_is_restarted_and_unreachable_is_not_failing(
    probe: HTTPServer,
) -> None:
    url = f"http://127.0.0.1:{probe.server_port}/readyz/consumers"
    worker = replace(SLEEPER, name="worker", probe=url)
    orphan = replace(SLEEPER, name="relay", probe="http://127.0.0.1:1/readyz/consumers")
    supervisor = Supervisor([worker, orphan], dict(os.environ), unhealthy_seconds=30)
    supervisor.start()
    try:
        first, relay = supervisor.procs["worker"], supervisor.procs["relay"]
        now = time.monotonic()
        supervisor.restart_unhealthy(now)
        probe.status = 503  # type: ignore[attr-defined]
        supervisor.restart_unhealthy(now + PROBE_EVERY_SECONDS)  # unhealthy since here
        probe.status = 200  # type: ignore[attr-defined]
        supervisor.restart_unhealthy(now + PROBE_EVERY_SECONDS + 1)  # too soon: not asked
        probe.status = 503  # type: ignore[attr-defined]
        supervisor.restart_unhealthy(now + 30)
        assert first.poll() is None  # 25 s of 503: not yet
        probe.status = 200  # type: ignore[attr-defined]
        supervisor.restart_unhealthy(now + 35)  # healthy again: the count starts over
        probe.status = 503  # type: ignore[attr-defined]
        supervisor.restart_unhealthy(now + 100)
        supervisor.restart_unhealthy(now + 129)
        assert first.poll() is None
        supervisor.restart_unhealthy(now + 135)
        wait_for(lambda: first.poll() is not None, 10, "the unhealthy child killed")
        supervisor.restart_exited(now + 136)
        supervisor.restart_exited(now + 136 + RESTART_FIRST_SECONDS)
        assert supervisor.procs["worker"] is not first
        assert supervisor.procs["worker"].poll() is None
        # A probe nobody answers never counted against its child.
        assert supervisor.procs["relay"] is relay and relay.poll() is None
    finally:
        supervisor.stop(grace_seconds=5)
