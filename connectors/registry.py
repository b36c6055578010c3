"""Pick a connector class by platform name.

Each connector class takes `(base_url, credentials, *, token_cache=None)`; credentials
are the decrypted mapping stored on the site or source. Classes are imported lazily so
a worker that serves only WooCommerce stores never imports the others.
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Mapping
from typing import Any

from connectors.interfaces import Connection, InventorySource, Storefront
from connectors.tokens import TokenCache
from connectors.types import Clock

STOREFRONTS: dict[str, str] = {
    "woocommerce": "connectors.woocommerce:WooCommerceStore",
    "bigcommerce": "connectors.bigcommerce:BigCommerceStore",
    "shopify": "connectors.shopify:ShopifyStore",
}

SOURCES: dict[str, str] = {
    "businesscentral": "connectors.businesscentral:BusinessCentralSource",
    "zoho": "connectors.zoho:ZohoInventorySource",
}


#: Each platform's `Connection` (tests and webhook subscriptions), stores and ERPs alike.
CONNECTIONS: dict[str, str] = {
    "woocommerce": "connectors.woocommerce_connection:WooCommerceConnection",
    "bigcommerce": "connectors.bigcommerce_connection:BigCommerceConnection",
    "shopify": "connectors.shopify_connection:ShopifyConnection",
    "businesscentral": "connectors.businesscentral_connection:BusinessCentralConnection",
    "zoho": "connectors.zoho_connection:ZohoConnection",
}


class UnknownPlatform(ValueError):
    """No connector exists for that platform name."""


def _load(table: Mapping[str, str], platform: str) -> Any:
    try:
        module_name, class_name = table[platform].split(":")
    except KeyError:
        raise UnknownPlatform(
            f"unknown platform {platform!r}; expected one of {', '.join(sorted(table))}"
        ) from None
    return getattr(importlib.import_module(module_name), class_name)


def storefront_class(platform: str) -> Any:
    """The connector class of a store platform (its `batch_limit`, for instance)."""
    return _load(STOREFRONTS, platform)


def source_class(kind: str) -> Any:
    """The connector class of an ERP (its `offers_available_for_sale`, for instance)."""
    return _load(SOURCES, kind)


def budget_account(platform: str, base_url: str, credentials: Mapping[str, str]) -> str:
    """The account a platform's limits count for, whatever row of ours uses it: a hash of
    what identifies it (`budget_account` of the connector class), never a secret.

    Two sources on one Business Central service principal, or on one Zoho organisation,
    draw on one quota at the platform; their budgets must be one too.
    """
    table = STOREFRONTS if platform in STOREFRONTS else SOURCES
    identity = _load(table, platform).budget_account(base_url, credentials)
    digest = hashlib.sha256("\x00".join(identity).encode()).hexdigest()[:24]
    return f"{platform}:{digest}"


def build_storefront(
    platform: str,
    base_url: str,
    credentials: Mapping[str, str],
    *,
    token_cache: TokenCache | None = None,
) -> Storefront:
    cls = storefront_class(platform)
    store: Storefront = cls(base_url, credentials, token_cache=token_cache)
    return store


def build_source(
    kind: str,
    base_url: str,
    credentials: Mapping[str, str],
    *,
    token_cache: TokenCache | None = None,
    clock: Clock | None = None,
) -> InventorySource:
    """An ERP connector; `clock` dates its readings (`connectors.types.SourceItem`)."""
    cls = source_class(kind)
    source: InventorySource = cls(base_url, credentials, token_cache=token_cache, clock=clock)
    return source


def build_connection(
    platform: str,
    base_url: str,
    credentials: Mapping[str, str],
    *,
    token_cache: TokenCache | None = None,
) -> Connection:
    """The connection of a store platform or an ERP kind (`connectors.interfaces`)."""
    cls = _load(CONNECTIONS, platform)
    connection: Connection = cls(base_url, credentials, token_cache=token_cache)
    return connection
