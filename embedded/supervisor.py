"""Run several long-lived processes as one: start all, restart the one that dies,
stop all, leave none behind.

A child that exits is started again after a backoff (1 s, doubling to 30 s; back to
1 s once it ran for a minute), and the others keep running: a worker that dies with
Redis must not take the webhook receiver down with it (the receiver answers without
Redis, docs/architecture.md flow 1). Only a crash loop stops the stack: a child that
exits `CRASH_LOOP_EXITS` times in a row, each time before running a minute, is failing
on its own (a bad setting, a broken install), and restarting it forever would only
bury the reason under the log; the stack then stops, naming the child and its last
exit code, and `wait` returns 1. Why not honcho/foreman: we need Linux's
parent-death signal so a SIGKILLed supervisor still takes its children with it, and
this restart policy; both are a few lines here.

A child may also name a probe: an HTTP URL answering 503 `{"failing": {...}}` and the
failure in it that means the child itself is alive but not doing its work (each
worker's: `/readyz/consumers?worker=<its node name>` naming `consumers`, a consumer that
stopped taking messages or froze). A child whose probe has named that failure for
`UNHEALTHY_SECONDS` is killed and so restarted like one that exited; that is safe at any
line (late acks, batch leases, the outbox sweeper). Any other answer says nothing about
the child: a probe that cannot be reached (the web process restarting) or a 503 for
another reason (Redis down: the worker reconnects on its own, and killing it then would
lose the messages it holds) never restarts it.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TextIO

from embedded.private import PRIVATE_UMASK

PR_SET_PDEATHSIG = 1
#: Restart delays of a child that exited: doubling from the first, capped.
RESTART_FIRST_SECONDS = 1.0
RESTART_CAP_SECONDS = 30.0
#: A child that ran this long before exiting is restarted after the first delay again.
STABLE_SECONDS = 60.0
#: Exits in a row, none after a stable run, that stop the stack. Eight exits span seven
#: restarts and 91 s of backoff (1+2+4+8+16+30+30, twice at the cap): long enough for
#: what clears by itself (a port its predecessor still holds, a database restarting);
#: what outlasts that is the child's own fault. The relay and the worker ride out a
#: PostgreSQL or Redis outage instead of exiting, so an outage does not make them loop.
CRASH_LOOP_EXITS = 8
#: How often a child's probe is asked, and how long it must answer 503 before the
#: child is restarted (on top of the probe's own judgement, 30 s for the consumers).
PROBE_EVERY_SECONDS = 5.0
UNHEALTHY_SECONDS = 30.0


@dataclass(frozen=True)
class Probe:
    """Where to ask whether a child works, and the failure that says it does not."""

    url: str
    failure: str


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    argv: Sequence[str]
    probe: Probe | None = None


def prepare_child() -> None:
    """In the child before exec: get SIGTERM when the supervisor dies, however it dies;
    its own process group; and files private from their creation."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    # Own process group: Ctrl-C reaches the supervisor only, which then stops each
    # child once, in order, instead of every process getting SIGINT at the same time.
    os.setpgrp()
    # What the stack writes under STOCKSYNC_HOME (beat's schedule) is no one else's.
    os.umask(PRIVATE_UMASK)


class Supervisor:
    def __init__(
        self,
        specs: Sequence[ProcessSpec],
        env: Mapping[str, str],
        unhealthy_seconds: float = UNHEALTHY_SECONDS,
        output: TextIO | None = None,
    ) -> None:
        """`output`: where the children's stdout and stderr and the supervisor's own
        notes go (a log file); None, this process's own. A restart or a crash loop is
        also said on stderr, where an operator looks."""
        self.specs = specs
        self.output = output
        self.env = dict(env)
        self.unhealthy_seconds = unhealthy_seconds
        #: Children whose probe answers 503: since when; and when each was last asked.
        self._unhealthy_since: dict[str, float] = {}
        self._probed_at: dict[str, float] = {}
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._started_at: dict[str, float] = {}
        #: Children that exited: when to start each again, and its last delay.
        self._restart_at: dict[str, float] = {}
        self._delay: dict[str, float] = {}
        #: Exits in a row of each child without a stable run in between.
        self._quick_exits: dict[str, int] = {}
        #: Why the stack stopped by itself (a crash loop); None while it runs or after Ctrl-C.
        self.failure: str | None = None
        self._stopping = False

    def start(self) -> None:
        for spec in self.specs:
            self._start(spec, time.monotonic())

    def _start(self, spec: ProcessSpec, now: float) -> None:
        self.procs[spec.name] = subprocess.Popen(
            list(spec.argv),
            env=self.env,
            preexec_fn=prepare_child,
            stdout=self.output,
            stderr=None if self.output is None else subprocess.STDOUT,
        )
        self._started_at[spec.name] = now
        self._note(f"[up] started {spec.name} (pid {self.procs[spec.name].pid})")

    def _note(self, line: str, alarm: bool = False) -> None:
        """A line of the supervisor's own: in the output; an `alarm` on stderr too."""
        print(line, file=self.output or (sys.stderr if alarm else sys.stdout), flush=True)
        if alarm and self.output is not None:
            print(line, file=sys.stderr, flush=True)

    def handle_signals(self) -> None:
        """SIGINT, SIGTERM and SIGHUP stop the stack (`wait`, `run_until` return). SIGHUP
        is the terminal closing: without a handler it would kill the supervisor before
        it stops what it started (the children get SIGTERM from their parent-death
        signal, but embedded servers it started would be left running). The handlers
        stay, so a second signal while the stack stops does not cut that short."""
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._request_stop)

    @property
    def stopping(self) -> bool:
        return self._stopping

    def run_until(self, done: Callable[[], bool], timeout: float) -> bool:
        """Supervise (restarts, probes) until `done()` is true (True), the stack is
        stopping, or `timeout` seconds pass (False). `done` is asked about twice a
        second and must not block for long."""
        self.handle_signals()
        deadline = time.monotonic() + timeout
        while not self._stopping and time.monotonic() < deadline:
            now = time.monotonic()
            self.restart_exited(now)
            self.restart_unhealthy(now)
            if done():
                return True
            time.sleep(0.5)
        return False

    def wait(self) -> int:
        """Block until SIGINT, SIGTERM or SIGHUP (return 0), restarting children that exit, or
        until a child's crash loop (return 1)."""
        self.handle_signals()
        while not self._stopping:
            now = time.monotonic()
            self.restart_exited(now)
            self.restart_unhealthy(now)
            time.sleep(0.2)
        return 0 if self.failure is None else 1

    def restart_unhealthy(self, now: float) -> None:
        """Ask each running child's probe (every `PROBE_EVERY_SECONDS`); kill a child
        that has failed it for `unhealthy_seconds`, which `restart_exited` then restarts."""
        for spec in self.specs:
            if spec.probe is None or spec.name in self._restart_at:
                continue
            if now - self._probed_at.get(spec.name, 0.0) < PROBE_EVERY_SECONDS:
                continue
            self._probed_at[spec.name] = now
            if _names_failure(spec.probe):
                since = self._unhealthy_since.setdefault(spec.name, now)
                if now - since >= self.unhealthy_seconds:
                    self._note(
                        f"[up] {spec.name}: {spec.probe.failure} failing at {spec.probe.url} "
                        f"for {now - since:.0f} s; "
                        "restarting it",
                        alarm=True,
                    )
                    _signal_group(self.procs[spec.name], signal.SIGKILL)
                    self._unhealthy_since.pop(spec.name)
            else:
                self._unhealthy_since.pop(spec.name, None)

    def restart_exited(self, now: float) -> None:
        """Note the children that exited and start again those whose delay has passed."""
        if self.failure is not None:
            return  # a crash loop: the stack is stopping, nothing starts again
        for spec in self.specs:
            proc = self.procs[spec.name]
            code = proc.poll()
            if code is not None and spec.name not in self._restart_at:
                self._schedule_restart(spec.name, code, now)
            elif spec.name in self._restart_at and now >= self._restart_at[spec.name]:
                del self._restart_at[spec.name]
                self._start(spec, now)

    def _schedule_restart(self, name: str, code: int, now: float) -> None:
        # Its pool children (celery prefork, gunicorn workers) share its group: a new
        # one must not run beside them.
        _signal_group(self.procs[name], signal.SIGKILL)
        ran = now - self._started_at[name]
        quick_exits = 1 if ran >= STABLE_SECONDS else self._quick_exits.get(name, 0) + 1
        self._quick_exits[name] = quick_exits
        if quick_exits >= CRASH_LOOP_EXITS:
            self.failure = (
                f"{name} exited {quick_exits} times in a row, each within "
                f"{STABLE_SECONDS:.0f} s of starting, last with {code}; stopping the stack"
            )
            self._note(f"[up] {self.failure}", alarm=True)
            self._stopping = True
            return
        previous = self._delay.get(name, 0.0)
        delay = (
            RESTART_FIRST_SECONDS
            if ran >= STABLE_SECONDS or not previous
            else min(previous * 2, RESTART_CAP_SECONDS)
        )
        self._delay[name] = delay
        self._restart_at[name] = now + delay
        self._note(f"[up] {name} exited with {code}; restarting it in {delay:.0f} s", alarm=True)

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
                self._note(f"[up] {name} did not stop in time; killing it", alarm=True)
                _signal_group(proc, signal.SIGKILL)
                proc.wait()
        # Pool children (celery prefork, gunicorn workers) share their parent's group.
        for proc in self.procs.values():
            _signal_group(proc, signal.SIGKILL)


def _names_failure(probe: Probe) -> bool:
    """True only if the probe answered 503 naming `probe.failure` (module docstring)."""
    try:
        with urllib.request.urlopen(probe.url, timeout=2):  # noqa: S310 - our own probe URL
            return False
    except urllib.error.HTTPError as answer:
        if answer.code != 503:
            return False
        try:
            failing = json.loads(answer.read()).get("failing", {})
        except (ValueError, AttributeError):
            return False
        return isinstance(failing, dict) and probe.failure in failing
    except OSError:
        return False


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        # Already gone: nothing to stop.
        return
