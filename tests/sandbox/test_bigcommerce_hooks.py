"""The BigCommerce sandbox's `/v3/hooks` over real HTTP: the API, deliveries to each
registered hook, and its life on the sandbox clock (48 h failing, 90 days idle)."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
from standardwebhooks import Webhook
from werkzeug.wrappers import Request, Response

from sandbox.base import SandboxConfig
from sandbox.bigcommerce import create_app
from sandbox.bigcommerce.state import BigCommerceState
from sandbox.server import running

CREDENTIALS = {
    "store_hash": "abc123",
    "access_token": "token-1",
    "client_secret": "client-secret-1",
}
HEADERS = {"X-Auth-Token": "token-1", "Accept": "application/json"}
#: The public name hooks are made for; the sandbox forwards it to the local receiver.
PUBLIC = "https://hooks.example.com"
HOUR = 3600


class Receiver:
    """A webhook endpoint that answers `status` (200 until told otherwise) and keeps
    what each request carried."""

    def __init__(self) -> None:
        self.status = 200
        self.requests: list[tuple[str, bytes, dict[str, str]]] = []
        self._lock = threading.Lock()

    @Request.application
    def __call__(self, request: Request) -> Response:
        with self._lock:
            self.requests.append(
                (request.path, request.get_data(), {k.lower(): v for k, v in request.headers})
            )
        return Response("", status=self.status)


class Store:
    """One sandbox with a receiver behind its public name."""

    def __init__(self, url: str, state: BigCommerceState, receiver: Receiver) -> None:
        self.url, self.state, self.receiver = url, state, receiver

    def call(self, method: str, path: str, body: Any = None, **params: Any) -> requests.Response:
        return requests.request(
            method,
            f"{self.url}/stores/abc123/v3/{path}",
            json=body,
            params=params,
            headers=HEADERS,
            timeout=10,
        )

    def create(self, scope: str, path: str = "/webhooks/bigcommerce/1", **fields: Any) -> int:
        body = {"scope": scope, "destination": PUBLIC + path, "is_active": True, **fields}
        response = self.call("POST", "hooks", body)
        assert response.status_code == 200, response.text
        return int(response.json()["data"]["id"])

    def hook(self, hook_id: int) -> dict[str, Any]:
        response = self.call("GET", f"hooks/{hook_id}")
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()["data"]
        return data

    def advance(self, seconds: float) -> None:
        clock = f"{self.url}/_sandbox/clock"
        response = requests.post(clock, json={"advance": seconds}, timeout=10)
        assert response.status_code == 200, response.text

    def change_stock(self, sku: str = "SKU-000001") -> None:
        """A merchant's edit of one level: an inventory event (product-tracked SKU)."""
        level = self.state.stock()[sku]
        response = requests.post(f"{self.url}/_sandbox/stock", json={sku: level + 1}, timeout=10)
        assert response.status_code == 200, response.text
        assert self.state.webhooks.wait_idle()


@contextmanager
def store(**credentials: str) -> Iterator[Store]:
    receiver = Receiver()
    with running(receiver) as receiver_url:
        config = SandboxConfig(
            items=8, credentials=CREDENTIALS | credentials, forward={PUBLIC: receiver_url}
        )
        app = create_app(config)
        with running(app) as url:
            yield Store(url, app.config["SANDBOX_STATE"], receiver)


def test_a_hook_is_created_listed_read_updated_and_deleted_in_bigcommerce_shape() -> None:
    with store() as bc:
        bc.advance(10 * 24 * HOUR)
        now = int(bc.state.clock.now().timestamp())
        hook_id = bc.create("store/sku/*", headers={"X-Webhook-Secret": "s1"})
        listed = bc.call("GET", "hooks").json()
        assert listed["meta"]["pagination"]["total"] == 1
        created = bc.hook(hook_id)
        assert listed["data"] == [created]
        assert created == {
            "id": hook_id,
            "client_id": created["client_id"],
            "store_hash": "abc123",
            "scope": "store/sku/*",
            "destination": f"{PUBLIC}/webhooks/bigcommerce/1",
            "is_active": True,
            "headers": {"X-Webhook-Secret": "s1"},
            "created_at": created["created_at"],
            "updated_at": created["created_at"],
        }
        # Unix seconds on the sandbox's clock, ten days ahead of the real one.
        assert abs(created["created_at"] - now) <= 2
        updated = bc.call("PUT", f"hooks/{hook_id}", {"is_active": False}).json()["data"]
        assert updated["is_active"] is False and updated["scope"] == "store/sku/*"
        assert bc.call("GET", "hooks", is_active="true").json()["data"] == []
        deleted = bc.call("DELETE", f"hooks/{hook_id}")
        assert deleted.status_code == 200 and deleted.json()["data"]["id"] == hook_id
        gone = bc.call("GET", f"hooks/{hook_id}")
        assert gone.status_code == 404
        assert gone.json()["title"] == f"Webhook with id [{hook_id}] not found"


def test_destinations_other_than_https_on_443_are_refused_with_422() -> None:
    with store() as bc:
        for destination in (
            "http://hooks.example.com/webhooks/bigcommerce/1",
            "https://hooks.example.com:8443/webhooks/bigcommerce/1",
        ):
            body = {"scope": "store/order/created", "destination": destination}
            response = bc.call("POST", "hooks", body)
            assert response.status_code == 422, destination
            assert response.json()["status"] == 422
            assert "destination" in response.json()["errors"]
        explicit = {"scope": "store/order/created", "destination": "https://h.example.com:443/x"}
        assert bc.call("POST", "hooks", explicit).status_code == 200
        missing = bc.call("POST", "hooks", {"destination": f"{PUBLIC}/x"})
        assert missing.status_code == 422 and "scope" in missing.json()["errors"]
        hook_id = bc.create("store/order/updated")
        moved = bc.call("PUT", f"hooks/{hook_id}", {"destination": "http://hooks.example.com/x"})
        assert moved.status_code == 422
        assert bc.hook(hook_id)["destination"].startswith(PUBLIC)
        assert bc.receiver.requests == []


def test_one_hook_per_scope_and_destination() -> None:
    with store() as bc:
        bc.create("store/order/created")
        again = bc.call(
            "POST",
            "hooks",
            {"scope": "store/order/created", "destination": f"{PUBLIC}/webhooks/bigcommerce/1"},
        )
        assert again.status_code == 422
        bc.create("store/order/created", path="/webhooks/bigcommerce/2")
        assert bc.call("GET", "hooks").json()["meta"]["pagination"]["total"] == 2


def test_every_matching_active_hook_gets_the_event_signed_with_its_headers_echoed() -> None:
    with store() as bc:
        exact = bc.create(
            "store/product/inventory/updated",
            path="/webhooks/bigcommerce/1",
            headers={"X-Webhook-Secret": "first-secret"},
        )
        bc.create("store/product/*", path="/webhooks/bigcommerce/2", headers={"X-Other": "v"})
        bc.create("store/order/created", path="/webhooks/bigcommerce/3")
        paused = bc.create("store/product/inventory/updated", path="/webhooks/bigcommerce/4")
        bc.call("PUT", f"hooks/{paused}", {"is_active": False})
        bc.change_stock()
        by_path = {path: (body, headers) for path, body, headers in bc.receiver.requests}
        assert sorted(by_path) == ["/webhooks/bigcommerce/1", "/webhooks/bigcommerce/2"]
        body, headers = by_path["/webhooks/bigcommerce/1"]
        assert headers["x-webhook-secret"] == "first-secret"
        assert "x-other" not in headers
        assert by_path["/webhooks/bigcommerce/2"][1]["x-other"] == "v"
        key = base64.b64encode(b"client-secret-1").decode()
        payload = Webhook(key).verify(body, headers)
        assert payload["scope"] == "store/product/inventory/updated"
        ids = {headers["webhook-id"] for _, (_, headers) in by_path.items()}
        assert len(ids) == 2, "each delivery is its own message"
        assert bc.hook(exact)["is_active"] is True


def test_a_hook_failing_for_48_hours_is_deactivated_and_gets_nothing_more() -> None:
    with store() as bc:
        hook_id = bc.create("store/product/inventory/updated")
        bc.receiver.status = 500
        bc.change_stock()
        assert len(bc.receiver.requests) == 1
        bc.advance(47 * HOUR)
        assert bc.hook(hook_id)["is_active"] is True
        bc.advance(1 * HOUR)
        assert bc.hook(hook_id)["is_active"] is False
        bc.receiver.status = 200
        bc.change_stock()
        assert len(bc.receiver.requests) == 1, "a deactivated hook gets no deliveries"
        # PUT {"is_active": true} restores it (overview.mdx).
        restored = bc.call("PUT", f"hooks/{hook_id}", {"is_active": True}).json()["data"]
        assert restored["is_active"] is True
        bc.change_stock()
        assert len(bc.receiver.requests) == 2
        bc.advance(49 * HOUR)
        assert bc.hook(hook_id)["is_active"] is True, "the old failures no longer count"


def test_a_success_within_the_48_hours_keeps_the_hook() -> None:
    with store() as bc:
        hook_id = bc.create("store/product/inventory/updated")
        bc.receiver.status = 503
        bc.change_stock()
        bc.advance(40 * HOUR)
        bc.receiver.status = 200
        bc.change_stock()
        bc.advance(40 * HOUR)
        assert bc.hook(hook_id)["is_active"] is True


def test_a_hook_idle_for_90_days_is_deactivated() -> None:
    with store() as bc:
        busy = bc.create("store/product/inventory/updated", path="/webhooks/bigcommerce/1")
        idle = bc.create("store/order/created", path="/webhooks/bigcommerce/2")
        bc.advance(60 * 24 * HOUR)
        bc.change_stock()
        bc.advance(31 * 24 * HOUR)
        assert bc.hook(idle)["is_active"] is False
        assert bc.hook(busy)["is_active"] is True


def test_the_configured_webhook_still_gets_every_event_beside_the_hooks() -> None:
    """The one `webhook_url` of the config keeps its secret header (the demo's path)."""
    receiver = Receiver()
    with running(receiver) as receiver_url:
        config = SandboxConfig(
            items=8,
            credentials=CREDENTIALS,
            webhook_url=f"{receiver_url}/configured",
            webhook_secret="configured-secret",
            forward={PUBLIC: receiver_url},
        )
        app = create_app(config)
        with running(app) as url:
            bc = Store(url, app.config["SANDBOX_STATE"], receiver)
            bc.create("store/product/inventory/updated", headers={"X-Webhook-Secret": "hook"})
            bc.change_stock()
    secrets = {path: headers["x-webhook-secret"] for path, _, headers in receiver.requests}
    assert secrets == {"/configured": "configured-secret", "/webhooks/bigcommerce/1": "hook"}


def test_a_route_needing_a_scope_the_account_lacks_answers_403() -> None:
    with store(scopes="store_v2_products_read_only,store_v2_orders_read_only") as bc:
        assert bc.call("GET", "catalog/products").status_code == 200
        refused = bc.call("GET", "settings/inventory")
        assert refused.status_code == 403
        assert refused.json()["title"] == "You don't have a required scope to access the endpoint"
        write = bc.call("PUT", "catalog/variants", [])
        assert write.status_code == 403, "read-only allows GET and HEAD only"
        # Hooks need only the default scope every API account has.
        assert bc.call("GET", "hooks").status_code == 200
