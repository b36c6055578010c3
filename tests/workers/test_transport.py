"""The Redis transport reads only bindings it can split, and the move off ":" names."""

from __future__ import annotations

import redis
from celery import Celery

from workers.transport import OLD_SEP, SEP, migrate_separator


def test_priority_lists_move_to_kombus_names_oldest_first(redis_client: redis.Redis) -> None:
    old = f"sync{OLD_SEP}7"
    redis_client.lpush(old, "first", "second", "third")  # "first" is popped first
    redis_client.lpush(f"sync{SEP}7", "already")
    assert migrate_separator(redis_client, ["sync"], [0, 7]) == 3
    assert not redis_client.exists(old)
    new = f"sync{SEP}7"
    popped = [redis_client.rpop(new) for _ in range(4)]
    assert popped == [b"first", b"second", b"third", b"already"]  # the moved ones are older
    assert migrate_separator(redis_client, ["sync"], [0, 7]) == 0  # again: nothing left


def test_binding_members_that_do_not_split_are_dropped(redis_client: redis.Redis) -> None:
    good = SEP.join(["events", "", "events"])
    redis_client.sadd("_kombu.binding.events", "events::events", good)
    redis_client.sadd("_kombu.binding.reply.celery.pidbox", "id::id.reply.celery.pidbox")
    migrate_separator(redis_client, ["events"], [0])
    assert redis_client.smembers("_kombu.binding.events") == {good.encode()}
    assert not redis_client.exists("_kombu.binding.reply.celery.pidbox")


def test_routing_skips_a_binding_written_with_another_separator(
    celery_app: Celery, redis_client: redis.Redis
) -> None:
    """A reply binding from a client with ":" (the worker's pidbox reply path) no longer
    raises "not enough values to unpack"; the readable bindings still route."""
    readable = SEP.join(["abc", "", "abc.reply.celery.pidbox"])
    redis_client.sadd(
        "_kombu.binding.reply.celery.pidbox", "abc::abc.reply.celery.pidbox", readable
    )
    with celery_app.connection_for_write() as connection:
        channel = connection.default_channel
        assert channel.get_table("reply.celery.pidbox") == [("abc", "", "abc.reply.celery.pidbox")]
