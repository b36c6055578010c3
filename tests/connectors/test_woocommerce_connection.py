"""WooCommerceConnection against the WooCommerce sandbox, over real HTTP: the key's test,
and our webhooks' life (create, deliveries, disabled by failures, re-activated, deleted)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests
from werkzeug.wrappers import Request, Response

from api.webhooks.woocommerce import is_ping, parse, verify
from connectors.errors import ConnectionProblem, PermanentError, TransientError
from connectors.registry import build_connection
from connectors.types import RemoteSubscription, SubscriptionSpec
from connectors.woocommerce_connection import TOPICS, WooCommerceConnection
from sandbox.base import SandboxConfig
from sandbox.server import running
from sandbox.woocommerce import create_app, hook_rules
from sandbox.woocommerce.state import WooCommerceState
from tests.support.switchable_sink import SwitchableReceiver, switchable

CREDENTIALS = {"consumer_key": "ck_test", "consumer_secret": "cs_test_secret"}
READ_ONLY = {"consumer_key": "ck_reader", "consumer_secret": "cs_reader_secret"}
OUR_SECRET = "our-generated-secret"
WEBHOOKS = "/wp-json/wc/v3/webhooks"
#: Our receiver's public name: the sandbox forwards it to the local sink, as a reverse
#: proxy would (WordPress sends nothing to a loopback address or an odd port).
PUBLIC = "https://hooks.example"


@contextmanager
def sandbox(**config: Any) -> Iterator[tuple[str, WooCommerceState]]:
    app = create_app(SandboxConfig(items=20, credentials=CREDENTIALS, **config))
    with running(app) as base:
        yield base, app.config["SANDBOX_STATE"]


@contextmanager
def serving(status: int, body: bytes, content_type: str) -> Iterator[str]:
    """Some other web site: every path answers `status` with `body`."""

    @Request.application
    def app(request: Request) -> Response:
        return Response(body, status, content_type=content_type)

    with running(app) as url:
        yield url


def problem(connection: WooCommerceConnection) -> str:
    with pytest.raises(ConnectionProblem) as caught:
        connection.check()
    message = str(caught.value)
    assert "\n" not in message
    for secret in (CREDENTIALS["consumer_secret"], READ_ONLY["consumer_secret"], "cs_wrong"):
        assert secret not in message
    return message


def change_stock(base: str, state: WooCommerceState, quantity: int) -> None:
    requests.post(f"{base}/_sandbox/stock", json={"SKU-000001": quantity}, timeout=10)
    assert state.webhooks.wait_idle()


def events(sink: SwitchableReceiver) -> list[Any]:
    return [d for d in sink.receiver.deliveries if not is_ping(d.body, d.headers)]


# check() --------------------------------------------------------------------------------


def test_the_registry_builds_it_with_the_topics_stocksync_reads() -> None:
    connection = build_connection("woocommerce", "https://shop.example", CREDENTIALS)

    assert isinstance(connection, WooCommerceConnection)
    assert connection.topics == TOPICS
    assert set(TOPICS) == {
        "product.created",
        "product.updated",
        "product.deleted",
        "product.restored",
        "order.created",
        "order.updated",
    }
    assert connection.manual_steps(SubscriptionSpec("product.updated", "https://x", "s")) == []


def test_missing_credentials_are_a_connection_problem() -> None:
    with pytest.raises(ConnectionProblem, match="consumer_secret"):
        WooCommerceConnection("https://shop.example", {"consumer_key": "ck"})


def test_check_passes_a_read_write_key_and_changes_nothing() -> None:
    with sandbox() as (base, state):
        WooCommerceConnection(base, CREDENTIALS).check()

    assert state.hooks.all() == []
    assert state.route_calls[f"GET {WEBHOOKS}"] == 1
    assert state.route_calls[f"POST {WEBHOOKS}"] == 1
    assert state.writes == []


@pytest.mark.parametrize(
    "credentials",
    [
        {"consumer_key": "ck_test", "consumer_secret": "cs_wrong"},
        {"consumer_key": "ck_unknown", "consumer_secret": "cs_wrong"},
    ],
    ids=["wrong secret", "unknown key"],
)
def test_check_names_a_rejected_key(credentials: dict[str, str]) -> None:
    with sandbox() as (base, _state):
        message = problem(WooCommerceConnection(base, credentials))

    assert message.startswith("WooCommerce answered 401: consumer key rejected")


def test_check_tells_a_read_only_key_without_writing() -> None:
    with sandbox() as (base, state):
        requests.post(
            f"{base}/_sandbox/api-keys", json=READ_ONLY | {"permissions": "read"}, timeout=10
        ).raise_for_status()
        message = problem(WooCommerceConnection(base, READ_ONLY))

    assert message == "WooCommerce key is read-only: stocksync needs a Read/Write key"
    assert state.hooks.all() == []


def test_check_names_a_key_whose_user_may_not_manage_woocommerce() -> None:
    with sandbox() as (base, state):
        key = READ_ONLY | {"permissions": "read_write", "manages_woocommerce": False}
        requests.post(f"{base}/_sandbox/api-keys", json=key, timeout=10).raise_for_status()
        message = problem(WooCommerceConnection(base, READ_ONLY))

    assert message.startswith("WooCommerce answered 403: the key's user may not manage")
    assert state.route_calls[f"POST {WEBHOOKS}"] == 0


def test_check_names_a_site_that_is_not_woocommerce() -> None:
    with serving(200, b"<html>a shop</html>", "text/html") as url:
        message = problem(WooCommerceConnection(url, CREDENTIALS))

    assert message == (
        f"{url} does not look like a WooCommerce site: "
        "GET /wp-json/wc/v3/webhooks answered text/html, not JSON"
    )


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"<html>Not Found</html>", "text/html"),
        (
            b'{"code":"rest_no_route","message":"No route was found matching the URL and '
            b'request method.","data":{"status":404}}',
            "application/json",
        ),
    ],
    ids=["no WordPress", "WordPress without WooCommerce"],
)
def test_check_names_a_url_without_the_rest_api(body: bytes, content_type: str) -> None:
    with serving(404, body, content_type) as url:
        message = problem(WooCommerceConnection(url, CREDENTIALS))

    assert message == f"no WooCommerce REST API at {url}"


def test_check_on_an_outage_is_transient() -> None:
    with sandbox(outage=True) as (base, _state), pytest.raises(TransientError):
        WooCommerceConnection(base, CREDENTIALS).check()


# Subscriptions --------------------------------------------------------------------------


def test_a_webhook_lives_disabled_reactivated_and_deleted() -> None:
    with switchable() as (sink_url, sink), sandbox(forward={PUBLIC: sink_url}) as (base, state):
        connection = WooCommerceConnection(base, CREDENTIALS)
        spec = SubscriptionSpec("product.updated", f"{PUBLIC}/webhooks/woocommerce/7", OUR_SECRET)
        created = connection.create_subscription(spec)
        change_stock(base, state, 1)
        [first] = events(sink)

        sink.status = 500
        for quantity in range(2, 9):
            change_stock(base, state, quantity)
        [disabled] = connection.list_subscriptions()
        change_stock(base, state, 9)  # not sent while disabled
        failed = len(events(sink))

        sink.status = 200
        reactivated = connection.update_subscription(disabled, spec)
        change_stock(base, state, 10)
        resumed = events(sink)[-1]
        [listed] = connection.list_subscriptions()

        connection.delete_subscription(listed)
        left = connection.list_subscriptions()
        connection.delete_subscription(listed)  # gone already: no error

    assert created == RemoteSubscription(created.remote_id, spec.topic, spec.url, True)
    verify(first.body, first.headers, OUR_SECRET)
    assert first.path == "/webhooks/woocommerce/7"
    assert [event.entity for event in parse(first.body, first.headers)] == ["100"]
    assert disabled.active is False
    assert failed == 1 + 7
    assert reactivated.active is True
    verify(resumed.body, resumed.headers, OUR_SECRET)
    assert len(events(sink)) == 1 + 7 + 1
    assert listed.active is True
    assert left == []


def test_update_moves_a_webhook_to_a_new_url_and_secret() -> None:
    with switchable() as (sink_url, sink), sandbox(forward={PUBLIC: sink_url}) as (base, state):
        connection = WooCommerceConnection(base, CREDENTIALS)
        old = connection.create_subscription(
            SubscriptionSpec("order.updated", f"{PUBLIC}/old", "old-secret")
        )
        spec = SubscriptionSpec("product.updated", f"{PUBLIC}/new", OUR_SECRET)
        moved = connection.update_subscription(old, spec)
        change_stock(base, state, 3)

    [delivery] = events(sink)
    assert moved == RemoteSubscription(old.remote_id, "product.updated", f"{PUBLIC}/new", True)
    assert delivery.path == "/new"
    verify(delivery.body, delivery.headers, OUR_SECRET)


def test_updating_a_deleted_webhook_is_wcs_400_and_creating_needs_a_secret() -> None:
    with sandbox() as (base, _state):
        connection = WooCommerceConnection(base, CREDENTIALS)
        spec = SubscriptionSpec("product.updated", f"{PUBLIC}/h", OUR_SECRET)
        remote = connection.create_subscription(spec)
        connection.delete_subscription(remote)
        with pytest.raises(PermanentError) as caught:
            connection.update_subscription(remote, spec)
        with pytest.raises(ConnectionProblem, match="secret"):
            connection.create_subscription(SubscriptionSpec("product.updated", spec.url, None))

    assert caught.value.status == 400
    assert not isinstance(caught.value, ConnectionProblem)


def test_list_pages_through_every_webhook_with_its_state() -> None:
    with sandbox() as (base, state):
        for number in range(105):
            hook = state.hooks.add(
                "order.created",
                f"https://hooks.example/{number}",
                "s",
                hook_id=str(next(state.hook_ids)),
                name=f"hook {number}",
                status="active",
                pending_delivery=False,
            )
            hook_rules.set_status(hook, ("active", "paused", "disabled")[number % 3])
        listed = WooCommerceConnection(base, CREDENTIALS).list_subscriptions()

    assert [s.url for s in listed] == [f"https://hooks.example/{n}" for n in range(105)]
    assert [s.active for s in listed] == [n % 3 == 0 for n in range(105)]
    assert state.route_calls[f"GET {WEBHOOKS}"] == 2


def test_a_read_only_key_cannot_create_and_says_why() -> None:
    with sandbox() as (base, state):
        requests.post(
            f"{base}/_sandbox/api-keys", json=READ_ONLY | {"permissions": "read"}, timeout=10
        ).raise_for_status()
        connection = WooCommerceConnection(base, READ_ONLY)
        with pytest.raises(ConnectionProblem, match="read-only"):
            connection.create_subscription(
                SubscriptionSpec("product.updated", "https://hooks.example/h", OUR_SECRET)
            )

    assert state.hooks.all() == []
