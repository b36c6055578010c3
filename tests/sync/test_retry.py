"""The one backoff curve (sync/retry.py): grows, honours the server's hint, is capped."""

from __future__ import annotations

import random

from sync import retry


def test_backoff_grows_honours_the_server_hint_and_is_capped() -> None:
    rng = random.Random(1)
    first = [retry.backoff_seconds(0, rng=rng) for _ in range(100)]
    late = [retry.backoff_seconds(6, rng=rng) for _ in range(100)]
    assert max(first) <= retry.BACKOFF_BASE_SECONDS < min(late)
    assert retry.backoff_seconds(0, hint=42.0, rng=rng) >= 42.0
    assert retry.backoff_seconds(30, rng=rng) <= retry.BACKOFF_CAP_SECONDS


def test_the_delivery_schedule_grows_and_spans_about_a_day() -> None:
    assert list(retry.DELIVERY_SCHEDULE) == sorted(retry.DELIVERY_SCHEDULE)
    assert 20 * 3600 <= sum(retry.DELIVERY_SCHEDULE) <= 28 * 3600
