"""The platforms the demo and the benchmarks talk to: sandbox processes, their accounts,
and a client for their control routes (`/_sandbox/*`).

Each platform gets freshly generated credentials and webhook secrets: the sandbox is
seeded with them (it checks the credentials and signs its webhooks with the secrets,
as the real platform would), and stocksync is given the same ones when the source and
sites are registered. So a webhook verifies only because the secrets really match.
"""

from __future__ import annotations

import secrets
import signal
import uuid
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import requests

from sandbox.base import SandboxConfig
from sandbox.server import running_in_subprocess

ERP = "businesscentral"
STORES = ("woocommerce", "bigcommerce", "shopify")
#: The one location the Shopify sandbox holds stock at (sandbox/shopify_state.py).
SHOPIFY_LOCATION = "gid://shopify/Location/1"
#: Tenant name in the Business Central URLs; the sandbox accepts any.
BC_TENANT = "demo"
#: Reading a 100,000-SKU stock map back can take a few seconds on a busy machine.
CONTROL_TIMEOUT = 60.0


@dataclass(frozen=True)
class Account:
    """One platform account: what its sandbox is seeded with, and its webhook secret.

    `sandbox` holds the credentials the sandbox expects, including the secrets it signs
    webhooks with (Shopify and BigCommerce sign with the app's client secret);
    `webhook_secret` is the secret set on the sandbox's one webhook (WooCommerce's
    signing key, BigCommerce's custom header, Business Central's clientState).
    """

    platform: str
    sandbox: Mapping[str, str]
    webhook_secret: str

    def stored_credentials(self, url: str) -> dict[str, str]:
        """The credentials stocksync stores for this account, talking to `url`."""
        if self.platform == ERP:
            return {
                "tenant_id": BC_TENANT,
                "client_id": self.sandbox["client_id"],
                "client_secret": self.sandbox["client_secret"],
                "company_id": self.sandbox["company_id"],
                "token_url": f"{url}/{BC_TENANT}/oauth2/v2.0/token",
            }
        if self.platform == "bigcommerce":
            return {k: self.sandbox[k] for k in ("store_hash", "access_token")}
        if self.platform == "shopify":
            return {"access_token": self.sandbox["access_token"], "location_id": SHOPIFY_LOCATION}
        return dict(self.sandbox)

    def receiver_secret(self) -> str | dict[str, str]:
        """What the receiver verifies this platform's webhooks with (README, Webhooks)."""
        if self.platform == "bigcommerce":
            return {
                "header_secret": self.webhook_secret,
                "client_secret": self.sandbox["client_secret"],
            }
        if self.platform == "shopify":
            return self.sandbox["client_secret"]
        return self.webhook_secret

    def config(self, items: int, drift: float = 0.0, latency_ms: float = 0.0) -> SandboxConfig:
        return SandboxConfig(
            items=items,
            drift=drift,
            latency_ms=latency_ms,
            credentials=dict(self.sandbox),
            webhook_secret=self.webhook_secret,
        )


def new_account(platform: str) -> Account:
    """An account with fresh random credentials and secrets."""
    token = secrets.token_urlsafe
    sandbox: dict[str, dict[str, str]] = {
        ERP: {
            "client_id": f"demo-{token(6)}",
            "client_secret": token(24),
            "company_id": str(uuid.uuid4()),
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


class Sandbox:
    """A running sandbox: its base URL and its control routes (never the platform API)."""

    def __init__(self, platform: str, url: str) -> None:
        self.platform = platform
        self.url = url
        self._http = requests.Session()

    def stock(self) -> dict[str, int]:
        """Every SKU's stock as the platform holds it now: the truth to compare."""
        return dict(self._call("GET", "stock"))

    def set_stock(self, changes: Mapping[str, int]) -> None:
        """Change stock as an order or an admin edit would: the platform sends webhooks."""
        self._call("POST", "stock", dict(changes))

    def stats(self) -> dict[str, Any]:
        return dict(self._call("GET", "stats"))

    def configure(self, **changes: Any) -> None:
        """Change the sandbox's settings (webhook URL, latency, faults) while it runs."""
        self._call("POST", "faults", changes)

    def reset_stats(self) -> None:
        self._call("POST", "reset-stats")

    def _call(self, method: str, route: str, body: Any = None) -> Any:
        response = self._http.request(
            method, f"{self.url}/_sandbox/{route}", json=body, timeout=CONTROL_TIMEOUT
        )
        if response.status_code >= 400:
            raise RuntimeError(
                f"{self.platform} sandbox: {method} {route}: {response.status_code} "
                f"{response.text[:300]}"
            )
        return response.json()


def start_sandbox(
    stack: ExitStack, account: Account, items: int, drift: float = 0.0, latency_ms: float = 0.0
) -> Sandbox:
    """Serve `account`'s sandbox from a child process until `stack` closes.

    A process of its own, like the real platform: its request threads and its 20,000
    or 100,000-item catalog do not share an interpreter with what is being measured.

    Started with Ctrl-C ignored, a disposition the spawned child keeps: Ctrl-C reaches
    the whole foreground process group, and a sandbox dying of it mid-demo would print
    a traceback and fail requests; the parent stops it when `stack` closes.
    """
    config = account.config(items, drift, latency_ms)
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        url = stack.enter_context(running_in_subprocess(account.platform, config))
    finally:
        signal.signal(signal.SIGINT, previous)
    return Sandbox(account.platform, url)
