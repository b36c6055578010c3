"""Sandbox accounts: the one place that says which credentials and secrets match which
sandbox, and what stocksync must be given to talk to it and to trust its webhooks.

An `Account` is one platform account seen from both sides. `sandbox` is what the
sandbox is seeded with: the credentials it accepts, and the app secrets it signs with
(Shopify and BigCommerce sign with the app's client secret, docs/platforms.md sections 3
and 5). `webhook_secret` is the secret set on its one webhook: WooCommerce's signing
key (section 1), BigCommerce's custom header (section 3), Zoho's token header
(section 6) and Business Central's `clientState` (section 7). `stored_credentials` and
`receiver_secret` are the other side: what `stocksync sources add` / `sites add` store.

`DEFAULTS` are the fixed accounts a sandbox falls back to for anything its config does
not set, and that tests use; `new_account` makes fresh random ones, so that in the demo
and the benchmarks a webhook verifies only because the secrets really match.

Imports nothing else of the sandbox package: every sandbox reads its defaults here.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace

ERPS = ("businesscentral", "zoho")
STORES = ("woocommerce", "bigcommerce", "shopify")
#: The secret a sandbox's webhook is set up with unless its config says otherwise.
DEFAULT_WEBHOOK_SECRET = "sandbox-webhook-secret"
#: Tenant in Business Central URLs and the token endpoint's path; the sandbox accepts any.
BC_TENANT = "sandbox"
#: The one location the Shopify sandbox holds stock at (sandbox/shopify/state.py).
SHOPIFY_LOCATION = "gid://shopify/Location/1"


@dataclass(frozen=True)
class Account:
    """One platform account: what its sandbox is seeded with, and its webhook secret."""

    platform: str
    sandbox: Mapping[str, str]
    webhook_secret: str

    def stored_credentials(self, url: str) -> dict[str, str]:
        """The credentials stocksync stores for this account, its sandbox serving `url`:
        what the platform's connector (connectors/registry.py) is built with."""
        if self.platform == "businesscentral":
            return {
                "tenant_id": BC_TENANT,
                "client_id": self.sandbox["client_id"],
                "client_secret": self.sandbox["client_secret"],
                "company_id": self.sandbox["company_id"],
                # Entra ID's path; the sandbox serves it on its own host (section 7).
                "token_url": f"{url}/{BC_TENANT}/oauth2/v2.0/token",
            }
        if self.platform == "zoho":
            # The sandbox is its own accounts server (`/oauth/v2/token`, section 6).
            return {**self.sandbox, "accounts_url": url}
        if self.platform == "bigcommerce":
            return {k: self.sandbox[k] for k in ("store_hash", "access_token")}
        if self.platform == "shopify":
            return {"access_token": self.sandbox["access_token"], "location_id": SHOPIFY_LOCATION}
        return dict(self.sandbox)

    def receiver_secret(self) -> str | dict[str, str]:
        """What the receiver verifies this platform's webhooks with (README, Webhooks):
        the value of `--webhook-secret` for `stocksync sources add` / `sites add`."""
        if self.platform == "bigcommerce":
            return {
                "header_secret": self.webhook_secret,
                "client_secret": self.sandbox["client_secret"],
            }
        if self.platform == "shopify":
            return self.sandbox["client_secret"]
        return self.webhook_secret

    def with_webhook_secret(self, secret: str) -> Account:
        """This account with its webhooks signed or authenticated by `secret`.

        For Shopify that is the app's client secret, the only key it signs with
        (section 5); for every other platform, the webhook's own secret.
        """
        if self.platform == "shopify":
            return replace(self, sandbox={**self.sandbox, "client_secret": secret})
        return replace(self, webhook_secret=secret)


DEFAULTS: dict[str, Account] = {
    "businesscentral": Account(
        "businesscentral",
        {
            "client_id": "sandbox-client",
            "client_secret": "sandbox-secret",
            "company_id": "ba914ac8-ec4d-5e53-80d7-a334d446a3a6",
        },
        DEFAULT_WEBHOOK_SECRET,
    ),
    "zoho": Account(
        "zoho",
        {
            "client_id": "sandbox-client",
            "client_secret": "sandbox-secret",
            "refresh_token": "sandbox-refresh",
            "organization_id": "10234695",
        },
        DEFAULT_WEBHOOK_SECRET,
    ),
    "woocommerce": Account(
        "woocommerce",
        {"consumer_key": "ck_sandbox", "consumer_secret": "cs_sandbox"},
        DEFAULT_WEBHOOK_SECRET,
    ),
    "bigcommerce": Account(
        "bigcommerce",
        {
            "store_hash": "sandbox",
            "access_token": "sandbox-token",
            "client_secret": "sandbox-client-secret",
            "store_id": "1000001",
        },
        DEFAULT_WEBHOOK_SECRET,
    ),
    "shopify": Account(
        "shopify",
        {"access_token": "shpat_sandbox", "client_secret": "sandbox-client-secret"},
        DEFAULT_WEBHOOK_SECRET,
    ),
}


def credentials_for(platform: str, given: Mapping[str, str]) -> dict[str, str]:
    """The credentials a `platform` sandbox accepts: `given`, and the default account's
    for whatever `given` leaves out or empty."""
    return {**DEFAULTS[platform].sandbox, **{k: v for k, v in given.items() if v}}


def new_account(platform: str) -> Account:
    """An account of `platform` with fresh random credentials and secrets."""
    token = secrets.token_urlsafe
    sandbox: dict[str, dict[str, str]] = {
        "businesscentral": {
            "client_id": f"demo-{token(6)}",
            "client_secret": token(24),
            "company_id": str(uuid.uuid4()),
        },
        "zoho": {
            "client_id": f"1000.{token(12)}",
            "client_secret": token(24),
            "refresh_token": f"1000.{token(24)}",
            "organization_id": str(secrets.randbelow(10**9) + 10**9),
        },
        "woocommerce": {"consumer_key": f"ck_{token(16)}", "consumer_secret": f"cs_{token(16)}"},
        "bigcommerce": {
            "store_hash": "demo",
            "access_token": token(24),
            "client_secret": token(24),
        },
        "shopify": {"access_token": f"shpat_{token(16)}", "client_secret": token(24)},
    }
    return Account(platform, sandbox[platform], token(24))
