"""The webhook subscriptions a sandbox holds, as its platform's hooks API made them.

Every platform keeps a list of subscriptions (a topic, a destination, a secret, whether
it is active) and counts failed deliveries to decide when to give up on one
(docs/platforms.md, cross-cutting notes): WooCommerce disables a webhook after repeated
failures, BigCommerce deactivates a hook about 48 h after the first failed attempt,
Shopify deletes a subscription after 8 failures in a row, Business Central lets one
expire after 3 days. `HookBook` is the list and the counting; each platform's state
applies its own rule (`on_failure`, `SandboxState.clock_advanced`) and its routes give
the list the platform's own shape.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sandbox.base import SandboxClock, WebhookSender


@dataclass
class Hook:
    """One subscription. `extra` keeps the platform's own fields (BigCommerce's
    `headers`, Shopify's `format`, Business Central's `clientState`)."""

    id: str
    topic: str
    url: str
    secret: str | None
    created_at: datetime
    updated_at: datetime
    active: bool = True
    #: Failed deliveries since the last success.
    failures: int = 0
    #: When the current run of failures began; None while deliveries succeed.
    failing_since: datetime | None = None
    #: The answer to the last delivery attempted (None: no answer at all).
    last_status: int | None = None
    expires_at: datetime | None = None
    #: Listed as active, delivering nothing: a subscription gone silent on the
    #: platform's side, which a test sets and only a new subscription cures.
    silent: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class HookBook:
    """The subscriptions of one sandbox, numbered like its platform numbers them."""

    def __init__(
        self, clock: SandboxClock, sender: WebhookSender, reach: Callable[[str], str]
    ) -> None:
        self._clock = clock
        self._sender = sender
        self._reach = reach
        self._hooks: dict[str, Hook] = {}
        self._ids = itertools.count(1)
        self._lock = threading.RLock()
        #: What the platform does after a failed delivery (disable, delete); the book
        #: has counted the failure when it runs.
        self.on_failure: Callable[[Hook], None] = lambda hook: None

    def add(
        self,
        topic: str,
        url: str,
        secret: str | None,
        *,
        hook_id: str | None = None,
        expires_at: datetime | None = None,
        **extra: Any,
    ) -> Hook:
        now = self._clock.now()
        with self._lock:
            hook = Hook(
                id=hook_id or str(next(self._ids)),
                topic=topic,
                url=url,
                secret=secret,
                created_at=now,
                updated_at=now,
                expires_at=expires_at,
                extra=dict(extra),
            )
            self._hooks[hook.id] = hook
            return hook

    def get(self, hook_id: str) -> Hook | None:
        with self._lock:
            return self._hooks.get(hook_id)

    def remove(self, hook_id: str) -> Hook | None:
        with self._lock:
            return self._hooks.pop(hook_id, None)

    def all(self) -> list[Hook]:
        with self._lock:
            return list(self._hooks.values())

    def touch(self, hook: Hook) -> None:
        """Note a change made through the platform's API (its `updated_at`)."""
        hook.updated_at = self._clock.now()

    def listening(self, topic: str) -> Iterator[Hook]:
        """The active hooks subscribed to `topic`."""
        with self._lock:
            hooks = [h for h in self._hooks.values() if h.active and h.topic == topic]
        yield from hooks

    def deliver(self, hook: Hook, body: bytes, headers: dict[str, str]) -> None:
        """Send one delivery to `hook` and count its outcome when it was attempted."""
        if hook.silent:
            return
        self._sender.send(
            self._reach(hook.url),
            body,
            headers,
            on_result=lambda status: self._record(hook, status),
        )

    def _record(self, hook: Hook, status: int | None) -> None:
        with self._lock:
            if self._hooks.get(hook.id) is not hook:
                return  # deleted meanwhile
            hook.last_status = status
            if self._sender.rules.delivered(status):
                hook.failures, hook.failing_since = 0, None
                return
            hook.failures += 1
            if hook.failing_since is None:
                hook.failing_since = self._clock.now()
            self.on_failure(hook)
