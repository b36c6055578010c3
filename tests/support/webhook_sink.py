"""A webhook endpoint for tests: it answers 200 and keeps every delivery as it came.

Headers are kept lower-cased, the form the receiver's `verify(raw_body, headers, ...)`
functions take (api/webhooks/__init__.py), and the body as raw bytes: a signature holds
only for exactly the bytes that were signed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from werkzeug.wrappers import Request, Response

from sandbox.server import running


@dataclass(frozen=True)
class Delivery:
    path: str
    body: bytes
    headers: dict[str, str]
    query: dict[str, str]


class Receiver:
    """The WSGI app; `wait_for` blocks until enough deliveries have arrived."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self._arrived = threading.Condition()

    @Request.application
    def __call__(self, request: Request) -> Response:
        delivery = Delivery(
            request.path,
            request.get_data(),
            {name.lower(): value for name, value in request.headers.items()},
            dict(request.args),
        )
        with self._arrived:
            self.deliveries.append(delivery)
            self._arrived.notify_all()
        return Response("ok")

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Delivery]:
        with self._arrived:
            arrived = self._arrived.wait_for(lambda: len(self.deliveries) >= count, timeout)
        assert arrived, f"{len(self.deliveries)} of {count} deliveries within {timeout} s"
        return list(self.deliveries)


@contextmanager
def receiving() -> Iterator[tuple[str, Receiver]]:
    """A running `Receiver` and its base URL."""
    receiver = Receiver()
    with running(receiver) as url:
        yield url, receiver
