"""Every request a worker sends to a store goes through the site's shared limit.

ERP requests go through a gate too, with the source's shared budget (sync/limits.py).

The limit is taken per HTTP request, not per `set_stock` call, for two reasons:
one `set_stock` may send many requests (WooCommerce batches variations per parent,
every connector chunks by its platform's batch limit), and reads count against the
same quota as writes (BigCommerce's 150 per 30 s covers every API call, docs/platforms.md
section 4). The one place every connector request passes is `HttpClient.request`
(connectors/http.py), so the worker's store gets a gated `request` on its client.

The gate also absorbs short throttles in place: a 429 or 5xx whose wait is a few
seconds is retried right here, up to `Pacing.retries` times, honouring `Retry-After`.
Without this, a batch of thirteen WooCommerce requests facing a 20 % error rate would
succeed whole only one time in twenty, and its task would burn its retries re-sending
the twelve that had worked. Longer waits, timeouts and dropped connections go up to
the task, whose retry has a countdown instead of a sleeping worker.
"""

from __future__ import annotations

import random
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from connectors.errors import TransientError
from connectors.http import HttpClient
from sync.limits import Limit


@dataclass(frozen=True)
class Pacing:
    """How long a request may be retried in place before its task retries instead."""

    #: In-place retries of one request answered 408, 429 or 5xx.
    retries: int = 3
    #: Longest in-place wait, in seconds; a longer hint goes to the task's countdown.
    max_wait: float = 5.0
    #: Backoff base for answers without a hint: base * 2**n seconds, jittered.
    base_seconds: float = 0.5


Send = Callable[..., Any]


class Gate:
    """Wraps one `HttpClient.request`: take the limit, count, retry short throttles."""

    def __init__(self, send: Send, limit: Limit | None, pacing: Pacing) -> None:
        self._send = send
        self.limit = limit
        self.pacing = pacing
        self._lock = threading.Lock()
        self._random = random.Random()
        #: Requests sent through this gate, retries included.
        self.calls = 0

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        attempt = 0
        while True:
            try:
                return self._once(method, path, **kwargs)
            except TransientError as exc:
                # A short throttle is waited out here; anything else rises to the task.
                wait = self._wait_before_retry(exc, attempt)
                if wait is None:
                    raise
            attempt += 1
            time.sleep(wait)

    def _once(self, method: str, path: str, **kwargs: Any) -> Any:
        with self._lock:
            self.calls += 1
        if self.limit is None:
            return self._send(method, path, **kwargs)
        with self.limit.acquire():
            return self._send(method, path, **kwargs)

    def _wait_before_retry(self, exc: TransientError, attempt: int) -> float | None:
        """Seconds to wait before retrying in place, or None to let the error rise.

        No status means a timeout or a dropped connection: the host may be down, and
        hammering it from inside a task helps nobody.
        """
        if attempt >= self.pacing.retries or exc.status is None:
            return None
        ceiling = self.pacing.base_seconds * 2**attempt
        wait = max(self._random.uniform(ceiling / 2, ceiling), exc.retry_after or 0.0)
        return wait if wait <= self.pacing.max_wait else None


_GATES: weakref.WeakKeyDictionary[object, Gate] = weakref.WeakKeyDictionary()


def gate_connector(connector: object, limit: Limit | None, pacing: Pacing) -> Gate:
    """Route every request of `connector` through a `Gate`; return the gate.

    Finds the connector's `HttpClient` where every connector keeps it: `http` for the
    storefronts, `api.http` (behind the OAuth token helper) for the ERPs. Anything else
    is refused rather than left silently unlimited.
    """
    http = getattr(connector, "http", None)
    if http is None:
        http = getattr(getattr(connector, "api", None), "http", None)
    if not isinstance(http, HttpClient):
        raise TypeError(f"{type(connector).__name__} has no HttpClient to gate")
    gate = Gate(http.request, limit, pacing)
    # An instance attribute shadows the method, so `HttpClient.json` and the
    # connectors' own calls to `request` all pass through the gate.
    setattr(http, "request", gate.request)  # noqa: B010
    _GATES[connector] = gate
    return gate


def calls_made(store: object) -> int | None:
    """Requests sent so far by a gated connector, or None if it was not gated."""
    try:
        gate = _GATES.get(store)
    except TypeError:
        # Not weak-referenceable (a slotted class), so `gate_connector` never took it.
        return None
    return None if gate is None else gate.calls
