"""Providers by URL name: who owns the secret, how to verify, how to parse.

Store providers are addressed by site id (`/webhooks/shopify/<site_id>`); ERP providers
by source id (`/webhooks/zoho/<source_id>`), since an ERP item feeds every site of its
source.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

from api.webhooks import bigcommerce, businesscentral, shopify, standard, woocommerce, zoho
from api.webhooks.event import Event, Headers, Secret


@dataclass(frozen=True)
class Provider:
    name: str
    #: "site" or "source": whose row and secret the URL's id names.
    owner: str
    verify: Callable[[bytes, Headers, Secret, Headers | None], None]
    parse: Callable[[bytes, Headers], list[Event]]
    #: Status for refusing a request (Business Central deletes subscriptions on 4xx).
    refusal_status: int | None = None
    #: Whether a body may hold the secret itself, which is then taken out of what is
    #: stored (api/webhooks/redaction.py).
    body_may_carry_secret: bool = False


def _provider(
    name: str,
    owner: str,
    module: ModuleType,
    refusal: int | None = None,
    body_may_carry_secret: bool = False,
) -> Provider:
    return Provider(name, owner, module.verify, module.parse, refusal, body_may_carry_secret)


PROVIDERS: dict[str, Provider] = {
    "woocommerce": _provider("woocommerce", "site", woocommerce),
    "bigcommerce": _provider("bigcommerce", "site", bigcommerce),
    "shopify": _provider("shopify", "site", shopify),
    "standard": _provider("standard", "site", standard),
    # The merchant writes Zoho's body; Business Central echoes `clientState` in each one.
    "zoho": _provider("zoho", "source", zoho, body_may_carry_secret=True),
    "businesscentral": _provider(
        "businesscentral",
        "source",
        businesscentral,
        businesscentral.REFUSAL_STATUS,
        body_may_carry_secret=True,
    ),
}
