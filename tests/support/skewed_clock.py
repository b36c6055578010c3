"""Run `celery` with this process's wall clock `STOCKSYNC_TEST_CLOCK_SKEW` seconds off:
a worker host whose clock drifted (`python -m tests.support.skewed_clock worker ...`).

Both of Python's wall clocks move, `time.time` and `datetime.datetime.now`/`utcnow`,
before anything else is imported, so every module of the worker (and its forked pool
processes) reads the skewed time, as on a host with a wrong clock. Monotonic clocks
are left alone: they have no epoch to be wrong about.
"""

from __future__ import annotations

import datetime
import os
import sys
import time

SKEW = float(os.environ.get("STOCKSYNC_TEST_CLOCK_SKEW", "0"))
_wall = time.time


def _skewed_time() -> float:
    return _wall() + SKEW


class SkewedDateTime(datetime.datetime):
    """`datetime.datetime` whose "now" comes from the skewed `time.time`."""

    @classmethod
    def now(cls, tz: datetime.tzinfo | None = None) -> SkewedDateTime:
        return cls.fromtimestamp(_skewed_time(), tz)

    @classmethod
    def utcnow(cls) -> SkewedDateTime:
        return cls.fromtimestamp(_skewed_time(), datetime.UTC).replace(tzinfo=None)


def main() -> None:
    time.time = _skewed_time
    datetime.datetime = SkewedDateTime  # type: ignore[misc]
    from celery.__main__ import main as celery_main

    sys.argv = ["celery", *sys.argv[1:]]
    celery_main()


if __name__ == "__main__":
    main()
