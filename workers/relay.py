"""The relay: moves accepted webhook rows from PostgreSQL to the events queue.

The receiver only writes rows (`received`); this loop, in its own process
(`stocksync relay`), claims them in batches, marking them `queued`, and for each batch
makes one Redis call that opens each row's 5-second dedupe window and pushes a message
for the first row of every window (docs/architecture.md flows 1-2, "dedupe and enqueue in one
Redis round trip"), then marks the rows whose window was open `duplicate`. Redis down:
rows simply wait and go out when it is back. Several relays may run: `FOR UPDATE SKIP
LOCKED` gives each its own rows.

Killed at any line: before the commit the rows are still `received` and are claimed
again. The script is idempotent per row: a window already holding *this* row's id means
its message was pushed by the earlier attempt, so the row is `queued`, not a duplicate
of itself, and it is not pushed twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import redis
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from models import EventKind
from workers.events import EVENTS_QUEUE, event_message

log = logging.getLogger(__name__)

BATCH = 500
#: Pause after a batch that was not full (or empty): the most it adds to an event's
#: latency, well inside the 5 s window. Looping straight back after a part batch made
#: batches of a few rows, whose fixed cost (a transaction, a Lua call, two statements)
#: was half the relay's CPU and PostgreSQL's; bench/ingest.py measured 0.20 ms of
#: relay, PostgreSQL and Redis CPU per event that way, 0.13 ms with this pause.
IDLE_SECONDS = 0.05
#: Pause after a failure (Redis or PostgreSQL down), so a dead dependency is not hammered.
ERROR_SECONDS = 1.0

_DEDUPE_AND_ENQUEUE = """
local marks = {}
for i = 2, #ARGV, 3 do
  local key, id, message = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if redis.call('SET', key, id, 'NX', 'PX', ARGV[1]) then
    redis.call('LPUSH', KEYS[1], message)
    marks[#marks + 1] = 1
  elseif redis.call('GET', key) == id then
    marks[#marks + 1] = 1
  else
    marks[#marks + 1] = 0
  end
end
return marks
"""

#: Claims a batch and marks it `queued` in one write per row; the transaction holds the
#: rows until the Redis call has decided which of them open a window. Why not SELECT
#: ... FOR UPDATE and an UPDATE of every row after: the row lock was a write (and a WAL
#: record) of its own per row; PostgreSQL's CPU per relayed row went from 46-49 us to
#: 37-39 us (batches of 150, vacuumed table).
_CLAIM = text(
    """
    UPDATE webhook_log SET status = 'queued', queued_at = now()
    WHERE id IN (
        SELECT id FROM webhook_log
        WHERE status = 'received' AND dedupe_key IS NOT NULL
        ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED
    )
    RETURNING id, dedupe_key, kind
    """
)

#: Event kinds sent to a worker at once, with no window to wait out: each row of these
#: is already one batch of SKUs (a change-feed poll, a heal) with a key of its own, so
#: nothing could coalesce into it, and the window would only add its 5 s to the
#: latency of stock that moved without a webhook.
UNWINDOWED = frozenset({EventKind.ERP_STOCK_MOVED.value})

#: The claimed rows whose window was already open: their event is coalesced into the
#: message of the window's first row.
_COALESCE = text(
    """
    UPDATE webhook_log SET status = 'duplicate', queued_at = NULL,
        error = 'coalesced into the open window'
    WHERE id = ANY(CAST(:ids AS bigint[]))
    """
)


class Relay:
    def __init__(self, engine: Engine, client: redis.Redis, window_seconds: float) -> None:
        self.engine = engine
        self.window_seconds = window_seconds
        self._script = client.register_script(_DEDUPE_AND_ENQUEUE)

    def relay_once(self, limit: int = BATCH) -> int:
        """Relay one batch of `received` rows; return how many were handled."""
        with self.engine.begin() as conn:
            # By id: of the rows sharing a window, the oldest opens it.
            rows = sorted(conn.execute(_CLAIM, {"limit": limit}).all())
            if not rows:
                return 0
            args: list[Any] = [int(self.window_seconds * 1000)]
            for row_id, key, kind in rows:
                countdown = 0.0 if kind in UNWINDOWED else self.window_seconds
                args += [key, str(row_id), event_message(row_id, countdown)]
            opened = self._script(keys=[EVENTS_QUEUE], args=args)
            queued: list[int] = []
            coalesced: list[int] = []
            for (row_id, _key, _kind), first in zip(rows, opened, strict=True):
                (queued if first else coalesced).append(row_id)
            if coalesced:
                conn.execute(_COALESCE, {"ids": coalesced})
        log.info("relay.queued", extra={"events": queued, "coalesced": len(coalesced)})
        return len(rows)

    def run(self, should_stop: Callable[[], bool] = lambda: False) -> None:
        """Relay until `should_stop()`; never dies of a dependency's outage."""
        while not should_stop():
            try:
                handled = self.relay_once()
            except (redis.RedisError, SQLAlchemyError, OSError) as exc:
                # Rows stay `received` and go out once the dependency is back.
                log.warning("relay.failed", extra={"error": repr(exc)})
                time.sleep(ERROR_SECONDS)
                continue
            if handled < BATCH:
                time.sleep(IDLE_SECONDS)
