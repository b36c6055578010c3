"""Shopify's webhook subscriptions in the sandbox: topics, deliveries, retries, deletion.

docs/platforms.md section 5 ("Timing and retries"): anything but a 2xx fails; failures
are retried 8 times over 4 hours, each retry carrying the original payload and the same
`X-Shopify-Webhook-Id`; after 8 failures in a row a subscription made through the
Admin API is deleted. A success resets the count (`HookBook` counts).

The retry schedule inside the 4 hours is not published; the sandbox doubles the wait
from 1 minute (1, 2, 4, 8, 16, 32, 64 minutes, then 113 so the 8th retry lands at
exactly 4 h). UNCONFIRMED: only "8 retries over 4 hours" is documented. Retries run
on the sandbox clock: a failed attempt schedules the next one, and
`ShopifyHooks.send_due` (from `ShopifyState.clock_advanced`) sends those due, again
and again until none is due, so advancing the clock 4 h plays all of them out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sandbox.base import SandboxClock, WebhookSender
from sandbox.hooks import Hook, HookBook

#: The `WebhookSubscriptionTopic` enum values the sandbox sends, with the slash form
#: deliveries carry in `X-Shopify-Topic` (docs/platforms.md section 5, "Topics").
TOPICS: dict[str, str] = {
    "PRODUCTS_CREATE": "products/create",
    "PRODUCTS_UPDATE": "products/update",
    "PRODUCTS_DELETE": "products/delete",
    "INVENTORY_LEVELS_UPDATE": "inventory_levels/update",
    "ORDERS_CREATE": "orders/create",
    "ORDERS_UPDATED": "orders/updated",
    "ORDERS_CANCELLED": "orders/cancelled",
    "REFUNDS_CREATE": "refunds/create",
}
ENUM_OF = {slash: enum for enum, slash in TOPICS.items()}

#: Seconds from one failed attempt of a delivery to its next retry (module docstring).
RETRY_DELAYS: tuple[int, ...] = (60, 120, 240, 480, 960, 1920, 3840, 6780)
#: Failures in a row after which Shopify deletes the subscription (section 5).
FAILURES_BEFORE_DELETE = 8
#: How long `send_due` waits for one round of retries to be attempted.
ROUND_TIMEOUT = 30.0


@dataclass
class Delivery:
    """One event's delivery to one subscription, as its retries repeat it."""

    body: bytes
    headers: dict[str, str]
    #: Retries sent so far (0 for the first attempt).
    retries: int = 0
    #: When the next retry is due on the sandbox clock; None while none is scheduled.
    due: datetime | None = None


class ShopifyHooks(HookBook):
    """The subscriptions of a Shopify sandbox, each delivery retried on the clock."""

    def __init__(
        self, clock: SandboxClock, sender: WebhookSender, reach: Callable[[str], str]
    ) -> None:
        super().__init__(clock, sender, reach)
        self.on_failure = self._delete_after_eight
        #: hook id -> its deliveries waiting for a retry
        self._waiting: dict[str, list[Delivery]] = {}

    def send(self, hook: Hook, delivery: Delivery) -> None:
        """Attempt `delivery` to `hook` now; count the outcome and, on failure,
        schedule the next retry (the book's `deliver`, with the delivery known)."""
        self._sender.send(
            self._reach(hook.url),
            delivery.body,
            delivery.headers,
            on_result=lambda status: self._outcome(hook, delivery, status),
        )

    def _outcome(self, hook: Hook, delivery: Delivery, status: int | None) -> None:
        # Runs on the sender's thread: takes only the book's lock, never the state's,
        # so `send_due` may wait for it while holding the state's lock.
        self._record(hook, status)
        if self._sender.rules.delivered(status) or delivery.retries >= len(RETRY_DELAYS):
            return
        with self._lock:
            if self._hooks.get(hook.id) is not hook:
                return  # deleted by this failure: its retries go with it
            # On the delivery's own timeline, so one long clock advance replays them all.
            since = delivery.due or self._clock.now()
            delivery.due = since + timedelta(seconds=RETRY_DELAYS[delivery.retries])
            self._waiting.setdefault(hook.id, []).append(delivery)

    def _delete_after_eight(self, hook: Hook) -> None:
        if hook.failures >= FAILURES_BEFORE_DELETE:
            self.remove(hook.id)

    def remove(self, hook_id: str) -> Hook | None:
        with self._lock:
            self._waiting.pop(hook_id, None)
            return super().remove(hook_id)

    def waiting(self, hook_id: str) -> int:
        """How many deliveries of `hook_id` wait for a retry (for tests)."""
        with self._lock:
            return len(self._waiting.get(hook_id, ()))

    def send_due(self) -> None:
        """Send every retry due by the clock's now, round after round: a retry that
        fails schedules the next, which may be due already after a long advance."""
        while True:
            now = self._clock.now()
            with self._lock:
                due: list[tuple[Hook, Delivery]] = []
                for hook_id, deliveries in self._waiting.items():
                    hook = self._hooks[hook_id]  # `remove` drops a deleted hook's list
                    later = [d for d in deliveries if d.due is None or d.due > now]
                    due += [(hook, d) for d in deliveries if d.due is not None and d.due <= now]
                    deliveries[:] = later
            if not due:
                return
            for hook, delivery in sorted(due, key=lambda pair: pair[1].due or now):
                delivery.retries += 1
                self.send(hook, delivery)
            if not self._sender.wait_idle(ROUND_TIMEOUT):
                return  # a receiver hangs; the rest waits for the next advance
