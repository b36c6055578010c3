"""Run several long-lived processes as one: start all, stop all, leave none behind.

Why not honcho/foreman: we need Linux's parent-death signal so a SIGKILLed supervisor
still takes its children with it, and a first-failure-stops-all policy; both are a few
lines here.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    argv: Sequence[str]


def die_with_parent() -> None:
    """In the child before exec: get SIGTERM when the supervisor dies, however it dies."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    # Own process group: Ctrl-C reaches the supervisor only, which then stops each
    # child once, in order, instead of every process getting SIGINT at the same time.
    os.setpgrp()


class Supervisor:
    def __init__(self, specs: Sequence[ProcessSpec], env: Mapping[str, str]) -> None:
        self.specs = specs
        self.env = dict(env)
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._stopping = False

    def start(self) -> None:
        for spec in self.specs:
            self.procs[spec.name] = subprocess.Popen(
                list(spec.argv), env=self.env, preexec_fn=die_with_parent
            )
            print(f"[up] started {spec.name} (pid {self.procs[spec.name].pid})", flush=True)

    def wait(self) -> int:
        """Block until a signal or until any child exits; return the exit code to use."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._request_stop)
        while not self._stopping:
            for name, proc in self.procs.items():
                code = proc.poll()
                if code is not None:
                    print(f"[up] {name} exited with {code}; stopping the rest", file=sys.stderr)
                    return code or 1
            time.sleep(0.2)
        return 0

    def _request_stop(self, signum: int, frame: object) -> None:
        # Only set a flag: a handler that takes a lock (threading.Event.set) deadlocks
        # when the signal lands while the main thread holds that same lock.
        self._stopping = True

    def stop(self, grace_seconds: float = 20.0) -> None:
        """SIGTERM every child (and its process group), then SIGKILL what is left."""
        for proc in self.procs.values():
            _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + grace_seconds
        for name, proc in self.procs.items():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(f"[up] {name} did not stop in time; killing it", file=sys.stderr)
                _signal_group(proc, signal.SIGKILL)
                proc.wait()
        # Pool children (celery prefork, gunicorn workers) share their parent's group.
        for proc in self.procs.values():
            _signal_group(proc, signal.SIGKILL)


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        # Already gone: nothing to stop.
        return
