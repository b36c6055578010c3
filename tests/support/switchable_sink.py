"""A webhook endpoint that answers whatever status a test sets, and keeps every request.

For a platform's failure rules (WooCommerce disables a webhook after repeated failed
deliveries): set `status` to 500, make changes, set it back to 200. It wraps
`tests.support.webhook_sink.Receiver`, so deliveries are kept the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from sandbox.server import running
from tests.support.webhook_sink import Receiver


class SwitchableReceiver:
    """The WSGI app: records each request in `receiver`, answers `status`."""

    def __init__(self) -> None:
        self.receiver = Receiver()
        self.status = 200

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        status = self.status

        def start(_status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            return start_response(f"{status} SET BY TEST", headers, exc_info)

        return self.receiver(environ, start)


@contextmanager
def switchable() -> Iterator[tuple[str, SwitchableReceiver]]:
    """A running `SwitchableReceiver` and its base URL."""
    app = SwitchableReceiver()
    with running(app) as url:
        yield url, app
