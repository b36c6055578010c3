"""Webhook-log retention: rows older than WEBHOOK_LOG_RETENTION_DAYS are deleted, and
delivery ids older than IDEMPOTENCY_TTL_SECONDS forgotten.

Deleted in chunks, each its own transaction, so a first purge of millions of rows
neither holds one huge transaction nor blocks the receiver's inserts for long.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import CursorResult, TextClause, text
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


#: An expired id is already accepted again (api/intake.py takes its row over); deleting
#: it only keeps the memory to about a TTL's worth of deliveries.
_FORGET = text(
    """
    DELETE FROM webhook_deliveries WHERE ctid IN (
        SELECT ctid FROM webhook_deliveries WHERE seen_at <= :cutoff LIMIT :chunk
    )
    """
)


def purge_webhook_log(sessions: sessionmaker[Session], now: datetime, days: int) -> int:
    """Delete log rows received more than `days` before `now`; return how many."""
    return _in_chunks(sessions, _DELETE, now - timedelta(days=days))


def purge_delivery_memory(sessions: sessionmaker[Session], now: datetime, ttl_seconds: int) -> int:
    """Forget delivery ids seen more than `ttl_seconds` before `now`; return how many."""
    return _in_chunks(sessions, _FORGET, now - timedelta(seconds=ttl_seconds))


def _in_chunks(sessions: sessionmaker[Session], delete: TextClause, cutoff: datetime) -> int:
    total = 0
    while True:
        with transaction(sessions) as session:
            result = session.execute(delete, {"cutoff": cutoff, "chunk": CHUNK})
            deleted = cast(CursorResult[object], result).rowcount
        total += deleted
        if deleted < CHUNK:
            return total
