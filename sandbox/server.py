"""Run a sandbox WSGI app over real HTTP: in a thread or a child process for tests and the
demo, in the foreground for `python -m sandbox`."""

from __future__ import annotations

import logging
import multiprocessing
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.process import BaseProcess
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from typing import Any

from werkzeug.serving import make_server

from sandbox import registry
from sandbox.base import SandboxConfig

#: Seconds a child sandbox may take to import Flask and seed its catalog.
CHILD_START_TIMEOUT = 60.0
#: How often a child sandbox checks that its parent still lives (see `_serve_child`).
ORPHAN_CHECK_SECONDS = 0.5


@contextmanager
def running(app: Any, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve `app` on a free port in a daemon thread; yield its base URL; stop on exit."""
    server = make_server(host, port, app, threaded=True)
    # A short poll interval: shutdown() waits for the next poll, and tests start many.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="sandbox", daemon=True
    )
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def running_in_subprocess(
    platform: str, config: SandboxConfig, host: str = "127.0.0.1"
) -> Iterator[str]:
    """Serve `platform`'s sandbox from a child process; yield its base URL; stop on exit.

    For measuring the memory of a client: tracemalloc counts every thread of its process,
    and werkzeug's request threads allocate a read buffer of about 10 MB per request, so
    a sandbox in the test's own process hides what the client holds. The child is
    spawned, not forked: forking a process that runs threads can copy a held lock. Its
    state is out of reach; use the `/_sandbox/*` routes.
    """
    context = multiprocessing.get_context("spawn")
    started: Queue[tuple[str, str]] = context.Queue()
    stop = context.Event()
    child = context.Process(
        target=_serve_child,
        args=(platform, config, host, started, stop),
        name=f"sandbox-{platform}",
        daemon=True,
    )
    child.start()
    try:
        yield _wait_for_url(child, started)
    finally:
        stop.set()
        child.join(timeout=10)
        if child.is_alive():
            child.terminate()
            child.join(timeout=5)
        started.close()
        started.join_thread()


def _wait_for_url(child: BaseProcess, started: Queue[tuple[str, str]]) -> str:
    """The child's base URL; its error if it failed to start, instead of a long wait."""
    waited = 0.0
    while waited < CHILD_START_TIMEOUT:
        try:
            outcome, value = started.get(timeout=0.2)
        except queue.Empty:
            if not child.is_alive():
                raise RuntimeError(f"{child.name} exited with code {child.exitcode}") from None
            waited += 0.2
            continue
        if outcome == "error":
            raise RuntimeError(f"{child.name} failed to start: {value}")
        return value
    raise RuntimeError(f"{child.name} did not start within {CHILD_START_TIMEOUT:.0f} s")


def _serve_child(
    platform: str,
    config: SandboxConfig,
    host: str,
    started: Queue[tuple[str, str]],
    stop: Event,
) -> None:
    """The child's body: build the app, report its URL, serve until `stop` is set."""
    # Nobody reads the child's access log; one line per request would only cost time.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    try:
        app = registry.create_app(platform, config)
    except Exception as exc:
        # Reported to the parent, which raises it; the child has nothing left to do.
        started.put(("error", f"{type(exc).__name__}: {exc}"))
        return
    with running(app, host) as url:
        started.put(("ok", url))
        parent = multiprocessing.parent_process()
        # Until the parent sets `stop`, or dies without setting it: `daemon=True` stops
        # a child only when its parent exits normally, so a SIGKILLed demo or benchmark
        # left its sandboxes serving, holding their ports and catalogs, until reboot.
        while not stop.wait(ORPHAN_CHECK_SECONDS):
            if parent is not None and not parent.is_alive():
                return


#: Addresses that mean "every interface": listened on, never connected to.
_WILDCARDS = frozenset({"0.0.0.0", "::", ""})  # noqa: S104


def reachable(host: str) -> str:
    """An address to connect to a server listening on `host`: a wildcard names no
    machine (stocksync refuses `http://0.0.0.0:...` as a base URL), so this machine's
    loopback stands in for it."""
    if host in _WILDCARDS:
        return "[::1]" if host == "::" else "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def serve_forever(
    app: Any, host: str, port: int, announce: Callable[[str], None] = lambda url: None
) -> None:
    """Serve until interrupted (`python -m sandbox`).

    `announce` gets the base URL once the socket listens, so what it prints can be acted
    on at once, and names the real port when `port` is 0.
    """
    server = make_server(host, port, app, threaded=True)
    announce(f"http://{reachable(host)}:{server.server_port}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        # Ctrl-C is how an operator stops a foreground sandbox; exit quietly.
        return
    finally:
        server.server_close()
