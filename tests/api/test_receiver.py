"""The accept path over real HTTP, with requests signed exactly as each platform signs."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import requests
from flask import Flask
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from api import owners as owner_cache
from models import EventKind, Site, Source, WebhookStatus
from models.crypto import Vault
from sync.accounts import WEBHOOK_SECRETS
from tests.factories import signed
from tests.support import hostile
from tests.support.admin_api import AUTH
from tests.support.receiver import Owners, post, rows

VALID = signed.VALID


@pytest.mark.parametrize("provider", sorted(VALID))
def test_a_valid_delivery_is_logged_and_queued(
    provider: str, base_url: str, owners: Owners, db: sessionmaker[Session]
) -> None:
    response = post(owners.url(base_url, provider), VALID[provider]())
    assert response.status_code == 200
    assert response.headers["Stocksync-Outcome"] == "accepted"
    [row] = rows(db)
    assert row.status == WebhookStatus.QUEUED
    assert row.provider == provider and row.kind is not None and row.entity


TAMPERED = {
    "woocommerce": signed.woocommerce,
    "shopify": signed.shopify,
    "bigcommerce": signed.bigcommerce,
    "standard": signed.standard,
    "zoho": signed.zoho,
}


@pytest.mark.parametrize("provider", sorted(TAMPERED))
def test_a_tampered_body_is_refused_and_logged(
    provider: str, base_url: str, owners: Owners, db: sessionmaker[Session]
) -> None:
    request = TAMPERED[provider]()
    if provider == "zoho":  # no signature over the body unless an hmac_key is configured
        request.headers["X-Zoho-Webhook-Token"] = "guess"
    else:
        request.body = request.body.replace(b"1", b"2", 1)
    response = post(owners.url(base_url, provider), request)
    assert response.status_code == 401
    assert response.headers["Stocksync-Outcome"] == "rejected"
    [row] = rows(db)
    assert row.status == WebhookStatus.REJECTED and row.error


@pytest.mark.parametrize(
    ("provider", "request_"),
    [
        ("woocommerce", lambda: signed.woocommerce(secret="wrong")),
        ("shopify", lambda: signed.shopify(secret="wrong")),
        ("bigcommerce", lambda: signed.bigcommerce(client_secret="wrong")),
        ("bigcommerce", lambda: signed.bigcommerce(header_secret="wrong")),
        ("standard", lambda: signed.standard(secret="whsec_" + "QUJD" * 8)),
    ],
)
def test_a_wrong_secret_is_refused(
    provider: str, request_: object, base_url: str, owners: Owners, db: sessionmaker[Session]
) -> None:
    response = post(owners.url(base_url, provider), request_())  # type: ignore[operator]
    assert response.status_code == 401
    [row] = rows(db)
    assert row.status == WebhookStatus.REJECTED
    if provider in WEBHOOK_SECRETS:  # the log says which secret the sender must use
        assert (row.error or "").endswith(f"the secret expected is {WEBHOOK_SECRETS[provider]}")


@pytest.mark.parametrize("provider", ["standard", "bigcommerce"])
def test_a_stale_timestamp_is_refused(
    provider: str, base_url: str, owners: Owners, db: sessionmaker[Session]
) -> None:
    stale = datetime.now(UTC) - timedelta(minutes=6)
    request = signed.standard(at=stale) if provider == "standard" else signed.bigcommerce(at=stale)
    response = post(owners.url(base_url, provider), request)
    assert response.status_code == 401
    assert response.headers["Stocksync-Outcome"] == "rejected"
    [row] = rows(db)
    assert row.status == WebhookStatus.REJECTED and "timestamp" in (row.error or "")


def test_garbage_signature_headers_are_a_401_not_a_500(
    base_url: str, owners: Owners, db: sessionmaker[Session]
) -> None:
    request = signed.standard()
    request.headers["webhook-signature"] = "v1,%%%not-base64%%%"
    request.headers["webhook-timestamp"] = "soon"
    assert post(owners.url(base_url, "standard"), request).status_code == 401


def test_businesscentral_never_answers_4xx(
    base_url: str, owners: Owners, db: sessionmaker[Session]
) -> None:
    """Any 4xx but 408/429 deletes the subscription (docs/platforms.md section 7)."""
    url = owners.url(base_url, "businesscentral")
    forged = post(url, signed.businesscentral(client_state="forged"))
    malformed = requests.post(url, data=b"{nope", timeout=10)
    assert forged.status_code == malformed.status_code == 200
    assert [r.status for r in rows(db)] == [WebhookStatus.REJECTED] * 2


def test_businesscentral_refuses_a_deeply_nested_body_with_200(
    base_url: str, owners: Owners, db: sessionmaker[Session]
) -> None:
    """Read before clientState is checked, json's RecursionError was a 500 to anyone.
    Logged, and answered 200 as every BC refusal is (docs/platforms.md section 7)."""
    url = owners.url(base_url, "businesscentral")
    for body in (b"[" * 5000 + b"]" * 5000, b'{"value": [' + b"[" * 5000 + b"]" * 5000 + b"]}"):
        assert requests.post(url, data=body, timeout=10).status_code == 200
    assert [r.status for r in rows(db)] == [WebhookStatus.REJECTED] * 2


def test_businesscentral_handshake_echoes_the_token(
    base_url: str, owners: Owners, db: sessionmaker[Session]
) -> None:
    response = requests.post(
        owners.url(base_url, "businesscentral"), params={"validationToken": "abc 123"}, timeout=10
    )
    assert response.status_code == 200
    assert response.text == "abc 123" and response.headers["Content-Type"].startswith("text/plain")
    assert [r.topic for r in rows(db)] == ["handshake"]


def test_businesscentral_notifications_are_one_event_each(
    base_url: str, owners: Owners, db: sessionmaker[Session]
) -> None:
    ids = ("3f2504e0-4f89-11d3-9a0c-0305e82c3301", "3f2504e0-4f89-11d3-9a0c-0305e82c3302")
    assert post(owners.url(base_url, "businesscentral"), signed.businesscentral(ids)).ok
    logged = rows(db)
    assert sorted(r.entity or "" for r in logged) == sorted(ids)
    assert {r.kind for r in logged} == {EventKind.ERP_ITEM_CHANGED}


def test_woocommerce_ping_gets_exactly_200(
    base_url: str, owners: Owners, db: sessionmaker[Session]
) -> None:
    response = requests.post(
        owners.url(base_url, "woocommerce"),
        data=b"webhook_id=7",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=10,
    )
    assert response.status_code == 200
    assert [(r.status, r.topic) for r in rows(db)] == [(WebhookStatus.IGNORED, "ping")]


def test_unknown_site_provider_and_bad_id_are_404_and_logged(
    base_url: str, owners: Owners, db: sessionmaker[Session]
) -> None:
    request = signed.shopify()
    assert post(f"{base_url}/webhooks/shopify/999999", request).status_code == 404
    assert post(f"{base_url}/webhooks/magento/{owners.shopify}", request).status_code == 404
    assert post(f"{base_url}/webhooks/woocommerce/abc", request).status_code == 404
    # Each its own row: unknown owners of one provider share a row a minute (test_refusals).
    assert [r.status for r in rows(db)] == [WebhookStatus.REJECTED] * 3


@pytest.mark.parametrize(
    ("provider", "raw_id"),
    [
        ("woocommerce", "\u00b2"),  # superscript two
        ("businesscentral", "\u2460"),  # circled one
        ("shopify", "\u0661"),  # Arabic-Indic one: int() reads it as 1
        ("woocommerce", "\uff11"),  # fullwidth one
        ("standard", "1\u0662"),
    ],
    ids=["superscript", "circled", "arabic-indic", "fullwidth", "mixed"],
)
def test_an_id_of_other_than_ascii_digits_is_not_found(
    provider: str, raw_id: str, app: Flask, owners: Owners, db: sessionmaker[Session]
) -> None:
    """`str.isdigit` accepts these: int() then raised (a 500, no secret needed) or read
    "\u0661" as site 1. Ids are ASCII digits only: 404 (Business Central: 200, logged)."""
    request = getattr(signed, provider)()
    client = app.test_client()
    response = client.post(
        f"/webhooks/{provider}/{raw_id}", data=request.body, headers=request.headers
    )
    assert response.status_code == (200 if provider == "businesscentral" else 404)
    assert [r.status for r in rows(db)] == [WebhookStatus.REJECTED]
    assert rows(db)[0].site_id is None and rows(db)[0].source_id is None


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"[1, 2", "body is not JSON"),
        # Python's json module reads NaN and Infinity, which are not JSON; jsonb refuses
        # them, so such a body failed its whole commit batch (503 for every request in
        # it, again on each retry). It is refused alone.
        (b'{"id": 10, "sku": "SKU-1", "price": NaN}', "body is not JSON"),
        # Read as infinity: the same, answered 503 on every retry.
        (b'{"id": 10, "sku": "SKU-1", "price": 1e400}', "body is not JSON: number out of range"),
        # json's RecursionError: a 500.
        (b"[" * 5000 + b"]" * 5000, "body is not JSON: nested deeper than 64 levels"),
    ],
    ids=["truncated", "nan", "1e400", "nested"],
)
def test_malformed_body_is_400(
    body: bytes, error: str, base_url: str, owners: Owners, db: sessionmaker[Session]
) -> None:
    request = signed.woocommerce()
    request.body = body
    request.headers["X-WC-Webhook-Signature"] = signed._b64_hmac(signed.WC_SECRET, request.body)
    assert post(owners.url(base_url, "woocommerce"), request).status_code == 400
    [row] = rows(db)
    assert row.status == WebhookStatus.REJECTED and row.error.startswith(error)


def _post_chunked(url: str, request: signed.Signed) -> requests.Response:
    """POST `request` with its body sent chunked (no Content-Length), in two chunks."""
    chunks = iter([request.body[:10], request.body[10:]])
    return requests.post(url, data=chunks, headers=request.headers, timeout=10)


@pytest.mark.parametrize("send", [post, _post_chunked], ids=["content-length", "chunked"])
def test_body_over_the_limit_is_413(
    send: Callable[[str, signed.Signed], requests.Response],
    base_url: str,
    owners: Owners,
    db: sessionmaker[Session],
) -> None:
    request = signed.shopify()
    request.body = b"x" * (3 * 1024 * 1024)
    assert send(owners.url(base_url, "shopify"), request).status_code == 413
    assert [r.status for r in rows(db)] == [WebhookStatus.REJECTED]


def test_unknown_topic_is_200_ignored(
    base_url: str, owners: Owners, db: sessionmaker[Session]
) -> None:
    response = post(
        owners.url(base_url, "woocommerce"), signed.woocommerce(topic="customer.created")
    )
    assert response.status_code == 200
    assert response.headers["Stocksync-Outcome"] == "ignored"
    assert [r.status for r in rows(db)] == [WebhookStatus.IGNORED]


def test_paused_site_is_200_ignored(
    base_url: str, owners: Owners, db: sessionmaker[Session]
) -> None:
    with db.begin() as session:
        session.execute(update(Site).where(Site.id == owners.shopify).values(webhooks_active=False))
    response = post(owners.url(base_url, "shopify"), signed.shopify())
    assert response.status_code == 200
    [row] = rows(db)
    assert row.status == WebhookStatus.IGNORED and "paused" in (row.error or "")


def test_the_same_delivery_twice_is_a_duplicate(
    base_url: str, owners: Owners, db: sessionmaker[Session], redis_client: object
) -> None:
    request = signed.shopify(webhook_id="same-delivery")
    url = owners.url(base_url, "shopify")
    assert post(url, request).headers["Stocksync-Outcome"] == "accepted"
    redis_client.flushdb()  # type: ignore[attr-defined]  # the database alone still catches it
    assert post(url, request).headers["Stocksync-Outcome"] == "duplicate"
    assert [r.status for r in rows(db)] == [WebhookStatus.QUEUED, WebhookStatus.DUPLICATE]


def test_events_for_one_entity_inside_the_window_are_coalesced(
    base_url: str, owners: Owners, db: sessionmaker[Session]
) -> None:
    url = owners.url(base_url, "shopify")
    for _ in range(5):
        assert post(url, signed.shopify(product_id=42)).ok
    assert post(url, signed.shopify(product_id=43)).ok
    statuses = [(r.entity, r.status) for r in rows(db)]
    first, second = "gid://shopify/Product/42", "gid://shopify/Product/43"
    assert statuses == [(first, WebhookStatus.QUEUED)] + [(first, WebhookStatus.DUPLICATE)] * 4 + [
        (second, WebhookStatus.QUEUED)
    ]


def test_no_secret_or_signature_is_stored(
    base_url: str, owners: Owners, db: sessionmaker[Session]
) -> None:
    request = signed.woocommerce()
    post(owners.url(base_url, "woocommerce"), request)
    signature = request.headers["X-WC-Webhook-Signature"]
    for row in rows(db):
        text = repr(vars(row))
        assert signature not in text and signed.WC_SECRET not in text


#: Every secret the `owners` fixture configures.
SECRETS = (
    signed.WC_SECRET,
    signed.SHOPIFY_SECRET,
    signed.BC_HEADER_SECRET,
    signed.BC_CLIENT_SECRET,
    signed.STANDARD_SECRET,
    signed.ZOHO_TOKEN,
    signed.CLIENT_STATE,
)


def _zoho_body_with_its_token() -> signed.Signed:
    """A merchant-written Zoho body that carries the token as well as its header."""
    item = {"item_id": "4815000000044208", "sku": "SKU-1", "last_modified_time": "2026-12-01"}
    body = {"item": item, "token": signed.ZOHO_TOKEN, "note": f"token={signed.ZOHO_TOKEN}"}
    headers = {"Content-Type": "application/json", "X-Zoho-Webhook-Token": signed.ZOHO_TOKEN}
    return signed.Signed(json.dumps(body).encode(), headers)


@pytest.mark.parametrize(
    ("provider", "request_"),
    [*((name, make) for name, make in sorted(VALID.items())), ("zoho", _zoho_body_with_its_token)],
)
def test_no_secret_in_a_body_reaches_the_log_or_the_admin_api(
    provider: str,
    request_: Callable[[], signed.Signed],
    app: Flask,
    base_url: str,
    owners: Owners,
    db: sessionmaker[Session],
) -> None:
    """Business Central echoes its secret (`clientState`) in every notification, and a
    Zoho body is whatever the merchant wrote: what is stored of a body holds no secret
    (issue 19 item 2)."""
    response = post(owners.url(base_url, provider), request_())
    assert response.headers["Stocksync-Outcome"] == "accepted"
    [row] = rows(db)
    answer = app.test_client().get(f"/api/webhooks/log/{row.id}", headers=AUTH)
    assert answer.status_code == 200 and answer.get_json()["payload"]
    for secret in SECRETS:
        assert secret not in json.dumps(row.payload) and secret not in answer.text


def test_zoho_with_an_hmac_key_requires_the_signature_too(
    base_url: str, owners: Owners, db: sessionmaker[Session], vault: object
) -> None:
    from models import Source

    with db.begin() as session:
        session.get_one(Source, owners.zoho).webhook_secret_sealed = vault.seal(  # type: ignore[attr-defined]
            {"token": signed.ZOHO_TOKEN, "hmac_key": signed.ZOHO_HMAC_KEY}
        )
    url = owners.url(base_url, "zoho")
    unsigned = signed.zoho(item_id="1")
    good = signed.zoho(item_id="2", hmac_key=signed.ZOHO_HMAC_KEY)
    assert post(url, unsigned).status_code == 401
    assert post(url, good).status_code == 200
    assert [r.status for r in rows(db)] == [WebhookStatus.REJECTED, WebhookStatus.QUEUED]


def test_a_signed_payload_with_a_nul_is_accepted_and_stored_without_it(
    base_url: str, owners: Owners, db: sessionmaker[Session]
) -> None:
    """PostgreSQL cannot store JSON's \\u0000; such a delivery was a 503 forever (and
    failed the requests sharing its commit). It is stored, NUL removed, and queued."""
    request = signed.woocommerce(name="Mug\u0000 (blue)")
    assert b"\\u0000" in request.body
    response = post(owners.url(base_url, "woocommerce"), request)
    assert response.status_code == 200
    [row] = rows(db)
    assert row.status == WebhookStatus.QUEUED
    assert row.payload["name"] == "Mug (blue)"


def test_a_chunked_delivery_is_read_to_its_end_and_accepted(
    base_url: str, owners: Owners, db: sessionmaker[Session]
) -> None:
    response = _post_chunked(owners.url(base_url, "shopify"), signed.shopify())
    assert response.status_code == 200
    [row] = rows(db)
    assert row.status == WebhookStatus.QUEUED


@pytest.mark.parametrize(
    ("length", "status"),
    [("\u00b2", 401), ("9" * 5000, 413), ("0" * 30 + "12", 401)],
    ids=["not-ascii-digits", "more-digits-than-int-reads", "leading-zeros"],
)
def test_a_content_length_python_cannot_read_is_no_500(
    length: str, status: int, app: Flask, owners: Owners, db: sessionmaker[Session]
) -> None:
    """`str.isdigit` accepts "²" and int() refuses it, or a number of over 4,300 digits:
    such a header from a WSGI server that passes it on answered 500. Now it is read as
    no body (the signature then fails) or as a body over the limit."""
    request = signed.shopify()
    response = app.test_client().post(
        f"/webhooks/shopify/{owners.shopify}",
        data=request.body,
        headers=request.headers,
        environ_overrides={"CONTENT_LENGTH": length},
    )
    assert response.status_code == status
    assert [r.status for r in rows(db)] == [WebhookStatus.REJECTED]


@pytest.mark.parametrize(
    "when", hostile.OUT_OF_RANGE_TIMES.values(), ids=hostile.OUT_OF_RANGE_TIMES
)
@pytest.mark.parametrize("provider", hostile.TIMED_PROVIDERS)
def test_a_numeric_time_outside_the_calendar_is_refused(
    provider: str, when: float, app: Flask, owners: Owners, db: sessionmaker[Session]
) -> None:
    """OverflowError or ValueError from datetime.fromtimestamp was a 500 (issue 19 item
    12; api/webhooks/event.py `parse_time`): refused, and logged."""
    request = hostile.timed(provider, when)
    response = app.test_client().post(
        f"/webhooks/{provider}/{getattr(owners, provider)}",
        data=request.body,
        headers=request.headers,
    )
    assert response.status_code == hostile.refused_status(provider)
    [row] = rows(db)
    assert row.status == WebhookStatus.REJECTED and "outside the calendar" in (row.error or "")


@pytest.mark.parametrize("number", hostile.NON_FINITE.values(), ids=list(hostile.NON_FINITE))
@pytest.mark.parametrize("provider", sorted(signed.VALID))
def test_a_signed_non_finite_number_is_refused_alone(
    provider: str, number: bytes, app: Flask, owners: Owners, db: sessionmaker[Session]
) -> None:
    """A signed 1e400 was answered 503 on every retry (jsonb refused the batch holding
    it): refused with 400 at parse time (Business Central: 200, logged)."""
    request = hostile.with_number(provider, number)
    response = app.test_client().post(
        f"/webhooks/{provider}/{getattr(owners, provider)}",
        data=request.body,
        headers=request.headers,
    )
    assert response.status_code == hostile.refused_status(provider)
    assert [r.status for r in rows(db)] == [WebhookStatus.REJECTED]


def test_a_secret_rotated_after_it_was_cached_is_taken_at_the_next_delivery(
    base_url: str,
    owners: Owners,
    db: sessionmaker[Session],
    vault: Vault,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A rotation gives our registered webhooks the new secret at once; before, the
    receiver refused them for the rest of its 5 s cache (WooCommerce retries none)."""
    url = owners.url(base_url, "woocommerce")
    assert post(url, signed.woocommerce()).status_code == 200  # the old secret cached
    with db.begin() as session:
        sealed = vault.seal("rotated")
        session.execute(
            update(Site).where(Site.id == owners.woocommerce).values(webhook_secret_sealed=sealed)
        )
    monkeypatch.setattr(owner_cache, "RELOAD_AFTER_SECONDS", 0.0)  # the entry is old enough

    assert post(url, signed.woocommerce(secret="rotated")).status_code == 200
    assert post(url, signed.woocommerce(secret=signed.WC_SECRET)).status_code == 401


def test_the_secret_a_reload_verified_with_is_the_one_kept_out_of_the_log(
    base_url: str,
    owners: Owners,
    db: sessionmaker[Session],
    vault: Vault,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Business Central echoes its clientState in every notification: after a rotation
    the body carries the new secret, which the log must not keep."""
    url = owners.url(base_url, "businesscentral")
    assert post(url, signed.businesscentral()).status_code == 200  # the old secret cached
    with db.begin() as session:
        sealed = vault.seal("rotated-client-state")
        session.execute(
            update(Source)
            .where(Source.id == owners.businesscentral)
            .values(webhook_secret_sealed=sealed)
        )
    monkeypatch.setattr(owner_cache, "RELOAD_AFTER_SECONDS", 0.0)

    notice = signed.businesscentral(
        item_ids=("3f2504e0-4f89-11d3-9a0c-0305e82c3302",), client_state="rotated-client-state"
    )
    assert post(url, notice).status_code == 200

    logged = json.dumps([row.payload for row in rows(db)])
    assert "rotated-client-state" not in logged and signed.CLIENT_STATE not in logged
