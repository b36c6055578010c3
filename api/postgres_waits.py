"""psycopg2 waiting through gevent's hub, and never for longer than its engine allows.

Installed in each gunicorn web worker (api/gunicorn_conf.py `post_fork`). Why not
psycogreen's callback: it makes a query block only its own greenlet, but waits without
end, so a PostgreSQL that accepts connections and answers nothing (a hung host, a
stuck disk, SIGSTOP) held every webhook, `/readyz`, admin and `/metrics` request for
45 s and more (issue 19 item 14). Here a wait lasts at most the `wait_seconds` of the
connection's engine (models/db.py `make_engine`); then psycopg2 closes the connection,
SQLAlchemy discards it from its pool, and the request answers with its outage status.
Server-side timeouts alone cannot do this: a stopped server cancels nothing.
"""

from __future__ import annotations

import time
from typing import Any

import psycopg2
import psycopg2.extensions
from gevent.socket import wait_read, wait_write


def bounded_wait(conn: Any) -> None:
    """Poll `conn` until its operation (a connection, a statement) is done, waiting on
    its socket cooperatively; raise OperationalError past the connection's bound."""
    bound: float | None = getattr(conn, "wait_seconds", None)
    deadline = None if bound is None else time.monotonic() + bound
    while True:
        state = conn.poll()
        if state == psycopg2.extensions.POLL_OK:
            return
        if state == psycopg2.extensions.POLL_READ:
            wait = wait_read
        elif state == psycopg2.extensions.POLL_WRITE:
            wait = wait_write
        else:
            raise psycopg2.OperationalError(f"unexpected poll state {state!r}")
        if deadline is None:
            wait(conn.fileno())
            continue
        timeout = max(deadline - time.monotonic(), 0.0)
        expired = psycopg2.OperationalError(f"PostgreSQL did not answer within {bound:g} s")
        wait(conn.fileno(), timeout=timeout, timeout_exc=expired)


def install() -> None:
    """Make every psycopg2 wait of this process go through `bounded_wait`."""
    psycopg2.extensions.set_wait_callback(bounded_wait)
