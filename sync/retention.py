"""Webhook-log retention: rows older than WEBHOOK_LOG_RETENTION_DAYS are deleted.

Deleted in chunks, each its own transaction, so a first purge of millions of rows
neither holds one huge transaction nor blocks the receiver's inserts for long.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import CursorResult, text
from sqlalchemy.orm import Session, sessionmaker

from models.db import transaction

CHUNK = 10_000

_DELETE = text(
    """
    DELETE FROM webhook_log WHERE id IN (
        SELECT id FROM webhook_log WHERE received_at < :cutoff LIMIT :chunk
    )
    """
)


def purge_webhook_log(sessions: sessionmaker[Session], now: datetime, days: int) -> int:
    """Delete log rows received more than `days` before `now`; return how many."""
    cutoff = now - timedelta(days=days)
    total = 0
    while True:
        with transaction(sessions) as session:
            result = session.execute(_DELETE, {"cutoff": cutoff, "chunk": CHUNK})
            deleted = cast(CursorResult[object], result).rowcount
        total += deleted
        if deleted < CHUNK:
            return total
