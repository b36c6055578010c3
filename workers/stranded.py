"""Batch messages stranded in the hands of a worker that died.

kombu's Redis transport moves each message it hands to a worker from the queue into
the `unacked` hash, indexed by delivery time in `unacked_index`, and gives it out again
only after the visibility timeout (1 h, celeryconfig.py). A worker killed after it took
a batch's message but before it claimed the batch (a few milliseconds between the two;
one kill in four hit it in tests/functional/test_fullsync_sigkill.py) leaves that batch
`queued`, with no lease to lapse: nothing would publish it again for
STUCK_BATCH_MINUTES, and its run would wait half an hour.

A live worker claims a batch within milliseconds of receiving its message: with late
acks and prefetch 1 a worker holds no more messages than it has pool processes, so a
received message never waits for a busy one. So a batch message delivered more than one
lease ago whose batch is still `queued` with no retry pending (sync/recovery.py) was
taken by a worker that is gone. The lease sweep publishes it again and then drops the
dead worker's copy (`forget`), so that kombu does not hand it out once more an hour
later and the next sweeps do not find it again. Should the holder be alive after all
(frozen for a minute), its late message finds the batch claimed or done and does
nothing: one claim succeeds.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Collection
from typing import Any, cast

import redis

from workers.broker import PROCESS_BATCH, UNACKED_INDEX_KEY, UNACKED_KEY

#: At most this many old unacknowledged messages are read per sweep: those are mostly
#: retries' countdowns, and a sweep every 30 s reads the rest next.
READ_AT_MOST = 10_000


def stranded_batches(client: redis.Redis, delivered_before: float) -> dict[str, int]:
    """{delivery tag: batch id} of batch messages handed out before `delivered_before`
    (a Unix time, as kombu writes it) and not acknowledged since."""
    tags = cast(
        list[bytes],
        client.zrangebyscore(UNACKED_INDEX_KEY, "-inf", delivered_before, 0, READ_AT_MOST),
    )
    if not tags:
        return {}
    stored_messages = cast(list[bytes | None], client.hmget(UNACKED_KEY, tags))
    found: dict[str, int] = {}
    for tag, stored in zip(tags, stored_messages, strict=True):
        batch_id = _batch_of(stored)
        if batch_id is not None:
            found[tag.decode()] = batch_id
    return found


def forget(client: redis.Redis, tags: Collection[str]) -> None:
    """Drop these unacknowledged copies, as kombu's own acknowledgement does."""
    if tags:
        pipe = client.pipeline()
        pipe.zrem(UNACKED_INDEX_KEY, *tags)
        pipe.hdel(UNACKED_KEY, *tags)
        pipe.execute()


def _batch_of(stored: bytes | None) -> int | None:
    """The batch id of a stored `[message, exchange, routing key]` if the message is a
    batch task (Celery's protocol 2, JSON body), else None: other tasks, and anything
    this code cannot read, are left to kombu."""
    try:
        message: dict[str, Any] = json.loads(stored or b"null")[0]
        if message["headers"]["task"] != PROCESS_BATCH:
            return None
        body = message["body"]
        if message["properties"].get("body_encoding") == "base64":
            body = base64.b64decode(body)
        args = json.loads(body)[0]
        return int(args[0]) if isinstance(args[0], int) else None
    except (ValueError, TypeError, KeyError, IndexError):
        return None
