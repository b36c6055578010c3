"""The relay: moves accepted webhook rows from PostgreSQL to the events queue.

The receiver only writes rows (`received`); this loop, in its own process
(`stocksync relay`), claims them in batches, marking them `queued`, and for each batch
makes one Redis call that opens each row's 5-second dedupe window and schedules a
message for the first row of every window in the due set (docs/architecture.md flows
1-2, "dedupe and schedule in one Redis round trip"), then marks the rows whose window
was open `duplicate`. A source's ERP item notices of one batch share a message, which
a worker processes together (`_messages`). Every loop also releases the messages whose
window has closed from the due set onto the events queue, in one more Redis call.

Why the relay holds the window, not the worker: the message used to carry the window as
a Celery ETA, and the worker's parent process held every such message until it was due,
about 14 ms of its CPU per event on 2 cores (issue 22): the quiet webhook-to-store p95
was 5.57-6.32 s against 6 s. Workers now get plain messages, with no ETA, when they are
due.

Redis down: rows simply wait and go out when it is back, and the due set waits in
Redis. Several relays may run: `FOR UPDATE SKIP LOCKED` gives each its own rows, and a
release is one Lua call that moves each due message once, whichever relay makes it.

Killed at any line: before the commit the rows are still `received` and are claimed
again. The script is idempotent per row: a window already holding *this* row's id means
its message was scheduled by the earlier attempt, so the row is `queued`, not a
duplicate of itself, and it is not scheduled twice. A scheduled message is in Redis, not
in the relay: whichever relay releases next pushes it, and a release, being one script,
pushes and removes it together or not at all.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
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
#: The most messages one release moves; a full release loops straight back.
RELEASE_BATCH = 1000

#: The due set: each scheduled message, scored by when its window closes (milliseconds
#: of Redis's own clock, `TIME`, so relays on hosts whose clocks disagree agree on it).
DUE = "stocksync:relay:due"

#: KEYS: the events queue, the due set. ARGV: the window in ms, then per row its window
#: key, its id, its message and "1" if it waits out the window ("" if it goes at once).
_DEDUPE_AND_SCHEDULE = """
local now = redis.call('TIME')
local due = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) + tonumber(ARGV[1])
local marks = {}
for i = 2, #ARGV, 4 do
  local key, id, message, windowed = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  if redis.call('SET', key, id, 'NX', 'PX', ARGV[1]) then
    if windowed == '1' then
      redis.call('ZADD', KEYS[2], due, message)
    else
      redis.call('LPUSH', KEYS[1], message)
    end
    marks[#marks + 1] = 1
  elseif redis.call('GET', key) == id then
    marks[#marks + 1] = 1
  else
    marks[#marks + 1] = 0
  end
end
return marks
"""

#: KEYS: the due set, the events queue. ARGV: the most messages to move. Moves the
#: messages due by Redis's clock, oldest first (LPUSH here, BRPOP in the worker), and
#: returns how many it moved and, if any is left, the milliseconds until the next is due.
#: One script, so a message is pushed and removed together: two relays releasing at once
#: never push one twice, and a relay killed around the call loses none.
_RELEASE = """
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ms, 'LIMIT', 0, ARGV[1])
if #due > 0 then
  redis.call('LPUSH', KEYS[2], unpack(due))
  redis.call('ZREM', KEYS[1], unpack(due))
end
local soonest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if soonest[2] == nil then
  return {#due}
end
return {#due, tonumber(soonest[2]) - ms}
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
    RETURNING id, dedupe_key, kind, source_id
    """
)

#: Event kinds sent to a worker at once, with no window to wait out: each row of these
#: is already one batch of SKUs (a change-feed poll, a heal) with a key of its own, so
#: nothing could coalesce into it, and the window would only add its 5 s to the
#: latency of stock that moved without a webhook.
UNWINDOWED = frozenset({EventKind.ERP_STOCK_MOVED.value})

#: Event kinds a source's rows of which share a message (`_messages`): each is one ERP
#: item to read and push, and the ERP reads many items in one call as the stores write
#: many SKUs in one. Windowed, so one due time covers a claim's group.
GROUPED = frozenset({EventKind.ERP_ITEM_CHANGED.value})
#: The most rows in one message: the Business Central connector reads 32 item ids
#: per URL, and a store writes 100 SKUs per batch at most (WooCommerce, section 1).
GROUP = 50

#: The claimed rows whose window was already open: their event is coalesced into the
#: message of the window's first row.
_COALESCE = text(
    """
    UPDATE webhook_log SET status = 'duplicate', queued_at = NULL,
        error = 'coalesced into the open window'
    WHERE id = ANY(CAST(:ids AS bigint[]))
    """
)


def _messages(rows: Sequence[tuple[int, str, str | None, int | None]]) -> dict[int, str]:
    """Each claimed row's message: one per row, except that a source's ERP item notices
    share a message per `GROUP` of them, which a worker processes together (one ERP
    read, one write per store: sync/events.py `process_events`).

    The rows of one claim open their windows in one script with one due time, so a
    group's windows close together. Every row of a group that opens a window schedules
    the same message, and the due set, a sorted set, keeps it once. A row of the group
    found inside another row's window is marked `duplicate` before the message is due,
    and the worker skips it: it is no longer pending.
    """
    messages: dict[int, str] = {}
    groups: dict[int, list[int]] = {}
    for row_id, _key, kind, source_id in rows:
        if kind in GROUPED and source_id is not None:
            groups.setdefault(source_id, []).append(row_id)
        else:
            messages[row_id] = event_message([row_id])
    for ids in groups.values():
        for start in range(0, len(ids), GROUP):
            chunk = ids[start : start + GROUP]
            message = event_message(chunk)
            messages.update(dict.fromkeys(chunk, message))
    return messages


class Relay:
    #: When (`time.monotonic()`) the soonest scheduled message is due, as this relay last
    #: saw it; the loop sleeps no later than that. Infinite while none is known.
    due_at: float = math.inf

    def __init__(self, engine: Engine, client: redis.Redis, window_seconds: float) -> None:
        self.engine = engine
        self.window_seconds = window_seconds
        self._script = client.register_script(_DEDUPE_AND_SCHEDULE)
        self._release = client.register_script(_RELEASE)

    def relay_once(self, limit: int = BATCH) -> int:
        """Release the due messages, then relay one batch of `received` rows; return how
        many rows were handled."""
        self.release()
        with self.engine.begin() as conn:
            # By id: of the rows sharing a window, the oldest opens it.
            rows = sorted(conn.execute(_CLAIM, {"limit": limit}).all())
            if not rows:
                return 0
            args: list[Any] = [int(self.window_seconds * 1000)]
            messages = _messages(rows)
            for row_id, key, kind, _source in rows:
                windowed = "" if kind in UNWINDOWED else "1"
                args += [key, str(row_id), messages[row_id], windowed]
            scheduled_at = time.monotonic()
            opened = self._script(keys=[EVENTS_QUEUE, DUE], args=args)
            self.due_at = min(self.due_at, scheduled_at + self.window_seconds)
            queued: list[int] = []
            coalesced: list[int] = []
            for (row_id, *_), first in zip(rows, opened, strict=True):
                (queued if first else coalesced).append(row_id)
            if coalesced:
                conn.execute(_COALESCE, {"ids": coalesced})
        log.info("relay.queued", extra={"events": queued, "coalesced": len(coalesced)})
        return len(rows)

    def release(self, limit: int = RELEASE_BATCH) -> int:
        """Push the messages whose window has closed onto the events queue; return how
        many. Notes when the next one is due (`due_at`)."""
        asked_at = time.monotonic()
        released, *next_in_ms = self._release(keys=[DUE, EVENTS_QUEUE], args=[limit])
        self.due_at = asked_at + next_in_ms[0] / 1000 if next_in_ms else math.inf
        if released:
            log.info("relay.released", extra={"events": released})
        return int(released)

    def pause(self) -> float:
        """Seconds to sleep after a part batch: IDLE_SECONDS, or less if a scheduled
        message is due sooner, so its window closes late by a loop's work at most."""
        return max(0.0, min(IDLE_SECONDS, self.due_at - time.monotonic()))

    def run(self, should_stop: Callable[[], bool] = lambda: False) -> None:
        """Relay until `should_stop()`; never dies of a dependency's outage."""
        while not should_stop():
            try:
                handled = self.relay_once()
            except (redis.RedisError, SQLAlchemyError, OSError) as exc:
                # Rows stay `received`, and scheduled messages in the due set, and go
                # out once the dependency is back.
                log.warning("relay.failed", extra={"error": repr(exc)})
                time.sleep(ERROR_SECONDS)
                continue
            pause = self.pause()
            if handled < BATCH and pause > 0:
                time.sleep(pause)
