"""Store product notices end to end (issue 18): each store sandbox changes its catalog and
sends its own signed webhook to the receiver; the relay queues it, a real worker reads
the product back from the store and mirrors it; ERP notices then go through the same
path. Real HTTP, real worker, real PostgreSQL and Redis."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models import Item, WebhookLog, WebhookStatus
from models.crypto import Vault
from sandbox.accounts import DEFAULTS, STORES
from sandbox.shopify import webhooks as shopify_hooks
from sandbox.woocommerce import webhooks as wc_hooks
from settings import Settings
from tests.support.live import LiveStack, live_stack
from tests.support.stack import Stack, wait_for

#: What the ERP writes onto the old SKU once the store renamed it.
MARKER = 4242
#: The topic each store sends when the merchant edits a product.
UPDATED = {
    "woocommerce": "product.updated",
    "bigcommerce": "store/product/updated",
    "shopify": "products/update",
}


@dataclass
class Live:
    path: LiveStack
    db: sessionmaker[Session]

    @property
    def stack(self) -> Stack:
        return self.path.stack

    def url(self, provider: str) -> str:
        return self.path.url(provider)

    def processed(self, provider: str, count: int, topic: str | None = None) -> None:
        """Wait until `count` of the provider's notices (on `topic`, if given: our own
        writes come back as stock notices) were processed; none failed or was refused."""

        def rows() -> list[WebhookLog]:
            with self.db() as session:
                query = select(WebhookLog).where(WebhookLog.provider == provider)
                return [r for r in session.scalars(query) if topic in (None, r.topic)]

        wait_for(
            lambda: sum(r.status == WebhookStatus.PROCESSED for r in rows()) >= count,
            60,
            f"{count} {provider} notice(s) processed",
        )
        bad = [(r.status, r.error) for r in rows() if r.status in _BAD]
        assert not bad

    def items(self) -> dict[str, Item]:
        with self.db() as session:
            query = select(Item).where(Item.site_id == self.stack.site_id)
            return {item.sku: item for item in session.scalars(query)}

    def active(self) -> set[str]:
        return {sku for sku, item in self.items().items() if item.active}


_BAD = (WebhookStatus.FAILED, WebhookStatus.REJECTED)


@pytest.fixture
def live(
    request: pytest.FixtureRequest,
    settings: Settings,
    db: sessionmaker[Session],
    vault: Vault,
    redis_client: object,
) -> Iterator[Live]:
    """A store (the test's `platform`, and its `store` seed overrides) mirrored and in
    step with its Business Central ERP, both sending their webhooks to the receiver."""
    platform, store = request.param
    with live_stack(settings, db, vault, platform, items=40, drift=0.0, store=store) as path:
        result = Live(path, db)
        path.stack.store.set_faults(webhook_url=result.url(platform))
        path.stack.erp.set_faults(webhook_url=result.url("businesscentral"))
        yield result


def _each_store() -> list[Any]:
    return [pytest.param((platform, None), id=platform) for platform in sorted(STORES)]


@pytest.mark.slow
@pytest.mark.parametrize("live", _each_store(), indirect=True)
def test_an_erp_change_to_a_sku_the_store_renamed_writes_nothing(live: Live) -> None:
    stack = live.stack
    old, new = "SKU-000002", "SKU-R00002"
    stack.store.rename_sku(old, new)
    live.processed(stack.platform, 1, UPDATED[stack.platform])
    assert old not in live.active() and new in live.active()
    before = stack.store_stock()

    stack.erp.set_stock({old: MARKER})
    live.processed("businesscentral", 1)

    assert stack.store_stock() == before
    assert MARKER not in stack.store_stock().values()


SHOPIFY_36 = pytest.param(("shopify", {"items": 36}), id="shopify")


@pytest.mark.slow
@pytest.mark.parametrize("live", [SHOPIFY_36], indirect=True)
def test_shopify_products_created_updated_and_deleted(live: Live) -> None:
    """Shopify's own deliveries, with REST ids: 36 SKUs in the store, 40 in the ERP."""
    stack, erp = live.stack, live.stack.erp_stock()

    created = stack.store.add_product(["SKU-000037", "SKU-000038"])
    live.processed("shopify", 1, "products/create")
    assert {sku: stack.store_stock()[sku] for sku in ("SKU-000037", "SKU-000038")} == {
        sku: erp[sku] for sku in ("SKU-000037", "SKU-000038")
    }
    assert live.items()["SKU-000037"].product_id == f"gid://shopify/Product/{created}"

    # Product 2 holds SKU-000002 and SKU-000003; the first gets an SKU the ERP sells.
    stack.store.rename_sku("SKU-000002", "SKU-000039")
    live.processed("shopify", 1, "products/update")
    assert stack.store_stock()["SKU-000039"] == erp["SKU-000039"]
    assert "SKU-000002" not in live.active()

    # Product 3 holds SKU-000004 to SKU-000006.
    stack.store.delete_product_of("SKU-000004")
    live.processed("shopify", 1, "products/delete")
    assert live.active().isdisjoint({"SKU-000004", "SKU-000005", "SKU-000006"})
    assert {"SKU-000003", "SKU-000007", "SKU-000039"} <= live.active()


def _post(url: str, body: bytes, headers: dict[str, str]) -> None:
    assert requests.post(url, data=body, headers=headers, timeout=10).status_code == 200


@pytest.mark.slow
@pytest.mark.parametrize("live", [SHOPIFY_36], indirect=True)
def test_a_shopify_update_resent_as_a_delete_deactivates_nothing(live: Live) -> None:
    """The HMAC covers only the body (docs/platforms.md section 5): a captured
    `products/update` re-sent with `X-Shopify-Topic: products/delete` and a new webhook
    id is genuine to the receiver, and the store says product 3 is alive."""
    state = live.stack.store
    with state.lock:
        update = shopify_hooks.product_payload(3, [state.variant_node(i) for i in range(3, 6)])
    body = json.dumps(update).encode()
    secret = DEFAULTS["shopify"].sandbox["client_secret"]
    before = live.active()

    _post(
        live.url("shopify"),
        body,
        shopify_hooks.delivery_headers(topic="products/delete", secret=secret, body=body),
    )
    live.processed("shopify", 1)

    assert live.active() == before and "SKU-000004" in before


@pytest.mark.slow
@pytest.mark.parametrize("live", [pytest.param(("woocommerce", None), id="woo")], indirect=True)
def test_a_replayed_woocommerce_delete_deactivates_nothing_a_genuine_one_does(
    live: Live,
) -> None:
    """`product.deleted` carries `{"id": ...}` alone, so no delivery id: every replay is
    accepted, and only the store can say the product is gone."""
    stack, before = live.stack, live.active()
    product_id = int(live.items()["SKU-000001"].product_id)
    body = wc_hooks.encode_body({"id": product_id})
    headers = wc_hooks.delivery_headers(
        source="http://shop.test/",
        resource="product",
        event="deleted",
        secret=DEFAULTS["woocommerce"].webhook_secret,
        body=body,
    )
    for replays in (1, 2):
        _post(live.url("woocommerce"), body, headers)
        live.processed("woocommerce", replays)
        assert live.active() == before

    stack.store.delete_product_of("SKU-000001")
    live.processed("woocommerce", 3)
    assert live.active() == before - {"SKU-000001"}
