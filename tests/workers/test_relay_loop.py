"""The relay's loop: straight back for a full batch, a pause after a part or empty one.

Looping straight back after a part batch made batches of a few rows whose fixed cost
was half the relay's CPU (workers/relay.py); the pause is what keeps them large.
"""

from __future__ import annotations

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
