"""What every sandbox shares: config, stock state, write log, faults and control routes.

A platform module calls `make_app(name, state, too_many, error)` and adds its own routes.
Faults apply to platform routes only, never to `/_sandbox/*`, so a test can always read
back the truth and change the settings of a sandbox it has made unhealthy.
"""

from __future__ import annotations

import json
import queue
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import requests
from flask import Flask, Response, jsonify, request

CONTROL_PREFIX = "/_sandbox"


@dataclass(frozen=True)
class SandboxConfig:
    """Knobs for one sandbox. Fault shares are probabilities per platform call."""

    items: int = 1000
    seed: int = 0
    drift: float = 0.0
    latency_ms: float = 0.0
    share_429: float = 0.0
    share_5xx: float = 0.0
    outage: bool = False
    #: (requests, window seconds) enforced like the platform does, or None for no limit.
    rate_limit: tuple[int, float] | None = None
    #: Where store sandboxes send their webhooks when stock or a product changes.
    webhook_url: str | None = None
    webhook_secret: str = "sandbox-webhook-secret"
    credentials: Mapping[str, str] = field(default_factory=dict)


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


class SandboxState:
    """The mutable world of one sandbox, shared by its request threads under one lock."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.lock = threading.RLock()
        self.writes: list[WriteCall] = []
        self.calls = 0
        self.rejected_429 = 0
        self.limiter = FixedWindowLimiter(*config.rate_limit) if config.rate_limit else None
        self.random = random.Random(config.seed)
        self.webhooks = WebhookSender()

    def set_faults(self, **changes: Any) -> None:
        with self.lock:
            self.config = replace(self.config, **changes)
            if "rate_limit" in changes:
                rl = self.config.rate_limit
                self.limiter = FixedWindowLimiter(*rl) if rl else None

    def record_write(self, path: str, items: int) -> None:
        with self.lock:
            self.writes.append(WriteCall(request.method, path, items, time.time()))

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
    (platforms.md section 1), and the nightly sync is what repairs a lost delivery.
    """

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[str, bytes, dict[str, str]]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._session = requests.Session()
        self.sent = 0
        self.failed = 0
        self._idle = threading.Condition()
        self._pending = 0

    def send(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        with self._idle:
            self._pending += 1
        self._queue.put((url, body, headers))
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="webhooks", daemon=True)
            self._thread.start()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until every queued webhook was attempted (for tests and the demo)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def _run(self) -> None:
        while True:
            url, body, headers = self._queue.get()
            try:
                response = self._session.post(url, data=body, headers=headers, timeout=30)
                ok = response.status_code < 300
            except requests.RequestException:
                ok = False
            with self._idle:
                self.sent += ok
                self.failed += not ok
                self._pending -= 1
                self._idle.notify_all()


#: The platform's 429: (state, seconds until the quota resets) -> response.
TooMany = Callable[[SandboxState, float], Response]
#: The platform's error response for a status and a message, in its own error shape.
ErrorResponse = Callable[[int, str], Response]


def default_too_many(state: SandboxState, reset: float) -> Response:
    response = jsonify({"message": "Too Many Requests"})
    response.status_code = 429
    response.headers["Retry-After"] = str(max(1, round(reset)))
    return response


def default_error(status: int, message: str) -> Response:
    return Response(json.dumps({"message": message}), status, mimetype="application/json")


def make_app(
    name: str,
    state: SandboxState,
    too_many: TooMany = default_too_many,
    error: ErrorResponse = default_error,
) -> Flask:
    """A Flask app with the shared fault injection and `/_sandbox/*` control routes.

    `too_many` answers the quota's and injected 429s; `error` answers injected 5xx and
    outages, so a connector parses its platform's real error shape in every fault.
    """
    app = Flask(f"sandbox.{name}")
    app.config["SANDBOX_STATE"] = state

    @app.before_request
    def inject_faults() -> Response | None:
        if request.path.startswith(CONTROL_PREFIX):
            return None
        config = state.config
        with state.lock:
            state.calls += 1
            roll = state.random.random()
        if config.latency_ms:
            time.sleep(config.latency_ms / 1000)
        if config.outage:
            return error(503, "sandbox outage")
        if state.limiter is not None:
            allowed, _left, reset = state.limiter.take()
            if not allowed:
                with state.lock:
                    state.rejected_429 += 1
                return too_many(state, reset)
        if roll < config.share_429:
            with state.lock:
                state.rejected_429 += 1
            return too_many(state, 1.0)
        if roll < config.share_429 + config.share_5xx:
            return error(503, "injected server error")
        return None

    @app.get(f"{CONTROL_PREFIX}/stock")
    def get_stock() -> Response:
        return jsonify(state.stock())

    @app.post(f"{CONTROL_PREFIX}/stock")
    def post_stock() -> Response | tuple[Response, int]:
        """Set stock by SKU, as an order or an admin edit would: all of it or nothing.

        One rule for every sandbox: a SKU it does not hold is a mistake in the caller
        (a test or the demo), answered 400 with `{"unknown": [...]}`, and nothing is set.
        """
        changes = request.get_json(force=True, silent=True)
        if not isinstance(changes, dict) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in changes.values()
        ):
            return jsonify({"error": "expected a JSON object of SKU: integer"}), 400
        with state.lock:
            # Held across both steps so no SKU can vanish between the check and the write.
            unknown = sorted(set(changes) - state.known(changes))
            if unknown:
                return jsonify({"unknown": unknown}), 400
            state.set_stock(changes)
        return jsonify({"changed": len(changes)})

    @app.get(f"{CONTROL_PREFIX}/stats")
    def get_stats() -> Response:
        with state.lock:
            writes = [asdict(w) for w in state.writes]
            return jsonify(
                {
                    "calls": state.calls,
                    "rejected_429": state.rejected_429,
                    "write_calls": len(writes),
                    "writes": writes,
                    "webhooks_sent": state.webhooks.sent,
                    "webhooks_failed": state.webhooks.failed,
                }
            )

    @app.post(f"{CONTROL_PREFIX}/faults")
    def post_faults() -> Response:
        changes = request.get_json(force=True)
        if "rate_limit" in changes and changes["rate_limit"] is not None:
            changes["rate_limit"] = tuple(changes["rate_limit"])
        state.set_faults(**changes)
        return jsonify(asdict(state.config) | {"credentials": "hidden"})

    @app.post(f"{CONTROL_PREFIX}/reset-stats")
    def reset_stats() -> Response:
        with state.lock:
            state.writes.clear()
            state.calls = state.rejected_429 = 0
        return jsonify({"ok": True})

    return app


def pages(items: Iterable[Any], page: int, per_page: int) -> list[Any]:
    """Slice `items` (a list) for a 1-based `page`."""
    seq = list(items) if not isinstance(items, list) else items
    start = (page - 1) * per_page
    return seq[start : start + per_page]
