"""Slowloris (issue 19 item 15): thousands of connections each trickling a body must
not keep genuine deliveries and `/healthz` from being answered, and a body that takes
too long is cut off with 408. Through gunicorn as deployed, over loopback."""

from __future__ import annotations

import resource
import selectors
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from api.body_deadline import BODY_SECONDS
from settings import Settings
from tests.factories import signed
from tests.support.gunicorn_web import gunicorn_web
from tests.support.receiver import Owners

#: More than the 2 x 1,000 connections gunicorn's workers took before the fix.
SLOW_CONNECTIONS = 2_200


class SlowSenders:
    """Connections that each promise a large body and send it one byte a second."""

    def __init__(self, address: tuple[str, int], path: str, count: int) -> None:
        self.sockets: list[socket.socket] = []
        self.answers: dict[int, bytes] = {}  # fileno -> the first bytes answered
        self.closed = 0
        self._stop = threading.Event()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {address[0]}\r\n"
            "Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n"
        ).encode()
        for _ in range(count):
            sock = socket.create_connection(address, timeout=10)
            sock.sendall(head)
            sock.setblocking(False)
            self.sockets.append(sock)
        self._thread = threading.Thread(target=self._trickle, name="slow-senders", daemon=True)
        self._thread.start()

    def _trickle(self) -> None:
        selector = selectors.DefaultSelector()
        for sock in self.sockets:
            selector.register(sock, selectors.EVENT_READ)
        open_ = set(self.sockets)
        while not self._stop.is_set() and open_:
            for key, _ in selector.select(timeout=0):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                try:
                    data = sock.recv(64)
                except OSError:
                    data = b""
                if data:
                    self.answers.setdefault(sock.fileno(), data)
                else:
                    selector.unregister(sock)
                    open_.discard(sock)
                    self.closed += 1
            for sock in list(open_):
                try:
                    sock.send(b" ")
                except BlockingIOError:
                    pass  # its buffer is full: the server reads nothing from it
                except OSError:
                    selector.unregister(sock)
                    open_.discard(sock)
                    self.closed += 1
            self._stop.wait(1.0)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        for sock in self.sockets:
            sock.close()


@contextmanager
def slow_senders(base: str, path: str, count: int) -> Iterator[SlowSenders]:
    split = urlsplit(base)
    assert split.hostname and split.port
    senders = SlowSenders((split.hostname, split.port), path, count)
    try:
        yield senders
    finally:
        senders.stop()


@pytest.fixture
def enough_descriptors() -> Iterator[None]:
    """Room for the slow connections at both ends (gunicorn inherits the limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = SLOW_CONNECTIONS + 1024
    if hard != resource.RLIM_INFINITY and hard < needed:
        pytest.skip(f"needs {needed} file descriptors, the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, needed), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_slow_senders_do_not_starve_genuine_deliveries_and_are_cut_off(
    enough_descriptors: None, settings: Settings, owners: Owners, tmp_path: Path
) -> None:
    with gunicorn_web(settings, tmp_path) as base:
        url = owners.url(base, "standard")
        with slow_senders(base, urlsplit(url).path, SLOW_CONNECTIONS) as senders:
            health: list[float] = []
            deliveries: list[float] = []
            for _ in range(10):
                started = time.monotonic()
                assert requests.get(f"{base}/healthz", timeout=20).status_code == 200
                health.append(time.monotonic() - started)
                request = signed.standard()
                started = time.monotonic()
                answer = requests.post(url, data=request.body, headers=request.headers, timeout=20)
                deliveries.append(time.monotonic() - started)
                assert answer.status_code == 200
            print(  # for the record; speed is not asserted here (bench/ measures it)
                f"\nunder {SLOW_CONNECTIONS} slow senders: /healthz median "
                f"{statistics.median(health) * 1000:.1f} ms, delivery median "
                f"{statistics.median(deliveries) * 1000:.1f} ms"
            )
            deadline = time.monotonic() + BODY_SECONDS + 60
            while senders.closed < SLOW_CONNECTIONS:
                assert time.monotonic() < deadline, f"{senders.closed} slow senders cut off"
                time.sleep(0.5)
            assert senders.answers
            assert {data[:12] for data in senders.answers.values()} == {b"HTTP/1.1 408"}
