"""How each sandbox sends a webhook, by its platform's rules (sandbox/base.py
`DeliveryRules`): WooCommerce counts 200-302 as delivered, Shopify only 2xx, and none
follows a redirect (docs/platforms.md sections 1 and 5)."""

from __future__ import annotations

from typing import Any

from sandbox.base import DeliveryRules, WebhookSender
from sandbox.server import running
from sandbox.shopify.state import ShopifyState
from sandbox.woocommerce.state import WooCommerceState


def test_a_redirect_is_counted_by_each_platforms_rules_and_never_followed() -> None:
    hits: list[str] = []

    def redirecting(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        hits.append(environ["PATH_INFO"])
        start_response("302 Found", [("Location", "/landed"), ("Content-Length", "0")])
        return [b""]

    cases = {
        "woocommerce": (WooCommerceState.DELIVERY, True),
        "shopify": (ShopifyState.DELIVERY, False),
        "default": (DeliveryRules(), False),
    }
    with running(redirecting) as url:
        for name, (rules, delivered) in cases.items():
            sender = WebhookSender(rules)
            statuses: list[int | None] = []
            sender.send(f"{url}/hook", b"{}", {}, on_result=statuses.append)
            assert sender.wait_idle()
            assert statuses == [302], name
            assert (sender.sent, sender.failed) == (int(delivered), int(not delivered)), name
    assert hits == ["/hook"] * len(cases)  # never /landed: no platform follows it
