"""The body deadline (api/body_deadline.py): reads end by the request's deadline, then
408 and the connection's reading side shut. Through gunicorn: test_slow_senders.py."""

from __future__ import annotations

import io
import socket
import time
from typing import Any

import gevent
import pytest

from api.body_deadline import BodyDeadline, BodyTimeout, DeadlineInput


class _Trickle:
    """A body arriving one byte per `gap` seconds, as a slow sender sends it."""

    def __init__(self, gap: float) -> None:
        self.gap = gap

    def read(self, size: int | None = -1) -> bytes:
        gevent.sleep(self.gap)
        return b"x"


def test_a_body_sent_in_time_reads_as_it_is() -> None:
    app_saw: list[bytes] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        app_saw.append(environ["wsgi.input"].read(5))
        app_saw.extend(environ["wsgi.input"])
        return []

    BodyDeadline(app, seconds=5)({"wsgi.input": io.BytesIO(b"hello\nworld\n")}, None)
    assert app_saw == [b"hello", b"\n", b"world\n"]


def test_a_read_past_the_deadline_is_a_408_and_shuts_the_reading_side() -> None:
    ours, theirs = socket.socketpair()
    try:
        body = DeadlineInput(_Trickle(gap=10), time.monotonic() + 0.1, ours)
        with pytest.raises(BodyTimeout) as refused:
            body.read(100)
        assert refused.value.code == 408
        assert ours.recv(1) == b""  # shut: gunicorn reads no more of it and closes
    finally:
        ours.close()
        theirs.close()


def test_the_deadline_is_for_the_whole_body_not_each_read() -> None:
    body = DeadlineInput(_Trickle(gap=0.03), time.monotonic() + 0.2, None)
    with pytest.raises(BodyTimeout):
        for _ in range(100):
            body.read(1)
