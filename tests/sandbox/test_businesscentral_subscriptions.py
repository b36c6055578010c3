"""The Business Central sandbox's subscription lifecycle through its real API: the
handshake, 3-day expiry on the sandbox's clock, renewal, and what an answer to a
notification does to a subscription (docs/platforms.md section 7)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests
from werkzeug.wrappers import Request, Response

from sandbox.base import SandboxConfig
from sandbox.businesscentral import create_app
from sandbox.businesscentral.state import BusinessCentralState
from sandbox.server import running

DAY = 24 * 3600
SKU = "SKU-000003"


class Subscriber:
    """A notification URL: echoes BC's validation token, answers notices with `status`."""

    def __init__(self) -> None:
        self.status = 202
        self.validations: list[str] = []
        self.notices: list[dict[str, Any]] = []
        self._arrived = threading.Condition()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        token = request.args.get("validationToken")
        if token is not None:
            self.validations.append(token)
            reply = Response(token, mimetype="text/plain")
        else:
            with self._arrived:
                self.notices.append(json.loads(request.get_data()))
                self._arrived.notify_all()
            reply = Response(status=self.status)
        return reply(environ, start_response)


class BC:
    def __init__(self, url: str, state: BusinessCentralState) -> None:
        self.url = url
        self.state = state
        self.api = f"{url}/v2.0/sandbox/production/api/v2.0"
        self.headers = {"Authorization": f"Bearer {state.tokens.mint()}"}

    def call(self, method: str, path: str, body: Any = None, **headers: str) -> requests.Response:
        return requests.request(
            method, f"{self.api}/{path}", json=body, headers=self.headers | headers, timeout=10
        )

    def subscribe(self, url: str) -> dict[str, Any]:
        body = {
            "notificationUrl": url,
            "resource": f"/{self.state.items_resource}",
            "clientState": "client-state-1",
        }
        created = self.call("POST", "subscriptions", body)
        assert created.status_code == 201, created.text
        return dict(created.json())

    def listed(self) -> list[dict[str, Any]]:
        return list(self.call("GET", "subscriptions").json()["value"])

    def advance(self, seconds: float) -> None:
        answer = requests.post(f"{self.url}/_sandbox/clock", json={"advance": seconds}, timeout=10)
        assert answer.status_code == 200

    def change_stock(self) -> None:
        answer = requests.post(f"{self.url}/_sandbox/stock", json={SKU: 41}, timeout=10)
        assert answer.status_code == 200
        assert self.state.webhooks.wait_idle(10)


@pytest.fixture
def bc() -> Iterator[BC]:
    app = create_app(SandboxConfig(items=10, seed=3))
    with running(app) as url:
        yield BC(url, app.config["SANDBOX_STATE"])


@pytest.fixture
def subscriber() -> Iterator[tuple[str, Subscriber]]:
    endpoint = Subscriber()
    with running(endpoint) as url:
        yield f"{url}/webhooks/businesscentral/7", endpoint


def _expiry(row: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(row["expirationDateTime"])


def test_a_subscription_expires_after_3_days_on_the_clock_and_notices_stop(
    bc: BC, subscriber: tuple[str, Subscriber]
) -> None:
    url, endpoint = subscriber
    created = bc.subscribe(url)
    bc.change_stock()
    assert len(endpoint.validations) == 1
    assert [n["value"][0]["subscriptionId"] for n in endpoint.notices] == [
        created["subscriptionId"]
    ]
    lifetime = _expiry(created) - datetime.fromisoformat(created["lastModifiedDateTime"])
    assert abs(lifetime - timedelta(days=3)) < timedelta(seconds=1)

    bc.advance(3 * DAY - 60)
    assert [row["subscriptionId"] for row in bc.listed()] == [created["subscriptionId"]]
    bc.advance(120)
    bc.change_stock()

    assert bc.listed() == []
    assert len(endpoint.notices) == 1  # none after the expiry


def test_renewal_before_expiry_repeats_the_handshake_and_extends_from_now(
    bc: BC, subscriber: tuple[str, Subscriber]
) -> None:
    url, endpoint = subscriber
    created = bc.subscribe(url)
    bc.advance(2 * DAY)
    one = f"subscriptions('{created['subscriptionId']}')"

    renewed = bc.call("PATCH", one, {}, **{"If-Match": created["@odata.etag"]})
    bc.advance(2 * DAY)  # 4 days after creation, 2 after renewal
    bc.change_stock()

    assert renewed.status_code == 200
    assert len(endpoint.validations) == 2
    extended = _expiry(renewed.json()) - _expiry(created)
    assert abs(extended - timedelta(days=2)) < timedelta(seconds=5)
    assert renewed.json()["@odata.etag"] != created["@odata.etag"]
    assert [row["subscriptionId"] for row in bc.listed()] == [created["subscriptionId"]]
    assert len(endpoint.notices) == 1


def test_a_400_answer_to_a_notification_deletes_the_subscription_at_once(
    bc: BC, subscriber: tuple[str, Subscriber]
) -> None:
    url, endpoint = subscriber
    bc.subscribe(url)
    endpoint.status = 400

    bc.change_stock()
    bc.change_stock()

    assert bc.listed() == []
    assert len(endpoint.notices) == 1


@pytest.mark.parametrize("status", [408, 429, 503])
def test_retried_answers_keep_the_subscription_for_36_hours(
    bc: BC, subscriber: tuple[str, Subscriber], status: int
) -> None:
    url, endpoint = subscriber
    bc.subscribe(url)
    endpoint.status = status

    bc.change_stock()
    bc.advance(35 * 3600)
    kept = bc.listed()
    bc.change_stock()  # still delivered while BC retries
    bc.advance(2 * 3600)

    assert len(kept) == 1
    assert len(endpoint.notices) == 2
    assert bc.listed() == []  # failing for over 36 hours


def test_a_success_ends_the_failing_run(bc: BC, subscriber: tuple[str, Subscriber]) -> None:
    url, endpoint = subscriber
    bc.subscribe(url)
    endpoint.status = 500
    bc.change_stock()
    bc.advance(30 * 3600)
    endpoint.status = 200
    bc.change_stock()

    bc.advance(10 * 3600)

    assert len(bc.listed()) == 1


def test_an_unreachable_subscriber_is_retried_not_deleted(
    bc: BC, subscriber: tuple[str, Subscriber]
) -> None:
    url, _ = subscriber
    bc.subscribe(url)
    bc.state.hooks.all()[0].url = "http://127.0.0.1:9/gone"  # its receiver went away

    bc.change_stock()
    bc.advance(3600)

    assert len(bc.listed()) == 1
    assert bc.state.hooks.all()[0].failures == 1


def test_handshake_and_notices_go_through_the_forward(
    subscriber: tuple[str, Subscriber],
) -> None:
    url, endpoint = subscriber
    local = url.rsplit("/webhooks/", 1)[0]
    config = SandboxConfig(items=10, forward={"https://hooks.example.com": local})
    app = create_app(config)
    with running(app) as base:
        bc = BC(base, app.config["SANDBOX_STATE"])
        created = bc.subscribe("https://hooks.example.com/webhooks/businesscentral/7")
        bc.change_stock()

    assert created["notificationUrl"] == "https://hooks.example.com/webhooks/businesscentral/7"
    assert len(endpoint.validations) == 1
    assert len(endpoint.notices) == 1


def test_delete_needs_the_current_etag(bc: BC, subscriber: tuple[str, Subscriber]) -> None:
    url, _ = subscriber
    created = bc.subscribe(url)
    one = f"subscriptions('{created['subscriptionId']}')"

    missing = bc.call("DELETE", one)
    deleted = bc.call("DELETE", one, **{"If-Match": created["@odata.etag"]})

    assert (missing.status_code, deleted.status_code) == (400, 204)
    assert bc.listed() == []


def test_at_most_200_subscriptions(bc: BC, subscriber: tuple[str, Subscriber]) -> None:
    url, _ = subscriber
    for _ in range(200):
        bc.state.hooks.add(bc.state.items_resource, url, "x")

    refused = bc.call(
        "POST",
        "subscriptions",
        {"notificationUrl": url, "resource": f"/{bc.state.items_resource}", "clientState": "s"},
    )

    assert refused.status_code == 400
    assert "200" in refused.json()["error"]["message"]
