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


def port_in_use(host: str, port: int) -> bool:
    """Whether a server could not bind `host:port` now: another process listens there.
    Bound with SO_REUSEADDR as gunicorn binds, so a port in TIME_WAIT after a stop counts
    as free, as it is to the server that binds it next."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False
