"""A `sync.context.Broker` that records what the service layer queues, for tests of
`sync/` that need no worker; it can be told to be down, as Redis can be."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sync.errors import Unavailable


@dataclass
class RecordingBroker:
    #: (task, argument, kind or countdown) in the order queued.
    queued: list[tuple[str, int, Any]] = field(default_factory=list)
    #: Queue calls left before the broker goes down (None: never).
    fails_after: int | None = None

    def _queue(self, task: str, argument: int, extra: Any) -> None:
        if self.fails_after is not None:
            if self.fails_after <= 0:
                raise Unavailable("the broker cannot be reached (test)")
            self.fails_after -= 1
        self.queued.append((task, argument, extra))

    def queue_start(self, run_id: int, kind: str, countdown: float = 0) -> None:
        self._queue("start_run", run_id, kind)

    def queue_batches(self, batch_ids: Iterable[int], kind: str) -> None:
        for batch_id in batch_ids:
            self._queue("batch", batch_id, kind)

    def queue_deliveries(self, delivery_ids: Iterable[int], countdown: float = 0) -> None:
        for delivery_id in delivery_ids:
            self._queue("delivery", delivery_id, countdown)

    def queue_event(self, row_id: int) -> None:
        self._queue("event", row_id, 0)

    def depths(self) -> dict[str, Any]:
        if self.fails_after == 0:
            raise Unavailable("the broker cannot be reached (test)")
        return {"queues": {}, "unacked": 0}

    def close(self) -> None:
        """Nothing to release."""

    def sent(self, task: str) -> list[int]:
        """The arguments queued for `task`, in order."""
        return [argument for name, argument, _ in self.queued if name == task]
