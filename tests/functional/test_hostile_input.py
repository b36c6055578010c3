"""Issue 19's hostile requests over real HTTP to the web process as deployed (gunicorn
with gevent workers, under `stocksync up`): each gets a 4xx (Business Central: 200,
logged), never a 5xx or a hang, and genuine deliveries of every provider still go
through after them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models import WebhookLog, WebhookStatus
from models.crypto import Vault
from settings import Settings
from sync.api_keys import hash_api_key, new_api_key
from tests.factories import make_site, make_source, signed
from tests.support import hostile
from tests.support.receiver import Owners, make_owners, post
from tests.support.stack_up import no_nightly_run_today, stack_up

#: Small enough that an over-limit body is cheap to send.
LIMIT = 64 * 1024
ADMIN_TOKEN = "hostile-input-admin-token-0123456789abcdef"
TIMEOUT = 15

Send = Callable[[], requests.Response]


def _chunks(size: int) -> Iterator[bytes]:
    """A JSON-looking body of `size` bytes, sent without Content-Length."""
    yield b'{"name": "'
    for _ in range(size // 4096):
        yield b"x" * 4096
    yield b'"}'


def _cases(base: str, owners: Owners, api_key: str, site_id: int) -> dict[str, tuple[Send, int]]:
    """Each hostile request by name, with the status it must get."""
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"}
    plugin = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}

    def webhook(provider: str, request: signed.Signed, owner: str | None = None) -> Send:
        url = f"{base}/webhooks/{provider}/{owner or getattr(owners, provider)}"
        return lambda: requests.post(
            url, data=request.body, headers=request.headers, timeout=TIMEOUT
        )

    def call(method: str, path: str, headers: dict[str, str], data: object = None) -> Send:
        return lambda: requests.request(
            method, base + path, data=data, headers=headers, timeout=TIMEOUT
        )

    cases: dict[str, tuple[Send, int]] = {}
    for name, body in hostile.DEEP_BODIES.items():
        # Item 10: before authentication on Business Central's route.
        cases[f"deep-{name}-businesscentral"] = (
            webhook("businesscentral", signed.Signed(body)),
            200,
        )
        cases[f"deep-{name}-woocommerce"] = (
            webhook("woocommerce", hostile.signed_body("woocommerce", body)),
            400,
        )
        cases[f"deep-{name}-admin-post"] = (call("POST", "/api/sites", admin, body), 400)
        cases[f"deep-{name}-admin-patch"] = (
            call("PATCH", f"/api/sites/{site_id}", admin, body),
            400,
        )
        cases[f"deep-{name}-unified"] = (call("POST", "/api/sync/webhook", plugin, body), 400)
    # Item 11.
    for name, raw_id in hostile.UNICODE_IDS.items():
        cases[f"id-{name}-woocommerce"] = (
            webhook("woocommerce", signed.woocommerce(), raw_id),
            404,
        )
        cases[f"id-{name}-businesscentral"] = (
            webhook("businesscentral", signed.businesscentral(), raw_id),
            200,
        )
        cases[f"id-{name}-admin-query"] = (
            call("GET", f"/api/webhooks/log?limit={raw_id}", admin),
            400,
        )
    # Item 12.
    for provider in hostile.TIMED_PROVIDERS:
        for name, when in hostile.OUT_OF_RANGE_TIMES.items():
            cases[f"time-{name}-{provider}"] = (
                webhook(provider, hostile.timed(provider, when)),
                hostile.refused_status(provider),
            )
    # Item 13.
    for provider in sorted(signed.VALID):
        for name, number in hostile.NON_FINITE.items():
            cases[f"number-{name}-{provider}"] = (
                webhook(provider, hostile.with_number(provider, number)),
                hostile.refused_status(provider),
            )
    # Item 9: BigCommerce with its client secret configured, the signature left out.
    unsigned = signed.bigcommerce()
    unsigned.headers = {k: v for k, v in unsigned.headers.items() if not k.startswith("webhook-")}
    cases["bigcommerce-unsigned"] = (webhook("bigcommerce", unsigned), 401)
    # Item 17: over the limit, sent chunked.
    size = LIMIT + 8192
    cases["chunked-unified"] = (call("POST", "/api/sync/webhook", plugin, _chunks(size)), 413)
    cases["chunked-admin"] = (call("POST", "/api/sites", admin, _chunks(size)), 413)
    chunked_webhook = signed.shopify()
    cases["chunked-webhook"] = (
        lambda: requests.post(
            f"{base}/webhooks/shopify/{owners.shopify}",
            data=_chunks(size),
            headers=chunked_webhook.headers,
            timeout=TIMEOUT,
        ),
        413,
    )
    return cases


def _keyed_site(db: sessionmaker[Session], vault: Vault) -> tuple[str, int]:
    key = new_api_key()
    with db.begin() as session:
        source = make_source(session, vault, name="plugin-erp")
        site = make_site(session, vault, source, name="plugin-shop", api_key_hash=hash_api_key(key))
        return key, site.id  # type: ignore[return-value]


@pytest.mark.slow
def test_hostile_requests_get_a_4xx_and_genuine_deliveries_still_work(
    settings: Settings, db: sessionmaker[Session], vault: Vault, tmp_path: Path
) -> None:
    with db.begin() as session:
        owners = make_owners(session, vault)
    api_key, site_id = _keyed_site(db, vault)
    for site in (owners.woocommerce, owners.shopify, owners.bigcommerce, owners.standard, site_id):
        no_nightly_run_today(db, site)
    environ = {"ADMIN_TOKEN": ADMIN_TOKEN, "MAX_WEBHOOK_BODY_BYTES": str(LIMIT)}
    with stack_up(settings, tmp_path / "up.log", environ=environ) as base:
        answers = {
            name: (send().status_code, expected)
            for name, (send, expected) in _cases(base, owners, api_key, site_id).items()
        }
        wrong = {name: got for name, (got, expected) in answers.items() if got != expected}
        assert wrong == {}, json.dumps({n: answers[n] for n in wrong})

        handshake = requests.post(
            f"{base}/webhooks/businesscentral/{owners.businesscentral}",
            params={"validationToken": "<script>alert(1)</script>"},
            timeout=TIMEOUT,
        )
        assert handshake.status_code == 200
        assert handshake.headers["Content-Type"].startswith("text/plain")
        assert handshake.headers["X-Content-Type-Options"] == "nosniff"

        for provider, build in sorted(signed.VALID.items()):
            response = post(owners.url(base, provider), build())
            assert response.status_code == 200, provider
            assert response.headers["Stocksync-Outcome"] == "accepted", provider
    with db() as session:
        accepted = session.scalars(
            select(WebhookLog.provider).where(
                WebhookLog.status != WebhookStatus.REJECTED, WebhookLog.topic != "handshake"
            )
        )
        assert set(accepted) == set(signed.VALID)
