"""Waiting until a session is blocked on a row lock: how a test holds one writer
between its check and its insert, to make a race happen every time."""

from __future__ import annotations

import time

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker


def wait_until_blocked(db: sessionmaker[Session], timeout: float = 10.0) -> None:
    """Until some session of this database waits on a lock."""
    deadline = time.monotonic() + timeout
    with db() as session:
        while not session.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
        ).scalar_one():
            assert time.monotonic() < deadline, "no session waited on a lock"
            session.rollback()
            time.sleep(0.01)
