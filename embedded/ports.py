"""A free loopback TCP port, for the servers our code starts (embedded Redis, the
benchmarks' gunicorn, test stacks)."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port free now; another process could take it before it is bound (fine for
    loopback servers started a moment later, which fail loudly if it was)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
