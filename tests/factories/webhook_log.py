"""Builders for webhook_log rows (models/webhook_log.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from models import WebhookLog, WebhookStatus


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
    fields.update(overrides)
    row = WebhookLog(**fields)
    session.add(row)
    session.flush()
    return row
