"""What every sandbox's world shares: config, stock state, write log, quota, webhooks.

The Flask side (fault injection, `/_sandbox/*` control routes) is `sandbox.app` and
`sandbox.control`; a platform's views reach this state through `current_state`.
"""

from __future__ import annotations

import queue
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import requests
from flask import current_app, request

from sandbox.accounts import DEFAULT_WEBHOOK_SECRET, Account


@dataclass(frozen=True)
class SandboxConfig:
    """Knobs for one sandbox. Fault shares are probabilities per platform call."""

    items: int = 1000
    seed: int = 0
    drift: float = 0.0
    latency_ms: float = 0.0
    #: What a write call takes beyond `latency_ms`: a platform applying a batch of stock
    #: changes (WooCommerce saves each product) answers later than it lists a page.
    write_latency_ms: float = 0.0
    share_429: float = 0.0
    share_5xx: float = 0.0
    outage: bool = False
    #: (requests, window seconds) enforced like the platform does, or None for no limit.
    rate_limit: tuple[int, float] | None = None
    #: Shopify only: the shop's plan (`sandbox.shopify.cost.RESTORE_RATES`), whose cost
    #: bucket prices and throttles every query; None for no cost throttle.
    plan: str | None = None
    #: Shopify only: the points a second the plan's bucket restores, if not the plan's
    #: own: a time-scaled profile's (`sandbox.profiles.Profile.scaled`). It shows in
    #: every answer's `throttleStatus`, where the connector learns the shop's pace.
    restore_rate: float | None = None
    #: Where the sandbox sends its webhooks when stock or a product changes.
    webhook_url: str | None = None
    #: The secret set on that webhook (`sandbox.accounts.Account.webhook_secret`). Not
    #: Shopify's: it signs with the app's client secret, `credentials["client_secret"]`.
    webhook_secret: str = DEFAULT_WEBHOOK_SECRET
    #: Credentials the sandbox accepts; the platform's default account fills the rest.
    credentials: Mapping[str, str] = field(default_factory=dict)
    #: What stands between the platform and the receiver in a real deployment: a
    #: reverse proxy terminating TLS at a public name. `{public prefix: local prefix}`:
    #: a subscription made for `https://hooks.example:443/webhooks/...` is validated as
    #: that URL (BigCommerce wants HTTPS on 443) and delivered to the local receiver.
    forward: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def for_account(cls, account: Account, **knobs: Any) -> SandboxConfig:
        """A sandbox of `account`: it accepts its credentials and signs with its secrets."""
        return cls(
            credentials=dict(account.sandbox), webhook_secret=account.webhook_secret, **knobs
        )


@dataclass(frozen=True)
class DeliveryRules:
    """How a platform sends a webhook: how long it waits for the answer, and the last
    status (from 200) that counts as delivered. None of the platforms follows a
    redirect (docs/platforms.md sections 1 and 5); the default is the strict reading."""

    timeout: float = 30.0
    last_success: int = 299

    def delivered(self, status: int | None) -> bool:
        return status is not None and 200 <= status <= self.last_success


@dataclass
class WriteCall:
    """One write request the sandbox accepted: for tests counting store calls."""

    method: str
    path: str
    items: int
    at: float


class FixedWindowLimiter:
    """A platform-style quota: `limit` requests per `window` seconds, then 429."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._start = time.monotonic()
        self._used = 0
        self._lock = threading.Lock()

    def take(self) -> tuple[bool, int, float]:
        """Consume one request: (allowed, requests left, seconds until reset)."""
        with self._lock:
            reset = self._roll()
            if self._used >= self.limit:
                return False, 0, reset
            self._used += 1
            return True, self.limit - self._used, reset

    def peek(self) -> tuple[int, float]:
        """(requests left, seconds until reset) now, without consuming a request."""
        with self._lock:
            reset = self._roll()
            return max(0, self.limit - self._used), reset

    def _roll(self) -> float:
        """Start a new window if the current one is over; seconds until it resets.

        Callers hold `_lock`.
        """
        now = time.monotonic()
        if now - self._start >= self.window:
            self._start, self._used = now, 0
        return self.window - (now - self._start)


class SandboxClock:
    """The platform's own clock: the real time plus an offset a test can advance.

    What a platform does after hours or days (Business Central lets a subscription
    expire after 3 days, BigCommerce deactivates a hook 48 h after its first failed
    delivery) happens here in seconds: a test advances the clock, and the sandbox runs
    what became due (`SandboxState.clock_advanced`).
    """

    def __init__(self) -> None:
        self._offset = timedelta()
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return datetime.now(UTC) + self._offset

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            self._offset += timedelta(seconds=seconds)
            return datetime.now(UTC) + self._offset


class SandboxState:
    """The mutable world of one sandbox, shared by its request threads under one lock."""

    #: How this platform sends webhooks; a platform with its own rules overrides it.
    DELIVERY = DeliveryRules()

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.lock = threading.RLock()
        self.clock = SandboxClock()
        self.writes: list[WriteCall] = []
        #: Platform requests served, per route (`"GET /wc/v3/products"`), so a test can
        #: assert what was read and written, not only how much.
        self.route_calls: Counter[str] = Counter()
        self.calls = 0
        self.rejected_429 = 0
        self.limiter = FixedWindowLimiter(*config.rate_limit) if config.rate_limit else None
        self.random = random.Random(config.seed)
        self.webhooks = WebhookSender(self.DELIVERY)

    def set_faults(self, **changes: Any) -> None:
        with self.lock:
            self.config = replace(self.config, **changes)
            if "rate_limit" in changes:
                rl = self.config.rate_limit
                self.limiter = FixedWindowLimiter(*rl) if rl else None

    def platform_stats(self) -> dict[str, Any]:
        """Figures of this platform's own for `/_sandbox/stats` (none by default)."""
        return {}

    def record_write(self, path: str, items: int) -> None:
        """Note a write call, and take the time the platform takes to apply it."""
        with self.lock:
            self.writes.append(WriteCall(request.method, path, items, time.time()))
        if self.config.write_latency_ms:
            time.sleep(self.config.write_latency_ms / 1000)

    def reach(self, url: str) -> str:
        """Where a request to `url` really goes (`SandboxConfig.forward`)."""
        for public, local in self.config.forward.items():
            if url.startswith(public):
                return local + url[len(public) :]
        return url

    def clock_advanced(self) -> None:
        """Run what the platform does once time has passed (expiry, deactivation).

        Called after every `/_sandbox/clock` advance; platforms with such rules override
        it, under `lock`.
        """

    # Platform modules implement these two by overriding; the control routes use them.
    def stock(self) -> dict[str, int]:
        raise NotImplementedError

    def set_stock(self, changes: Mapping[str, int]) -> None:
        raise NotImplementedError

    def known(self, skus: Iterable[str]) -> set[str]:
        """Which of `skus` this sandbox holds stock for.

        The default builds the whole `stock()` map, O(catalog) per call; platform
        modules with a SKU index override it with lookups.
        """
        stock = self.stock()
        return {sku for sku in skus if sku in stock}


class WebhookSender:
    """Delivers webhooks from a background thread, in order, like a platform's queue.

    Delivery failures are counted, not retried: WooCommerce does not retry either
    (docs/platforms.md section 1), and the nightly sync is what repairs a lost delivery.
    """

    def __init__(self, rules: DeliveryRules = DeliveryRules()) -> None:
        self.rules = rules
        self._queue: queue.Queue[
            tuple[str, bytes, dict[str, str], Callable[[int | None], None] | None]
        ] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._session = requests.Session()
        self.sent = 0
        self.failed = 0
        self._idle = threading.Condition()
        self._pending = 0

    def send(
        self,
        url: str,
        body: bytes,
        headers: dict[str, str],
        on_result: Callable[[int | None], None] | None = None,
    ) -> None:
        """Queue one delivery; `on_result(status)` (None: no answer) runs once it was
        attempted, before `wait_idle` can return: a platform counts failures to disable
        a hook, and some act on the status itself (Business Central)."""
        with self._idle:
            self._pending += 1
        self._queue.put((url, body, headers, on_result))
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="webhooks", daemon=True)
            self._thread.start()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until every queued webhook was attempted (for tests and the demo)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def _run(self) -> None:
        while True:
            url, body, headers, on_result = self._queue.get()
            status: int | None
            try:
                status = self._session.post(
                    url,
                    data=body,
                    headers=headers,
                    timeout=self.rules.timeout,
                    allow_redirects=False,
                ).status_code
            except requests.RequestException:
                status = None
            ok = self.rules.delivered(status)
            if on_result is not None:
                on_result(status)
            with self._idle:
                self.sent += ok
                self.failed += not ok
                self._pending -= 1
                self._idle.notify_all()


def pages(items: Iterable[Any], page: int, per_page: int) -> list[Any]:
    """Slice `items` (a list) for a 1-based `page`."""
    seq = list(items) if not isinstance(items, list) else items
    start = (page - 1) * per_page
    return seq[start : start + per_page]


State = TypeVar("State", bound=SandboxState)


def current_state(kind: type[State]) -> State:
    """The world of the sandbox serving this request, as its platform's state type.

    Views are module-level functions shared by every app built from their blueprint, so
    each reaches its own app's state here rather than through a closure.
    """
    state = current_app.config["SANDBOX_STATE"]
    if not isinstance(state, kind):
        raise TypeError(f"this app serves a {type(state).__name__}, not a {kind.__name__}")
    return state
