"""Builders for sync_runs rows (models/sync.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from models import RunStatus, SyncRun
from tests.factories import add_row


def run_row(session: Session, site_id: int, **overrides: Any) -> SyncRun:
    """A queued manual run of the site."""
    fields: dict[str, Any] = {
        "site_id": site_id,
        "kind": "manual",
        "trigger": "test",
        "status": RunStatus.QUEUED,
    }
    return add_row(session, SyncRun, {**fields, **overrides})
