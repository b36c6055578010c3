"""The stack's processes for the demo: the same ones `stocksync up` runs, logging to a
file instead of the terminal, on free ports.

The process list and their environment come from `embedded/stack.py`, so the demo runs
exactly what an operator runs. Their output (a JSON log line per request and per
task) goes to one file, which the demo names: on the terminal it would bury the
progress bars and the summary.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

import requests

from embedded.private import private_dir
from embedded.stack import child_env, stack_processes
from embedded.supervisor import ProcessSpec, Supervisor, prepare_child
from settings import Settings

#: Seconds the web process may take to answer /readyz (gunicorn imports the whole app).
READY_TIMEOUT = 60.0


class StackDied(RuntimeError):
    """A process of the stack exited while the demo still needed it."""


class LoggedSupervisor(Supervisor):
    """`embedded.supervisor.Supervisor` with every child's output appended to one file."""

    def __init__(self, specs: Sequence[ProcessSpec], env: Mapping[str, str], log: Path) -> None:
        super().__init__(specs, env)
        self.log_path = log
        self._log: IO[bytes] | None = None

    def start(self) -> None:
        # Under STOCKSYNC_HOME, so private from its creation like the rest of it.
        private_dir(self.log_path.parent)
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
        self._log = os.fdopen(os.open(self.log_path, flags, 0o600), "ab")
        for spec in self.specs:
            self.procs[spec.name] = subprocess.Popen(
                list(spec.argv),
                env=self.env,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                preexec_fn=prepare_child,
            )

    def stop(self, grace_seconds: float = 20.0) -> None:
        super().stop(grace_seconds)
        if self._log is not None:
            self._log.close()

    def check(self) -> None:
        """Raise `StackDied` if any process has exited."""
        for name, proc in self.procs.items():
            code = proc.poll()
            if code is not None:
                raise StackDied(f"{name} exited with code {code} (see {self.log_path})")


def port_or_free(preferred: int) -> int:
    """`preferred` if nothing listens there, else a free port.

    The demo prefers the usual ports so `--keep` prints familiar URLs, but must not
    fail because `stocksync up` already runs on this machine.
    """
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", preferred))
        except OSError:
            sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stack_supervisor(
    settings: Settings, log: Path, *, flower: bool, admin_token: str
) -> LoggedSupervisor:
    """Web, relay, the two workers and beat (and Flower) for resolved `settings`, not
    started."""
    env = child_env(settings)
    env["ADMIN_TOKEN"] = admin_token
    env["LOG_LEVEL"] = settings.log_level
    env["WORKER_CONCURRENCY"] = str(settings.worker_concurrency)
    return LoggedSupervisor(stack_processes(settings, flower), env, log)


def wait_ready(url: str, supervisor: LoggedSupervisor, timeout: float = READY_TIMEOUT) -> None:
    """Block until `url` answers 200, failing early if a stack process dies."""
    deadline = time.monotonic() + timeout
    while True:
        supervisor.check()
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            # Not listening yet: gunicorn is still importing the app.
            pass
        if time.monotonic() > deadline:
            raise StackDied(f"{url} did not answer 200 within {timeout:.0f} s")
        time.sleep(0.2)
