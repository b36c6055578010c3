"""The platforms the demo and the benchmarks talk to: sandbox processes and a client
for their control routes (`/_sandbox/*`).

Each platform gets a fresh account (`sandbox.accounts.new_account`): the sandbox is
seeded with it (it checks the credentials and signs its webhooks with the secrets, as
the real platform would), and stocksync is given the same ones when the source and
sites are registered. So a webhook verifies only because the secrets really match.
"""

from __future__ import annotations

import signal
from collections.abc import Mapping
from contextlib import ExitStack
from typing import Any

import requests

from sandbox.accounts import Account
from sandbox.base import SandboxConfig
from sandbox.server import running_in_subprocess

ERP = "businesscentral"
STORES = ("woocommerce", "bigcommerce", "shopify")
#: Reading a 100,000-SKU stock map back can take a few seconds on a busy machine.
CONTROL_TIMEOUT = 60.0


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
    stack: ExitStack,
    account: Account,
    items: int,
    drift: float = 0.0,
    latency_ms: float = 0.0,
    **knobs: Any,
) -> Sandbox:
    """Serve `account`'s sandbox from a child process until `stack` closes.

    A process of its own, like the real platform: its request threads and its 20,000
    or 100,000-item catalog do not share an interpreter with what is being measured.

    Started with Ctrl-C ignored, a disposition the spawned child keeps: Ctrl-C reaches
    the whole foreground process group, and a sandbox dying of it mid-demo would print
    a traceback and fail requests; the parent stops it when `stack` closes.

    `knobs` are further `SandboxConfig` settings (a platform profile's limits and pace,
    `sandbox.profiles`).
    """
    config = SandboxConfig.for_account(
        account, items=items, drift=drift, latency_ms=latency_ms, **knobs
    )
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        url = stack.enter_context(running_in_subprocess(account.platform, config))
    finally:
        signal.signal(signal.SIGINT, previous)
    return Sandbox(account.platform, url)
