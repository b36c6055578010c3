"""ZohoConnection against the Zoho Inventory sandbox, over real HTTP: the credentials
check, and the manual steps that stand in for a webhook API Zoho Inventory lacks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors.errors import ConnectionProblem, PermanentError, TransientError
from connectors.registry import build_connection
from connectors.tokens import MemoryTokenCache
from connectors.types import RemoteSubscription, SubscriptionSpec
from connectors.zoho_connection import ZohoConnection
from sandbox.accounts import DEFAULTS
from sandbox.base import SandboxConfig
from sandbox.server import running
from sandbox.zoho import create_app
from sandbox.zoho.state import ZohoState

URL = "https://sync.example.com/webhooks/zoho/12"
SECRET = "zoho-token-5d2c81"


class Sandbox:
    def __init__(self, url: str, state: ZohoState) -> None:
        self.url = url
        self.state = state

    def connection(self, **overrides: str) -> ZohoConnection:
        credentials = DEFAULTS["zoho"].stored_credentials(self.url) | overrides
        connection = build_connection("zoho", self.url, credentials, token_cache=MemoryTokenCache())
        assert isinstance(connection, ZohoConnection)
        return connection


@pytest.fixture
def zoho() -> Iterator[Sandbox]:
    app = create_app(SandboxConfig(items=5, seed=2))
    with running(app) as url:
        yield Sandbox(url, app.config["SANDBOX_STATE"])


def _problem(connection: ZohoConnection) -> str:
    with pytest.raises(ConnectionProblem) as caught:
        connection.check()
    message = str(caught.value)
    assert "\n" not in message
    for secret in ("client_secret", "refresh_token"):
        assert DEFAULTS["zoho"].sandbox[secret] not in message
    return message


def test_check_passes_with_the_sandbox_account(zoho: Sandbox) -> None:
    zoho.connection().check()

    assert zoho.state.route_calls["GET /inventory/v1/items"] == 1


def test_check_names_refused_credentials(zoho: Sandbox) -> None:
    bad_secret = _problem(zoho.connection(client_secret="not-the-secret"))
    bad_refresh = _problem(zoho.connection(refresh_token="1000.not-the-token"))

    assert (
        bad_secret == "Zoho refused the API credentials (accounts server answered invalid_client)"
    )
    assert bad_refresh == "Zoho refused the API credentials (accounts server answered invalid_code)"
    assert zoho.state.route_calls["GET /inventory/v1/items"] == 0


def test_check_names_a_wrong_organization(zoho: Sandbox) -> None:
    message = _problem(zoho.connection(organization_id="999"))

    assert message.startswith("Zoho Inventory has no organization 999 for these credentials")
    assert "6041" in message


def test_an_outage_is_transient_not_a_problem(zoho: Sandbox) -> None:
    zoho.state.set_faults(outage=True)

    with pytest.raises(TransientError):
        zoho.connection().check()


def test_no_topics_nothing_listed_and_writes_refused(zoho: Sandbox) -> None:
    connection = zoho.connection()
    spec = SubscriptionSpec("item", URL, SECRET)
    remote = RemoteSubscription("1", "item", URL, True)

    assert connection.topics == ()
    assert connection.list_subscriptions() == []
    for call in (
        lambda: connection.create_subscription(spec),
        lambda: connection.update_subscription(remote, spec),
        lambda: connection.delete_subscription(remote),
    ):
        with pytest.raises(PermanentError, match="manual_steps"):
            call()
    assert zoho.state.calls == 0  # none of it called Zoho


def test_manual_steps_carry_the_url_and_token_header_and_no_other_secret(zoho: Sandbox) -> None:
    steps = zoho.connection().manual_steps(SubscriptionSpec("item", URL, SECRET))
    text = "\n".join(steps)

    assert all("\n" not in step for step in steps)
    assert steps[0].startswith(
        "In Zoho Inventory, open Settings > Automation > Workflow Actions > Webhooks"
    )
    assert f"URL to notify: {URL}" in steps
    assert f"Headers: add the header X-Zoho-Webhook-Token with the value {SECRET}" in steps
    assert "Method: POST." in steps
    for field in ("item_id", "sku", "last_modified_time"):
        assert field in text
    assert "Module: Items" in text and "Created or Edited" in text
    for name, value in DEFAULTS["zoho"].sandbox.items():
        if name != "organization_id":
            assert value not in text
