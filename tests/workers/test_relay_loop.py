"""The relay's loop: straight back for a full batch, a pause after a part or empty one.

Looping straight back after a part batch made batches of a few rows whose fixed cost
was half the relay's CPU (workers/relay.py); the pause is what keeps them large.
"""

from __future__ import annotations

import math
import time

import pytest
import redis

from workers import relay as relay_module
from workers.relay import BATCH, IDLE_SECONDS, Relay


def test_full_batches_loop_straight_back_part_and_empty_ones_pause(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    relay = Relay.__new__(Relay)
    handled = [BATCH, BATCH, 3, 0, BATCH, 1]
    timeline: list[object] = []

    def relay_once(limit: int = BATCH) -> int:
        count = handled.pop(0)
        timeline.append(count)
        return count

    monkeypatch.setattr(relay, "relay_once", relay_once)
    monkeypatch.setattr(relay_module.time, "sleep", lambda seconds: timeline.append(seconds))
    relay.run(should_stop=lambda: not handled)
    assert timeline == [BATCH, BATCH, 3, IDLE_SECONDS, 0, IDLE_SECONDS, BATCH, 1, IDLE_SECONDS]


def test_a_dependency_down_waits_longer_and_keeps_going(monkeypatch: pytest.MonkeyPatch) -> None:
    relay = Relay.__new__(Relay)
    outcomes: list[int | Exception] = [redis.ConnectionError("down"), BATCH]
    timeline: list[object] = []

    def relay_once(limit: int = BATCH) -> int:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        timeline.append(outcome)
        return outcome

    monkeypatch.setattr(relay, "relay_once", relay_once)
    monkeypatch.setattr(relay_module.time, "sleep", lambda seconds: timeline.append(seconds))
    relay.run(should_stop=lambda: not outcomes)
    assert timeline == [relay_module.ERROR_SECONDS, BATCH]


def test_the_pause_ends_when_the_soonest_scheduled_message_is_due(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The window's message waits in the relay's due set; sleeping the whole pause past
    its due time would add up to IDLE_SECONDS to every event's latency."""
    relay = Relay.__new__(Relay)
    due_in: list[float | None] = [0.01, -0.001, None]  # soon, due already (more to move), none
    sleeps: list[float] = []

    def relay_once(limit: int = BATCH) -> int:
        soonest = due_in.pop(0)
        relay.due_at = math.inf if soonest is None else time.monotonic() + soonest
        sleeps.append(-1.0)  # an iteration
        return 0

    monkeypatch.setattr(relay, "relay_once", relay_once)
    monkeypatch.setattr(relay_module.time, "sleep", sleeps.append)
    relay.run(should_stop=lambda: not due_in)
    soon, *rest = sleeps[1:]
    assert 0 < soon <= 0.01
    assert rest == [-1.0, -1.0, IDLE_SECONDS]  # due already: straight back
