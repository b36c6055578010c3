"""The credential keys each platform's connection takes, with what each one is.

One table for every door: `sites add --help` and `sources add --help` print it, the
service refuses a mapping that lacks a required key or carries an unknown one before
anything is saved, and the README copies it. The connectors read the same names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CredentialKey:
    name: str
    required: bool
    help: str


CREDENTIAL_KEYS: dict[str, tuple[CredentialKey, ...]] = {
    "woocommerce": (
        CredentialKey("consumer_key", True, "REST API key (ck_...), Read/Write"),
        CredentialKey("consumer_secret", True, "its secret (cs_...)"),
        CredentialKey(
            "query_string_auth",
            False,
            '"true" if the server drops the Authorization header (keys then travel in URLs)',
        ),
    ),
    "bigcommerce": (
        CredentialKey("store_hash", True, "the store's hash, from its API path /stores/<hash>"),
        CredentialKey(
            "access_token",
            True,
            "API account token: Products read, Store Inventory modify, Orders read, "
            "Information & Settings read",
        ),
        CredentialKey("location_id", False, "inventory location id (default 1)"),
    ),
    "shopify": (
        CredentialKey(
            "access_token",
            True,
            "Admin API token: read_products, read_inventory, write_inventory, "
            "read_orders, read_locations",
        ),
        CredentialKey("location_id", False, "location GID (default: the shop's primary)"),
        CredentialKey("api_version", False, "Admin API version (default: the one we test)"),
    ),
    "businesscentral": (
        CredentialKey("tenant_id", True, "Microsoft Entra tenant id"),
        CredentialKey("client_id", True, "Entra app (client) id"),
        CredentialKey("client_secret", True, "Entra app client secret"),
        CredentialKey("company_id", True, "company id (GET .../api/v2.0/companies)"),
        CredentialKey("environment", False, "environment name (default production)"),
        CredentialKey("token_url", False, "token endpoint (default: Entra's, for the tenant)"),
    ),
    "zoho": (
        CredentialKey("client_id", True, "Zoho API console client id"),
        CredentialKey("client_secret", True, "its client secret"),
        CredentialKey("refresh_token", True, "refresh token, scope ZohoInventory.FullAccess.all"),
        CredentialKey("organization_id", True, "Zoho Inventory organization id"),
        CredentialKey("accounts_url", False, "accounts server of your data centre (default .com)"),
        CredentialKey("stock_field", False, "stock figure to read (default stock_on_hand)"),
    ),
}


def credential_problems(platform: str, credentials: Mapping[str, object]) -> list[str]:
    """What is wrong with `credentials` for `platform`, one phrase each; empty if nothing.

    Names keys only, never values. An unknown key is refused rather than ignored: it
    is usually a misspelt required one.
    """
    keys = CREDENTIAL_KEYS[platform]
    known = {key.name for key in keys}
    problems = [
        f"missing {key.name} ({key.help})"
        for key in keys
        if key.required and not _given(credentials.get(key.name))
    ]
    problems += [
        f"unknown key {name!r} (expected: {', '.join(sorted(known))})"
        for name in sorted(set(credentials) - known)
    ]
    problems += [
        f"{name} must be a string"
        for name in sorted(known & set(credentials))
        if not isinstance(credentials[name], str)
    ]
    return problems


def _given(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def describe(platform: str) -> str:
    """The keys of `platform` as help text: one line each, required ones first."""
    keys = sorted(CREDENTIAL_KEYS[platform], key=lambda key: not key.required)
    return "\n".join(
        f"  {key.name}{'' if key.required else ' (optional)'}: {key.help}" for key in keys
    )
