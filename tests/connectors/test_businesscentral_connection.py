"""BusinessCentralConnection against the Business Central sandbox, over real HTTP: the
credentials check, and subscriptions made, renewed, let expire and deleted, with the
handshake and the notices reaching a local receiver."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from werkzeug.wrappers import Request, Response

from connectors.businesscentral_connection import BusinessCentralConnection
from connectors.errors import ConnectionProblem, TransientError
from connectors.registry import build_connection
from connectors.types import RemoteSubscription, SubscriptionSpec
from sandbox.accounts import DEFAULTS
from sandbox.base import SandboxConfig
from sandbox.businesscentral import create_app
from sandbox.businesscentral import subscriptions as bc_subscriptions
from sandbox.businesscentral.state import BusinessCentralState
from sandbox.server import running

DAY = 24 * 3600
SECRET = "client-state-7f3a9"


class Receiver:
    """Echoes BC's validation token (unless `mute`); answers notices with `status`."""

    def __init__(self) -> None:
        self.status = 200
        self.mute = False
        self.validations: list[str] = []
        self.notices: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        token = request.args.get("validationToken")
        with self._lock:
            if token is not None:
                self.validations.append(request.path)
                reply = Response("no" if self.mute else token, mimetype="text/plain")
            else:
                self.notices.append({"path": request.path, **json.loads(request.get_data())})
                reply = Response(status=self.status)
        return reply(environ, start_response)


class Sandbox:
    def __init__(self, url: str, state: BusinessCentralState) -> None:
        self.url = url
        self.state = state

    def connection(self, **overrides: str) -> BusinessCentralConnection:
        credentials = DEFAULTS["businesscentral"].stored_credentials(self.url) | overrides
        connection = build_connection("businesscentral", self.url, credentials)
        assert isinstance(connection, BusinessCentralConnection)
        return connection

    def control(self, path: str, body: Any) -> None:
        answer = requests.post(f"{self.url}/_sandbox/{path}", json=body, timeout=10)
        assert answer.status_code == 200, answer.text

    def change_stock(self) -> None:
        self.control("stock", {"SKU-000002": 17})
        assert self.state.webhooks.wait_idle(10)


@pytest.fixture
def bc() -> Iterator[Sandbox]:
    app = create_app(SandboxConfig(items=10, seed=5))
    with running(app) as url:
        yield Sandbox(url, app.config["SANDBOX_STATE"])


@pytest.fixture
def receiver() -> Iterator[tuple[str, Receiver]]:
    endpoint = Receiver()
    with running(endpoint) as url:
        yield url, endpoint


def _spec(connection: BusinessCentralConnection, url: str) -> SubscriptionSpec:
    return SubscriptionSpec(connection.topics[0], f"{url}/webhooks/businesscentral/3", SECRET)


def _problem(connection: BusinessCentralConnection) -> str:
    with pytest.raises(ConnectionProblem) as caught:
        connection.check()
    message = str(caught.value)
    assert "\n" not in message
    assert DEFAULTS["businesscentral"].sandbox["client_secret"] not in message
    return message


def test_check_passes_with_the_sandbox_account(bc: Sandbox) -> None:
    bc.connection().check()

    routes = bc.state.route_calls
    assert routes["GET /v2.0/<tenant>/<environment>/api/v2.0/companies"] == 1
    assert routes["GET /v2.0/<tenant>/<environment>/api/v2.0/subscriptions"] == 1


def test_check_names_a_refused_client_secret(bc: Sandbox) -> None:
    message = _problem(bc.connection(client_secret="wrong-secret-123"))

    assert message.startswith(
        "Business Central refused the app credentials (Entra answered 401: AADSTS7000215"
    )
    assert "wrong-secret-123" not in message


def test_check_names_a_company_not_found(bc: Sandbox) -> None:
    missing = "00000000-0000-4000-8000-000000000099"

    message = _problem(bc.connection(company_id=missing))

    assert f"has no company {missing}" in message
    assert bc.state.company_id in message  # and names the one it has


def test_check_names_a_missing_api_permission(bc: Sandbox) -> None:
    bc.control("app", {"api_permission": False})

    message = _problem(bc.connection())

    assert "refused the app's token (401: Authentication_InvalidCredentials" in message
    assert "API.ReadWrite.All" in message


def test_check_names_a_missing_item_permission(bc: Sandbox) -> None:
    bc.control("app", {"item_permission": False})

    message = _problem(bc.connection())

    assert message.startswith("Business Central app may not read items (403:")


def test_an_outage_is_transient_not_a_problem(bc: Sandbox) -> None:
    bc.state.set_faults(outage=True)

    with pytest.raises(TransientError):
        bc.connection().check()


def test_an_unreadable_expiry_is_due_for_renewal_now(
    bc: Sandbox, receiver: tuple[str, Receiver], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every BC subscription expires: one whose expiry cannot be read must be renewed,
    where before it was taken for one that never expires, and lapsed 3 days later."""
    url, _ = receiver
    connection = bc.connection()
    connection.create_subscription(_spec(connection, url))
    monkeypatch.setattr(bc_subscriptions, "instant", lambda when: "in a while")

    [listed] = connection.list_subscriptions()

    # Expiring now: a real date any database session reads back (year 1 did not, in a
    # session west of UTC), and the keeper renews within RENEW_BEFORE of it.
    assert listed.active and listed.expires_at is not None
    assert abs(listed.expires_at - datetime.now(UTC)) < timedelta(minutes=1)


def test_create_runs_the_handshake_and_lists_with_expiry_and_etag(
    bc: Sandbox, receiver: tuple[str, Receiver]
) -> None:
    url, endpoint = receiver
    connection = bc.connection()
    spec = _spec(connection, url)

    created = connection.create_subscription(spec)
    [listed] = connection.list_subscriptions()
    bc.change_stock()

    assert endpoint.validations == ["/webhooks/businesscentral/3"]
    assert created == listed
    assert (listed.topic, listed.url, listed.active) == (spec.topic, spec.url, True)
    assert listed.topic == f"api/v2.0/companies({bc.state.company_id})/items"
    assert listed.version and listed.version.startswith('W/"')
    assert listed.expires_at is not None
    assert abs(listed.expires_at - datetime.now(UTC) - timedelta(days=3)) < timedelta(minutes=1)
    [notice] = endpoint.notices
    assert notice["value"][0]["clientState"] == SECRET


def test_create_refused_when_the_url_does_not_answer_the_handshake(
    bc: Sandbox, receiver: tuple[str, Receiver]
) -> None:
    url, endpoint = receiver
    endpoint.mute = True
    connection = bc.connection()
    spec = _spec(connection, url)

    with pytest.raises(ConnectionProblem) as caught:
        connection.create_subscription(spec)

    assert spec.url in str(caught.value)
    assert SECRET not in str(caught.value)
    assert connection.list_subscriptions() == []


def test_without_renewal_it_is_gone_after_3_days_and_notices_stop(
    bc: Sandbox, receiver: tuple[str, Receiver]
) -> None:
    url, endpoint = receiver
    connection = bc.connection()
    connection.create_subscription(_spec(connection, url))

    bc.control("clock", {"advance": 3 * DAY + 60})
    bc.change_stock()

    assert connection.list_subscriptions() == []
    assert endpoint.notices == []


def test_update_before_expiry_renews_and_repeats_the_handshake(
    bc: Sandbox, receiver: tuple[str, Receiver]
) -> None:
    url, endpoint = receiver
    connection = bc.connection()
    spec = _spec(connection, url)
    created = connection.create_subscription(spec)
    bc.control("clock", {"advance": 2 * DAY})

    renewed = connection.update_subscription(created, spec)
    bc.control("clock", {"advance": 2 * DAY})  # past the first expiry
    bc.change_stock()

    assert renewed.remote_id == created.remote_id
    assert renewed.version != created.version
    assert created.expires_at is not None and renewed.expires_at is not None
    assert renewed.expires_at - created.expires_at > timedelta(days=2) - timedelta(minutes=1)
    assert len(endpoint.validations) == 2
    assert connection.list_subscriptions() == [renewed]
    assert len(endpoint.notices) == 1


def test_update_moves_it_to_a_new_url_and_secret(
    bc: Sandbox, receiver: tuple[str, Receiver]
) -> None:
    url, endpoint = receiver
    connection = bc.connection()
    old = connection.create_subscription(_spec(connection, url))
    moved = SubscriptionSpec(old.topic, f"{url}/webhooks/businesscentral/4", "new-state-8c1")

    updated = connection.update_subscription(old, moved)
    bc.change_stock()

    assert updated.url == moved.url
    assert endpoint.validations[-1] == "/webhooks/businesscentral/4"
    [notice] = endpoint.notices
    assert notice["path"] == "/webhooks/businesscentral/4"
    assert notice["value"][0]["clientState"] == "new-state-8c1"


def test_update_with_a_stale_version_rereads_it(
    bc: Sandbox, receiver: tuple[str, Receiver]
) -> None:
    url, _ = receiver
    connection = bc.connection()
    spec = _spec(connection, url)
    created = connection.create_subscription(spec)
    connection.update_subscription(created, spec)  # `created.version` is now stale

    renewed = connection.update_subscription(created, spec)

    assert renewed.remote_id == created.remote_id
    assert connection.list_subscriptions() == [renewed]


def test_update_of_one_that_expired_creates_it_again(
    bc: Sandbox, receiver: tuple[str, Receiver]
) -> None:
    url, _ = receiver
    connection = bc.connection()
    spec = _spec(connection, url)
    created = connection.create_subscription(spec)
    bc.control("clock", {"advance": 4 * DAY})

    again = connection.update_subscription(created, spec)

    assert again.remote_id != created.remote_id
    assert connection.list_subscriptions() == [again]


def test_a_400_answer_to_a_notification_deletes_it(
    bc: Sandbox, receiver: tuple[str, Receiver]
) -> None:
    url, endpoint = receiver
    connection = bc.connection()
    connection.create_subscription(_spec(connection, url))
    endpoint.status = 400

    bc.change_stock()

    assert connection.list_subscriptions() == []


def test_delete_removes_it_and_a_second_delete_is_no_error(
    bc: Sandbox, receiver: tuple[str, Receiver]
) -> None:
    url, _ = receiver
    connection = bc.connection()
    spec = _spec(connection, url)
    created = connection.create_subscription(spec)
    connection.update_subscription(created, spec)  # stale version: reread, then deleted

    connection.delete_subscription(created)
    connection.delete_subscription(created)
    connection.delete_subscription(RemoteSubscription("nope", spec.topic, spec.url, True))

    assert connection.list_subscriptions() == []
    assert (
        bc.state.route_calls[
            "DELETE /v2.0/<tenant>/<environment>/api/v2.0/subscriptions('<sub_id>')"
        ]
        == 3
    )  # 412, then 204 with the reread tag; then 404; nothing for the unknown one


def test_manual_steps_are_none(bc: Sandbox) -> None:
    connection = bc.connection()

    assert connection.manual_steps(_spec(connection, "https://x.example")) == []
