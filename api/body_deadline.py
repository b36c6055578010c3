"""A request's whole body within BODY_SECONDS, or 408 and the connection closed.

Why: gunicorn's gevent workers read a body for as long as its sender keeps sending,
and never time a request out. 2,200 connections each trickling a byte a second held
every worker's connections, so `/healthz` and genuine webhooks timed out for as long
as they stayed open (issue 19 item 15). A body of the largest size we accept
(MAX_WEBHOOK_BODY_BYTES, 2 MB) takes well under a second on any link a platform uses.

WSGI middleware installed around the app in each gunicorn worker (api/gunicorn_conf.py
`post_worker_init`): the app itself knows nothing of gevent. The input stream is
wrapped so that every read ends by the request's deadline (a gevent timeout, so only
the reading greenlet waits); past it the read raises `BodyTimeout`, a 408 that Flask
answers like any HTTP error, and the socket's reading side is shut, so gunicorn
closes the connection instead of reading the rest of the body before the next request.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterable
from typing import Any

import gevent
from werkzeug.exceptions import RequestTimeout

BODY_SECONDS = 10.0

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class BodyTimeout(RequestTimeout):
    description = f"The request body was not received within {BODY_SECONDS:g} seconds."


class DeadlineInput:
    """`wsgi.input` whose reads all end by `deadline` (time.monotonic())."""

    def __init__(self, stream: Any, deadline: float, sock: socket.socket | None) -> None:
        self._stream = stream
        self._deadline = deadline
        self._socket = sock

    def read(self, size: int | None = -1) -> bytes:
        data: bytes = self._within(self._stream.read, size)
        return data

    def readline(self, size: int | None = -1) -> bytes:
        data: bytes = self._within(self._stream.readline, size)
        return data

    def readlines(self, hint: int | None = -1) -> list[bytes]:
        lines: list[bytes] = self._within(self._stream.readlines, hint)
        return lines

    def __iter__(self) -> DeadlineInput:
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def _within(self, read: Callable[[Any], Any], size: Any) -> Any:
        remaining = self._deadline - time.monotonic()
        timer = gevent.Timeout(max(remaining, 0.0))
        timer.start()
        try:
            return read(size)
        except gevent.Timeout as exc:
            if exc is not timer:
                raise
            self._expire()
            raise BodyTimeout() from None
        finally:
            timer.close()

    def _expire(self) -> None:
        if self._socket is None:
            return
        try:
            self._socket.shutdown(socket.SHUT_RD)
        except OSError:
            pass  # the sender has gone already: nothing left to refuse


class BodyDeadline:
    """The WSGI app `app` with every request's body bounded to `seconds`."""

    def __init__(self, app: WSGIApp, seconds: float = BODY_SECONDS) -> None:
        self.app = app
        self.seconds = seconds

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        environ["wsgi.input"] = DeadlineInput(
            environ["wsgi.input"],
            time.monotonic() + self.seconds,
            environ.get("gunicorn.socket"),
        )
        return self.app(environ, start_response)
