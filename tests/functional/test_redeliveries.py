"""A platform's genuine redelivery through the real path: the sandbox builds and signs
the delivery, it reaches the receiver over HTTP, the relay and a real worker process it
once; its redelivery 10 minutes later is a duplicate and processed no more; a day later
(IDEMPOTENCY_TTL_SECONDS) the id is forgotten and a delivery of it is processed again.
Time passes by back-dating the rows (the memory runs on the database's clock)."""

from __future__ import annotations

import pytest
import requests
from sqlalchemy.orm import Session, sessionmaker

from models import WebhookStatus
from models.crypto import Vault
from settings import Settings
from tests.support.live import live_stack
from tests.support.receiver import back_date, rows
from tests.support.stack import wait_for
from tests.support.webhook_sink import Delivery, receiving

#: (provider, store platform, ERP): the provider's sandbox sends the delivery.
CASES = [
    ("woocommerce", "woocommerce", "businesscentral"),
    ("shopify", "shopify", "businesscentral"),
    ("bigcommerce", "bigcommerce", "businesscentral"),
    ("businesscentral", "woocommerce", "businesscentral"),
    ("zoho", "woocommerce", "zoho"),
]


def _post(url: str, delivery: Delivery) -> str:
    response = requests.post(url, data=delivery.body, headers=delivery.headers, timeout=10)
    assert response.status_code == 200, response.status_code
    return response.headers["Stocksync-Outcome"]


def _statuses(db: sessionmaker[Session]) -> list[WebhookStatus]:
    return [row.status for row in rows(db)]


def _processed(db: sessionmaker[Session], count: int) -> None:
    wait_for(
        lambda: _statuses(db).count(WebhookStatus.PROCESSED) == count, 60, f"{count} processed"
    )


@pytest.mark.slow
@pytest.mark.parametrize(("provider", "platform", "erp"), CASES, ids=[c[0] for c in CASES])
def test_a_genuine_redelivery_is_processed_once_until_its_id_expires(
    provider: str,
    platform: str,
    erp: str,
    settings: Settings,
    db: sessionmaker[Session],
    vault: Vault,
    redis_client: object,
) -> None:
    with live_stack(settings, db, vault, platform, items=40, drift=0.0, erp=erp) as path:
        stack = path.stack
        sender = stack.erp if provider == erp else stack.store
        sku = sorted(stack.store_stock())[4]
        with receiving() as (sink_url, sink):
            sender.set_faults(webhook_url=sink_url)
            sender.set_stock({sku: sender.stock()[sku] + 9})
            [delivery, *_] = sink.wait_for(1)
        url = path.url(provider)
        assert _post(url, delivery) == "accepted"
        _processed(db, 1)
        back_date(db, 600)
        assert _post(url, delivery) == "duplicate"
        assert _statuses(db) == [WebhookStatus.PROCESSED, WebhookStatus.DUPLICATE]
        back_date(db, settings.idempotency_ttl_seconds)
        assert _post(url, delivery) == "accepted"
        _processed(db, 2)
    assert _statuses(db) == [
        WebhookStatus.PROCESSED,
        WebhookStatus.DUPLICATE,
        WebhookStatus.PROCESSED,
    ]
