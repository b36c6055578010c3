"""Unknown-owner refusals: one log row per provider per minute and process, carrying how
many requests it stands for, not one row each (issue 19 item 16)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from api import refusals as refusals_module
from api.refusals import RefusalTally
from models import WebhookStatus
from tests.factories import signed
from tests.support.receiver import Owners, post, rows


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


def test_the_first_refusal_of_a_minute_is_logged_and_the_rest_counted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = _Clock()
    monkeypatch.setattr(refusals_module, "time", clock)
    tally = RefusalTally()
    assert [tally.count("shopify") for _ in range(5)] == [1, 0, 0, 0, 0]
    assert tally.count("zoho") == 1  # per provider
    clock.now += refusals_module.WINDOW_SECONDS
    # The next row stands for itself and the 4 requests not logged since the last one.
    assert tally.count("shopify") == 5
    assert tally.count("shopify") == 0


def test_a_flood_at_unknown_ids_leaves_one_row_per_provider_with_its_count(
    app: Flask, base_url: str, owners: Owners, db: sessionmaker[Session]
) -> None:
    request = signed.shopify()

    def refused(owner_id: int) -> int:
        return post(f"{base_url}/webhooks/shopify/{owner_id}", request).status_code

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(refused, range(10_000_000, 10_000_200)))
    assert answers == [404] * 200
    assert post(f"{base_url}/webhooks/zoho/9999999", signed.zoho()).status_code == 404
    logged = rows(db)
    assert [(r.provider, r.status) for r in logged] == [
        ("shopify", WebhookStatus.REJECTED),
        ("zoho", WebhookStatus.REJECTED),
    ]
    assert logged[0].payload == {"refused_requests": 1}
    # The owner cache holds at most its bound, whatever the flood.
    assert len(app.extensions["stocksync"].owners) <= 10_000
