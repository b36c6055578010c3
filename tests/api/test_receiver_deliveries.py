"""The delivery-id memory through the receiver (docs/architecture.md flow 1): a platform's
retry of a delivery is a duplicate for as long as its id is remembered, per owner,
whatever became of the first row; once the memory expires the id is accepted again."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy.orm import Session, sessionmaker

from api.intake import SEEN_BEFORE
from models import WebhookStatus
from settings import Settings
from tests.factories import signed
from tests.support.admin_api import AUTH
from tests.support.receiver import Owners, back_date, post, rows

TEN_MINUTES = 600


def _outcome(response: requests.Response) -> str:
    assert response.status_code == 200, response.status_code
    return response.headers["Stocksync-Outcome"]


@pytest.mark.parametrize("provider", sorted(signed.VALID))
def test_a_redelivery_ten_minutes_later_is_a_duplicate(
    provider: str, base_url: str, owners: Owners, db: sessionmaker[Session]
) -> None:
    """Every provider, ERPs included (their rows name a source, not a site)."""
    request, url = signed.VALID[provider](), owners.url(base_url, provider)
    assert _outcome(post(url, request)) == "accepted"
    rows(db)  # the relay has queued it
    back_date(db, TEN_MINUTES)
    assert _outcome(post(url, request)) == "duplicate"
    assert [r.status for r in rows(db)] == [WebhookStatus.QUEUED, WebhookStatus.DUPLICATE]


@pytest.mark.parametrize("provider", ["businesscentral", "zoho"])
def test_an_erp_body_posted_three_times_is_accepted_once(
    provider: str, base_url: str, owners: Owners, db: sessionmaker[Session]
) -> None:
    request, url = signed.VALID[provider](), owners.url(base_url, provider)
    outcomes = [_outcome(post(url, request)) for _ in range(3)]
    assert outcomes == ["accepted", "duplicate", "duplicate"]


def test_a_retry_of_a_delivery_coalesced_into_a_window_is_a_duplicate(
    base_url: str, owners: Owners, db: sessionmaker[Session]
) -> None:
    """Issue 18 item 8: id-B, coalesced into id-A's window by the relay, was forgotten."""
    url = owners.url(base_url, "shopify")
    first = signed.shopify(product_id=42, webhook_id="id-A")
    second = signed.shopify(product_id=42, webhook_id="id-B")
    assert [_outcome(post(url, r)) for r in (first, second)] == ["accepted", "accepted"]
    assert [r.status for r in rows(db)] == [WebhookStatus.QUEUED, WebhookStatus.DUPLICATE]
    assert _outcome(post(url, second)) == "duplicate"
    back_date(db, 10)
    assert _outcome(post(url, second)) == "duplicate"
    assert [r.status for r in rows(db)].count(WebhookStatus.QUEUED) == 1


def test_a_retry_storm_of_coalesced_deliveries_accepts_each_id_once(
    base_url: str, owners: Owners, db: sessionmaker[Session]
) -> None:
    """Issue 18 item 8: 300 deliveries of 45 ids (3 products), sent by 12 senders at
    once, were answered `accepted` 125-171 times."""
    url = owners.url(base_url, "shopify")
    requests_by_id = {
        f"id-{n}": signed.shopify(product_id=n % 3 + 1, webhook_id=f"id-{n}") for n in range(45)
    }
    sends = [requests_by_id[f"id-{(n * 7) % 45}"] for n in range(300)]
    with ThreadPoolExecutor(12) as pool:
        outcomes = Counter(pool.map(lambda r: _outcome(post(url, r)), sends))
    assert outcomes == {"accepted": 45, "duplicate": 255}
    # One row per id goes on (queued, or coalesced into its product's window).
    accepted = Counter(r.delivery_id for r in rows(db) if r.error != SEEN_BEFORE)
    assert accepted == Counter(list(requests_by_id))


def test_an_id_is_accepted_again_once_its_memory_expires(
    base_url: str, owners: Owners, db: sessionmaker[Session], settings: Settings
) -> None:
    request, url = signed.shopify(webhook_id="old"), owners.url(base_url, "shopify")
    assert _outcome(post(url, request)) == "accepted"
    back_date(db, settings.idempotency_ttl_seconds - 60)
    assert _outcome(post(url, request)) == "duplicate"
    back_date(db, 61)
    assert _outcome(post(url, request)) == "accepted"
    # ... and remembered afresh from then on.
    assert _outcome(post(url, request)) == "duplicate"


def test_a_time_outside_the_calendar_is_refused_and_the_log_stays_readable(
    base_url: str, owners: Owners, db: sessionmaker[Session]
) -> None:
    """Issue 18 item 12: stored as year 0, the row made every reader of the log fail."""
    before_year_one = "0001-01-01T00:00:00+01:00"
    shopify = signed.shopify()
    shopify.headers["X-Shopify-Triggered-At"] = before_year_one  # not signed by Shopify
    refused = post(owners.url(base_url, "shopify"), shopify)
    assert (refused.status_code, refused.headers["Stocksync-Outcome"]) == (400, "rejected")
    bc = post(
        owners.url(base_url, "businesscentral"), signed.businesscentral(modified=before_year_one)
    )
    # Business Central deletes a subscription on a 4xx (docs/platforms.md section 7).
    assert (bc.status_code, bc.headers["Stocksync-Outcome"]) == (200, "rejected")
    assert [r.status for r in rows(db)] == [WebhookStatus.REJECTED] * 2
    log = requests.get(f"{base_url}/api/webhooks/log", headers=AUTH, timeout=10)
    assert log.status_code == 200
    assert len(log.json()["items"]) == 2
