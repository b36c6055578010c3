"""Builders for webhook_log rows (models/webhook_log.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from models import WebhookLog, WebhookStatus
from tests.factories import add_row


def log_row(session: Session, **overrides: Any) -> WebhookLog:
    """A webhook_log row; defaults describe a processed WooCommerce product update."""
    fields: dict[str, Any] = {
        "provider": "woocommerce",
        "topic": "product.updated",
        "kind": "store.product.upsert",
        "entity": "101",
        "sku": "SKU-0001",
        "status": WebhookStatus.PROCESSED,
    }
    return add_row(session, WebhookLog, {**fields, **overrides})


def received_rows(db: sessionmaker[Session], keys: list[str]) -> list[int]:
    """One `received` row per dedupe key, committed, as the receiver leaves them for
    the relay; their ids in order."""
    with db.begin() as session:
        rows = [
            WebhookLog(provider="shopify", status=WebhookStatus.RECEIVED, dedupe_key=key)
            for key in keys
        ]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]
