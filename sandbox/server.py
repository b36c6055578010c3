"""Run a sandbox WSGI app over real HTTP: in a thread for tests, in the foreground for CLI."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.serving import make_server


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
        thread.join(timeout=5)


def serve_forever(app: Any, host: str, port: int) -> None:
    """Serve until interrupted (the `stocksync sandbox` command)."""
    server = make_server(host, port, app, threaded=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        # Ctrl-C is how an operator stops a foreground sandbox; exit quietly.
        return
    finally:
        server.server_close()
