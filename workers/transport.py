"""kombu's Redis transport, made safe against bindings written by other clients.

kombu keeps each exchange's bindings in a Redis set, `_kombu.binding.<exchange>`, each
member `<routing key><sep><pattern><sep><queue>`, and splits them with its own `sep`
whenever it routes a message there. A client with another `sep` writes members that do
not split in three, and routing then raises. That is how one `inspect().ping()` from a
client with Celery's default separator stopped a worker that used ":": the ping's
reply binding broke the worker's reply, the control command failed, Celery reset its
broadcast consumer from inside the event loop's read callback, and kombu's Redis poller
never asked for the next task again (the worker sat in `epoll_wait`, the queue grew).

So we use kombu's default separator, as every stock client does, and this transport
skips members it cannot read instead of raising: no client's binding can break
routing. `migrate_separator` moves what an older version left under ":" (priority lists
named `<queue>:<n>`, and its binding members) to the default names; the worker runs it
when it first connects (`MigrateSeparator`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, cast

import redis
from celery import bootsteps
from kombu.transport import redis as kombu_redis

log = logging.getLogger(__name__)

#: kombu's default separator in key names and binding members.
SEP = kombu_redis.Channel.sep
#: The separator this project used before: "<queue>:<n>" priority lists.
OLD_SEP = ":"
BINDINGS = kombu_redis.Channel.keyprefix_queue


class Channel(kombu_redis.Channel):
    def get_table(self, exchange: str) -> list[tuple[str, ...]]:
        table = super().get_table(exchange)
        readable = [row for row in table if len(row) == 3]
        if len(readable) != len(table):
            # Written with another separator: not a binding we can route by.
            log.warning(
                "broker.binding_skipped",
                extra={"exchange": exchange, "skipped": len(table) - len(readable)},
            )
        return readable


class Transport(kombu_redis.Transport):
    Channel = Channel


class MigrateSeparator(bootsteps.StartStopStep):
    """A consumer step: `migrate_separator` when the worker first connects."""

    requires = {"celery.worker.consumer.tasks:Tasks"}

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.done = False

    def start(self, parent: Any) -> None:
        if self.done:
            return
        conf = parent.app.conf
        client = redis.Redis.from_url(conf.broker_url)
        try:
            steps = conf.broker_transport_options.get("priority_steps") or [0]
            migrate_separator(client, [queue.name for queue in conf.task_queues], steps)
        finally:
            client.close()
        self.done = True


def migrate_separator(client: redis.Redis, queues: Iterable[str], steps: Iterable[int]) -> int:
    """Move messages from "<queue>:<n>" lists to kombu's names, oldest still first, and
    drop binding members that do not split with `SEP`; return the messages moved.

    Each message moves in one LMOVE, so a kill between two loses none; running it again
    finds what is left.
    """
    moved = 0
    for queue in queues:
        for step in steps:
            if not step:
                continue  # priority 0 is the queue's own list under either separator
            old, new = f"{queue}{OLD_SEP}{step}", f"{queue}{SEP}{step}"
            # Newest first onto the tail: the oldest ends up at the tail, popped first,
            # before any message already under the new name (all newer).
            while client.lmove(old, new, "LEFT", "RIGHT") is not None:
                moved += 1
    for key in client.scan_iter(match=BINDINGS % "*"):
        members = cast(set[Any], client.smembers(key))
        stale = [m for m in members if len(_text(m).split(SEP)) != 3]
        if stale:
            client.srem(key, *stale)
    if moved:
        log.warning("broker.separator_migrated", extra={"messages": moved})
    return moved


def _text(member: Any) -> str:
    return member.decode() if isinstance(member, bytes) else str(member)
