"""The WooCommerce sandbox's `/wc/v3/webhooks` and its failure rule, through real HTTP.

What WC's code does (sandbox/woocommerce/hook_rules.py, docs/platforms.md section 1):
the 7th failed delivery in a row disables a webhook, a success resets the count, and a
`PUT status=active` re-activates it without resetting the count.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests

from api.webhooks.woocommerce import is_ping, verify
from sandbox.accounts import DEFAULTS
from sandbox.base import SandboxConfig
from sandbox.server import running
from sandbox.woocommerce import create_app
from sandbox.woocommerce.state import WooCommerceState
from tests.support.switchable_sink import SwitchableReceiver, switchable
from tests.support.webhook_sink import receiving

ACCOUNT = DEFAULTS["woocommerce"].sandbox
AUTH = (ACCOUNT["consumer_key"], ACCOUNT["consumer_secret"])
HOOKS = "/wp-json/wc/v3/webhooks"
HOOK_SECRET = "hook-secret"
#: Our receiver's public name: the sandbox forwards it to the local sink, as a reverse
#: proxy would (WordPress sends nothing to a loopback address or an odd port).
PUBLIC = "https://hooks.example"


@contextmanager
def sandbox(**config: Any) -> Iterator[tuple[str, WooCommerceState]]:
    app = create_app(SandboxConfig(items=20, **config))
    with running(app) as base:
        yield base, app.config["SANDBOX_STATE"]


def call(method: str, url: str, **kwargs: Any) -> requests.Response:
    kwargs.setdefault("auth", AUTH)
    return requests.request(method, url, timeout=10, **kwargs)


def create(base: str, topic: str, url: str, secret: str = HOOK_SECRET, **more: Any) -> Any:
    body = {"topic": topic, "delivery_url": url, "secret": secret, **more}
    response = call("POST", base + HOOKS, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def change_stock(base: str, state: WooCommerceState, quantity: int) -> None:
    """A stock change from outside the API (an order): WC sends `product.updated`."""
    requests.post(f"{base}/_sandbox/stock", json={"SKU-000001": quantity}, timeout=10)
    assert state.webhooks.wait_idle()


def status(base: str, hook_id: int) -> str:
    return str(call("GET", f"{base}{HOOKS}/{hook_id}").json()["status"])


def events(sink: SwitchableReceiver) -> list[Any]:
    """Deliveries other than the creation pings."""
    return [d for d in sink.receiver.deliveries if not is_ping(d.body, d.headers)]


# The API --------------------------------------------------------------------------------


def test_create_answers_wcs_fields_and_pings_without_a_signature() -> None:
    with receiving() as (sink_url, sink), sandbox(forward={PUBLIC: sink_url}) as (base, _state):
        response = call(
            "POST",
            base + HOOKS,
            json={
                "name": "ours",
                "topic": "product.updated",
                "delivery_url": f"{PUBLIC}/h",
                "secret": "s",
            },
        )
        ping = sink.wait_for(1)[0]
        later = call("GET", response.headers["Location"]).json()

    body = response.json()
    assert response.status_code == 201
    assert body["status"] == "active"
    assert (body["name"], body["topic"], body["resource"], body["event"]) == (
        "ours",
        "product.updated",
        "product",
        "updated",
    )
    assert body["delivery_url"] == f"{PUBLIC}/h"
    assert "woocommerce_update_product" in body["hooks"]
    assert body["date_created"] == body["date_created_gmt"]
    assert body["date_modified"] is None  # answered before the ping's save
    assert "secret" not in body and "secret" not in later
    assert response.headers["Location"].endswith(f"{HOOKS}/{body['id']}")
    assert ping.body == f"webhook_id={body['id']}".encode()
    assert not any(name.startswith("x-wc-") for name in ping.headers)
    assert later["date_modified"] is not None  # the ping answered 200 and saved


def test_a_failed_ping_leaves_the_webhook_active_and_pending() -> None:
    """REST create ignores the ping's answer; the next save of the active webhook pings
    again while the ping is pending (WC_Webhook_Data_Store::update())."""
    with switchable() as (sink_url, sink), sandbox(forward={PUBLIC: sink_url}) as (base, _state):
        sink.status = 500
        hook = create(base, "product.updated", f"{PUBLIC}/h")
        first = call("GET", f"{base}{HOOKS}/{hook['id']}").json()
        sink.status = 200
        call("PUT", f"{base}{HOOKS}/{hook['id']}", json={"name": "renamed"})
        call("PUT", f"{base}{HOOKS}/{hook['id']}", json={"name": "again"})

    pings = [d for d in sink.receiver.deliveries if is_ping(d.body, d.headers)]
    assert first["status"] == "active"
    assert first["date_modified"] is None
    assert len(pings) == 2  # at creation, then at the first save; none once answered 200


def test_create_validates_like_wordpress() -> None:
    with sandbox() as (base, _state):
        missing = call("POST", base + HOOKS, json={})
        anonymous = call("POST", base + HOOKS, json={"topic": "product.updated"}, auth=None)
        not_logged_in = call(
            "POST",
            base + HOOKS,
            json={"topic": "product.updated", "delivery_url": "https://x.example/h"},
            auth=None,
        )
        topic = call(
            "POST",
            base + HOOKS,
            json={"topic": "product.sold", "delivery_url": "https://x.example/h"},
        )
        url = call(
            "POST",
            base + HOOKS,
            json={"topic": "product.updated", "delivery_url": "ftp://x.example"},
        )
        bad_status = call(
            "POST",
            base + HOOKS,
            json={"topic": "order.created", "delivery_url": "https://x.example/h", "status": "on"},
        )
        paused = create(base, "order.created", "https://x.example/h", status="paused")
        listed = call("GET", base + HOOKS).json()

    assert missing.status_code == 400
    assert missing.json()["code"] == "rest_missing_callback_param"
    assert missing.json()["data"]["params"] == ["topic", "delivery_url"]
    # Arguments are checked before the route's permission, as WordPress dispatches.
    assert anonymous.status_code == 400
    assert not_logged_in.status_code == 401
    assert not_logged_in.json()["code"] == "woocommerce_rest_cannot_create"
    assert topic.json()["code"] == "woocommerce_rest_shop_webhook_invalid_topic"
    assert url.json()["code"] == "woocommerce_rest_shop_webhook_invalid_delivery_url"
    assert (bad_status.status_code, bad_status.json()["code"]) == (400, "rest_invalid_param")
    assert paused["status"] == "active"  # create ignores `status`
    assert [h["id"] for h in listed] == [paused["id"]]


def test_list_pages_newest_first_and_filters_by_status() -> None:
    with sandbox() as (base, _state):
        ids = [create(base, "product.updated", f"https://x.example/{n}")["id"] for n in range(3)]
        call("PUT", f"{base}{HOOKS}/{ids[1]}", json={"status": "paused"})
        first = call("GET", base + HOOKS, params={"per_page": 2})
        second = call("GET", base + HOOKS, params={"per_page": 2, "page": 2})
        paused = call("GET", base + HOOKS, params={"status": "paused"}).json()
        active = call(
            "GET", base + HOOKS, params={"status": "active", "orderby": "id", "order": "asc"}
        )
        bogus = call("GET", base + HOOKS, params={"status": "broken"})
        anonymous = call("GET", base + HOOKS, auth=None)

    assert first.headers["X-WP-Total"] == "3"
    assert first.headers["X-WP-TotalPages"] == "2"
    assert [h["id"] for h in first.json() + second.json()] == ids[::-1]
    assert [(h["id"], h["status"]) for h in paused] == [(ids[1], "paused")]
    assert [h["id"] for h in active.json()] == [ids[0], ids[2]]
    assert (bogus.status_code, bogus.json()["code"]) == (400, "rest_invalid_param")
    assert anonymous.json()["code"] == "woocommerce_rest_cannot_view"


def test_unknown_ids_and_deletes_answer_as_wc() -> None:
    with sandbox() as (base, _state):
        hook = create(base, "product.deleted", "https://x.example/h")
        url = f"{base}{HOOKS}/{hook['id']}"
        get_unknown = call("GET", f"{base}{HOOKS}/999")
        put_unknown = call("PUT", f"{base}{HOOKS}/999", json={"status": "active"})
        trash = call("DELETE", url)
        deleted = call("DELETE", url, params={"force": "true"})
        again = call("DELETE", url, params={"force": "true"})
        gone = call("GET", url)

    assert (get_unknown.status_code, get_unknown.json()["message"]) == (400, "ID is invalid.")
    assert put_unknown.status_code == 400
    assert (trash.status_code, trash.json()["code"]) == (
        501,
        "woocommerce_rest_trash_not_supported",
    )
    assert deleted.status_code == 200
    assert deleted.json()["id"] == hook["id"]
    assert (again.status_code, again.json()["message"]) == (404, "Invalid ID.")
    assert gone.status_code == 400


# Deliveries -----------------------------------------------------------------------------


def test_events_reach_each_active_hook_of_their_topic_signed_with_its_secret() -> None:
    with (
        receiving() as (sink_url, sink),
        sandbox(webhook_url=f"{sink_url}/configured", forward={PUBLIC: sink_url}) as (base, state),
    ):
        products = create(base, "product.updated", f"{PUBLIC}/products", secret="secret-a")
        paused = create(base, "product.updated", f"{PUBLIC}/paused", secret="secret-b")
        orders = create(base, "order.created", f"{PUBLIC}/orders", secret="secret-c")
        call("PUT", f"{base}{HOOKS}/{paused['id']}", json={"status": "paused"})
        sink.wait_for(3)  # the pings
        change_stock(base, state, 5)
        order = {"lines": [{"sku": "SKU-000002", "quantity": 1}], "status": "processing"}
        requests.post(f"{base}/_sandbox/orders", json=order, timeout=10)
        assert state.webhooks.wait_idle()

    by_path: dict[str, list[Any]] = {}
    for delivery in sink.deliveries:
        if not is_ping(delivery.body, delivery.headers):
            by_path.setdefault(delivery.path, []).append(delivery)
    product_hook = by_path["/products"]
    assert [d.headers["x-wc-webhook-topic"] for d in product_hook] == ["product.updated"] * 2
    for delivery in product_hook:
        verify(delivery.body, delivery.headers, "secret-a")
        assert delivery.headers["x-wc-webhook-id"] == str(products["id"])
    [order_delivery] = by_path["/orders"]
    verify(order_delivery.body, order_delivery.headers, "secret-c")
    assert order_delivery.headers["x-wc-webhook-id"] == str(orders["id"])
    assert "/paused" not in by_path
    # The configured webhook keeps its own secret and id 1.
    configured = by_path["/configured"]
    assert len(configured) == 3
    for delivery in configured:
        verify(delivery.body, delivery.headers, DEFAULTS["woocommerce"].webhook_secret)
        assert delivery.headers["x-wc-webhook-id"] == "1"


def test_seventh_failure_in_a_row_disables_and_reactivating_keeps_the_count() -> None:
    with switchable() as (sink_url, sink), sandbox(forward={PUBLIC: sink_url}) as (base, state):
        hook = create(base, "product.updated", f"{PUBLIC}/h")
        sink.status = 500
        for quantity in range(1, 7):
            change_stock(base, state, quantity)
        after_six = status(base, hook["id"])
        change_stock(base, state, 7)
        after_seven = status(base, hook["id"])
        change_stock(base, state, 8)  # disabled: not even attempted
        attempted = len(events(sink))

        reactivated = call("PUT", f"{base}{HOOKS}/{hook['id']}", json={"status": "active"}).json()
        change_stock(base, state, 9)  # the count is still over the limit
        after_one_more = status(base, hook["id"])

        sink.status = 200
        call("PUT", f"{base}{HOOKS}/{hook['id']}", json={"status": "active"})
        change_stock(base, state, 10)  # a success resets the count
        sink.status = 500
        for quantity in range(11, 17):
            change_stock(base, state, quantity)
        after_reset_and_six = status(base, hook["id"])
        change_stock(base, state, 17)
        final = status(base, hook["id"])

    assert (after_six, after_seven) == ("active", "disabled")
    assert attempted == 7
    assert reactivated["status"] == "active"
    assert after_one_more == "disabled"
    assert after_reset_and_six == "active"
    assert final == "disabled"
    assert len(events(sink)) == 7 + 1 + 1 + 7


def test_a_read_only_key_reads_but_writes_nothing() -> None:
    key = ("ck_readonly", "cs_readonly")
    with sandbox() as (base, state):
        added = requests.post(
            f"{base}/_sandbox/api-keys",
            json={"consumer_key": key[0], "consumer_secret": key[1], "permissions": "read"},
            timeout=10,
        )
        listed = call("GET", base + HOOKS, auth=key)
        created = call(
            "POST",
            base + HOOKS,
            json={"topic": "product.updated", "delivery_url": "https://x.example"},
            auth=key,
        )
        empty = call("POST", base + HOOKS, json={}, auth=key)
        batch = call("POST", f"{base}/wp-json/wc/v3/products/batch", json={"update": []}, auth=key)
        wrong_secret = call("GET", base + HOOKS, auth=(key[0], "cs_wrong"))

    assert added.status_code == 201
    assert listed.status_code == 200
    for refused in (created, empty, batch):
        assert refused.status_code == 401
        assert refused.json()["message"] == "The API key provided does not have write permissions."
    assert wrong_secret.json()["message"] == "Consumer secret is invalid."
    assert state.hooks.all() == []


def test_wordpress_sends_nothing_to_a_local_address_or_an_odd_port() -> None:
    """`wp_http_validate_url()`: each attempt is a WP_Error, so the ping goes unanswered
    and deliveries count as failures until the webhook is disabled."""
    with (
        switchable() as (sink_url, sink),
        sandbox(forward={f"{PUBLIC}:8080": sink_url, PUBLIC: sink_url}) as (base, state),
    ):
        refused = [
            create(base, "product.updated", f"{sink_url}/loopback"),
            create(base, "product.updated", "http://192.168.1.5/lan"),
            create(base, "product.updated", f"{PUBLIC}:8443/odd-port"),
        ]
        allowed = create(base, "product.updated", f"{PUBLIC}:8080/allowed-port")
        for quantity in range(1, 8):
            change_stock(base, state, quantity)
        statuses = [status(base, hook["id"]) for hook in [*refused, allowed]]

    assert statuses == ["disabled", "disabled", "disabled", "active"]
    assert {d.path for d in sink.receiver.deliveries} == {"/allowed-port"}


def test_a_key_of_a_user_who_may_not_manage_woocommerce_gets_403() -> None:
    """Logged in, but without `manage_woocommerce`: `rest_authorization_required_code()`."""
    key = ("ck_customer", "cs_customer")
    with sandbox() as (base, _state):
        requests.post(
            f"{base}/_sandbox/api-keys",
            json={
                "consumer_key": key[0],
                "consumer_secret": key[1],
                "permissions": "read_write",
                "manages_woocommerce": False,
            },
            timeout=10,
        ).raise_for_status()
        listed = call("GET", base + HOOKS, auth=key)
        created = call(
            "POST",
            base + HOOKS,
            json={"topic": "product.updated", "delivery_url": f"{PUBLIC}/h"},
            auth=key,
        )

    assert (listed.status_code, listed.json()["code"]) == (403, "woocommerce_rest_cannot_view")
    assert (created.status_code, created.json()["code"]) == (403, "woocommerce_rest_cannot_create")
