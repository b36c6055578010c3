"""The webhook log through the API: filters, paging, one row, replay of failed events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import redis
from sqlalchemy.orm import Session, sessionmaker

from models import WebhookLog, WebhookStatus
from tests.factories.webhook_log import log_row
from tests.support.admin_api import Api, Shop, error_code


def _ids(api: Api, **query: object) -> list[int]:
    response = api.get("/api/webhooks/log", **query)
    assert response.status_code == 200, response.json
    return [row["id"] for row in response.json["items"]]


def test_filters_and_text_search(api: Api, shop: Shop, db: sessionmaker[Session]) -> None:
    now = datetime.now(UTC)
    with db.begin() as session:
        old = log_row(session, site_id=shop.site_id, received_at=now - timedelta(days=2)).id
        failed = log_row(
            session, site_id=shop.site_id, status=WebhookStatus.FAILED, sku="AB-100_X"
        ).id
        shopify = log_row(session, provider="shopify", topic="products/update", entity="gid://7").id
        ignored = log_row(session, site_id=shop.site_id, status=WebhookStatus.IGNORED).id
    assert _ids(api) == [ignored, shopify, failed, old]
    assert _ids(api, status="failed") == [failed]
    assert _ids(api, provider="shopify") == [shopify]
    assert _ids(api, topic="products/update") == [shopify]
    assert _ids(api, site_id=shop.site_id) == [ignored, failed, old]
    assert _ids(api, since=(now - timedelta(days=1)).isoformat()) == [ignored, shopify, failed]
    assert _ids(api, until=(now - timedelta(days=1)).isoformat()) == [old]
    assert _ids(api, q="ab-100") == [failed]  # case-insensitive, on the SKU
    assert _ids(api, q="gid://") == [shopify]  # and on the entity
    assert _ids(api, q="100%") == []  # wildcards are literal
    assert _ids(api, q="_") == [failed]
    assert api.get("/api/webhooks/log", status="lost").status_code == 422
    assert api.get("/api/webhooks/log", since="yesterday").status_code == 400
    assert api.get("/api/webhooks/log", q="a\x00b").status_code == 422


def test_paging_by_cursor_and_offset(api: Api, db: sessionmaker[Session]) -> None:
    with db.begin() as session:
        ids = [log_row(session, entity=str(n)).id for n in range(7)][::-1]
    first = api.get("/api/webhooks/log", limit=3).json
    assert [r["id"] for r in first["items"]] == ids[:3] and first["next_cursor"] == ids[2]
    second = api.get("/api/webhooks/log", limit=3, cursor=first["next_cursor"]).json
    assert [r["id"] for r in second["items"]] == ids[3:6]
    last = api.get("/api/webhooks/log", limit=3, cursor=second["next_cursor"]).json
    assert [r["id"] for r in last["items"]] == ids[6:] and last["next_cursor"] is None
    assert _ids(api, limit=2, offset=5) == ids[5:]


def test_one_row_has_its_payload(api: Api, db: sessionmaker[Session]) -> None:
    with db.begin() as session:
        row_id = log_row(session, payload={"id": 101, "stock_quantity": 4}).id
    body = api.get(f"/api/webhooks/log/{row_id}").json
    assert body["payload"] == {"id": 101, "stock_quantity": 4}
    assert "payload" not in api.get("/api/webhooks/log").json["items"][0]
    assert api.get("/api/webhooks/log/999").status_code == 404


def test_replay_queues_a_failed_event_once(
    api: Api, shop: Shop, db: sessionmaker[Session], redis_client: redis.Redis
) -> None:
    with db.begin() as session:
        failed = log_row(
            session, site_id=shop.site_id, status=WebhookStatus.FAILED, error="boom", attempts=10
        ).id
        processed = log_row(session, site_id=shop.site_id).id
    response = api.post(f"/api/webhooks/log/{failed}/replay")
    assert response.status_code == 202
    assert response.json == {"id": failed, "status": "queued", "enqueued": True}
    with db() as session:
        row = session.get_one(WebhookLog, failed)
        assert (row.status, row.error, row.queued_at is not None) == ("queued", None, True)
    assert redis_client.llen("events") == 1  # one message, priority 0
    again = api.post(f"/api/webhooks/log/{failed}/replay")
    assert again.status_code == 409 and error_code(again) == "conflict"
    assert api.post(f"/api/webhooks/log/{processed}/replay").status_code == 409
    assert api.post("/api/webhooks/log/999/replay").status_code == 404
    assert redis_client.llen("events") == 1


@pytest.mark.parametrize(
    "limit", ["\u0661", "\u00b2", "\uff15", " 5", "5 ", "1_0", "+5", "0x5", "9" * 5000]
)
def test_an_integer_query_value_is_ascii_digits_only(api: Api, limit: str) -> None:
    """int() reads an Arabic-Indic one as 1, and " 5" and "1_0" too: a query integer is
    `-?[0-9]+`, else 400 (never a 500)."""
    response = api.get("/api/webhooks/log", limit=limit)
    assert response.status_code == 400 and error_code(response) == "bad_request"
