"""Engine and session setup. One engine per process, built from settings."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from typing import Any

import psycopg2
import psycopg2.extensions
from psycopg2.extras import execute_values
from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker


class BoundedConnection(psycopg2.extensions.connection):
    """A psycopg2 connection that says how long a wait on PostgreSQL may last.

    The bound is read by the web process's wait callback (api/postgres_waits.py): a
    server that accepts connections and then answers nothing (a hung host, SIGSTOP) is
    otherwise waited on for as long as the kernel keeps the socket, 45 s and more.
    None: no bound (a process without that callback ignores it anyway)."""

    wait_seconds: float | None = None


@cache
def bounded_connection(wait_seconds: float) -> type[BoundedConnection]:
    """The connection class whose waits last at most `wait_seconds` (one per bound)."""
    name = f"BoundedConnection{wait_seconds:g}s"
    return type(name, (BoundedConnection,), {"wait_seconds": wait_seconds})


def make_engine(
    database_url: str,
    *,
    pool_size: int = 5,
    connect_timeout: int = 5,
    pre_ping: bool = True,
    wait_seconds: float | None = None,
) -> Engine:
    """`pool_pre_ping` so a worker survives a PostgreSQL restart without a failed task.

    `wait_seconds` bounds every wait on PostgreSQL, for a process that must answer
    within it (the web process, issue 19 item 14): the server cancels a statement
    running longer (`statement_timeout`), a connection whose data goes unacknowledged
    that long is dropped (`tcp_user_timeout`, keepalives for an idle one), a request
    waits for a pooled connection that long at most (`pool_timeout`), and under gevent
    the wait callback gives up on a server that answers nothing at all.
    """
    connect_args: dict[str, Any] = {"connect_timeout": connect_timeout}
    pool_options: dict[str, Any] = {}
    if wait_seconds is not None:
        milliseconds = int(wait_seconds * 1000)
        connect_args |= {
            "options": f"-c statement_timeout={milliseconds}",
            "tcp_user_timeout": milliseconds,
            "keepalives": 1,
            "keepalives_idle": 10,
            "keepalives_interval": 2,
            "keepalives_count": 3,
            "connection_factory": bounded_connection(wait_seconds),
        }
        pool_options["pool_timeout"] = wait_seconds
    return create_engine(
        database_url,
        pool_size=pool_size,
        max_overflow=10,
        pool_pre_ping=pre_ping,
        connect_args=connect_args,
        **pool_options,
    )


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work commits on success and rolls back on any exception."""
    with factory() as session, session.begin():
        yield session


def execute_rows(
    session: Session, sql: str, rows: Sequence[tuple[Any, ...]], *, fetch: bool = False
) -> list[Any]:
    """Run `sql`, whose one `VALUES %s` takes `rows`, as one statement in the session's
    transaction (psycopg2's `execute_values`); the rows it returns with `fetch`.

    For the bulk writes of thousands of rows (the catalog mirror, the ERP's readings):
    SQLAlchemy compiles a multi-row INSERT's bind parameters anew for each statement,
    100,000 mirror rows 4.1 s against 1.2 s this way (sync/catalog.py), and the same
    for the readings (sync/erp_reads.py). The cursor is psycopg2's own, so its errors
    are raised as SQLAlchemy's, as every other statement's are: callers (the plugin
    endpoint's 503, a task's retry) tell an outage or a deadlock from a bug by
    SQLAlchemy's types alone.
    """
    cursor = session.connection().connection.cursor()
    try:
        found = execute_values(cursor, sql, rows, page_size=max(1, len(rows)), fetch=fetch)
    except psycopg2.Error as exc:
        raise DBAPIError.instance(sql, None, exc, psycopg2.Error) from exc
    finally:
        cursor.close()
    return found or []
