"""The supervisor restarts a child that exits, with backoff, and keeps the others running."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from embedded.supervisor import (
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
