"""Structured JSON logging for every process: web, worker, beat and the CLI.

One place, so one event can be followed from receipt to store write by its ids: each
line is a JSON object carrying the logger's `extra={...}` keys (`row`, `run`, `site`,
...) and, inside a task, the id the task was given, under a name that says what it is
(`event` for a webhook_log row, `run`, `batch`, `delivery`). The web process logs
`task.published` with the same id when it queues a task, so the receiver's line and the
worker's lines share it.

Why contextvars and Celery signals rather than passing ids around: tasks take only ids
(docs/style.md rule 2), so the id is known when the task starts; every log call made while
it runs, in `sync/` or `connectors/`, then carries it without knowing about it.
"""

from __future__ import annotations

import contextvars
import logging
import re
import sys
from collections.abc import Mapping, Sequence
from typing import IO, Any

from celery import current_app
from celery.signals import after_task_publish, setup_logging, task_postrun, task_prerun
from pythonjsonlogger.json import JsonFormatter

#: The argument of each task that takes one, named for what it identifies (a row id, or
#: for the republish after a Redis loss the moment of the loss). A test walks the
#: registered tasks and checks every task with arguments is listed here.
TASK_IDS: dict[str, str] = {
    "workers.events.process": "event",
    "workers.runs.start": "run",
    "workers.batches.process": "batch",
    "workers.lifecycle.deliver": "delivery",
    "workers.outages.republish_queued": "lost_at",
}

_FIRST_ARG = re.compile(r"^[\[(](\d+)")
#: Marks the handler this module installs, so configuring twice replaces it.
HANDLER_NAME = "stocksync-json"

_context: contextvars.ContextVar[Mapping[str, Any] | None] = contextvars.ContextVar(
    "stocksync_log_context", default=None
)


def task_ids(task_name: str | None, args: Sequence[Any] | None) -> dict[str, Any]:
    """The ids a task's arguments name: `{"event": 42}` for the event task with (42,)."""
    key = TASK_IDS.get(task_name or "")
    if key is None or not args:
        return {}
    return {key: args[0]}


class ContextFilter(logging.Filter):
    """Copy the current task's ids and the process role onto every record."""

    def __init__(self, role: str) -> None:
        super().__init__()
        self.role = role

    def filter(self, record: logging.LogRecord) -> bool:
        record.process_role = self.role
        ids = dict(_context.get() or {})
        # Celery's own "received" / "succeeded" lines carry the task in `data`, with its
        # arguments as a repr ("[42]", "(42,)"): name the id there too.
        data = getattr(record, "data", None)
        if isinstance(data, dict) and isinstance(data.get("args"), str):
            first = _FIRST_ARG.match(data["args"])
            if first:
                ids = {**task_ids(data.get("name"), [int(first[1])]), **ids}
        for key, value in ids.items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


class _CurrentStderr(logging.StreamHandler[IO[str]]):
    """Writes to whatever `sys.stderr` is at the time of each record, not at setup: a test
    runner swaps it per test, and a stream captured once may be closed by then."""

    @property
    def stream(self) -> IO[str]:
        return sys.stderr

    @stream.setter
    def stream(self, value: IO[str]) -> None:
        """Ignored: `StreamHandler.__init__` assigns one."""


def json_handler(role: str, stream: IO[str] | None = None) -> logging.Handler:
    """A handler writing one JSON object per line, with extras and task ids."""
    handler = _CurrentStderr() if stream is None else logging.StreamHandler(stream)
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(
        JsonFormatter(
            "%(levelname)s %(name)s %(message)s",
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp="time",
            json_default=str,
        )
    )
    handler.addFilter(ContextFilter(role))
    return handler


def configure_logging(role: str, level: str | int = "INFO", stream: IO[str] | None = None) -> None:
    """Send the root logger's records as JSON lines to stderr (or `stream`).

    Replaces only a handler this module installed before: handlers others attached (a
    test runner's capture) stay.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == HANDLER_NAME:
            root.removeHandler(handler)
    root.addHandler(json_handler(role, stream))
    root.setLevel(level)


def install_celery_logging() -> None:
    """Connect the Celery signals: JSON logging in worker and beat, task ids on lines.

    Called by `workers.app.make_celery`, so every process that builds a Celery app (web
    publishing, worker, beat, CLI) logs the same way. With a `setup_logging` receiver
    connected, Celery leaves the root logger to us instead of installing its own
    plain-text handler. Idempotent (dispatch uids).
    """
    setup_logging.connect(_setup_celery_logging, weak=False, dispatch_uid="stocksync.logs")
    task_prerun.connect(_enter_task, weak=False, dispatch_uid="stocksync.logs")
    task_postrun.connect(_leave_task, weak=False, dispatch_uid="stocksync.logs")
    after_task_publish.connect(_published, weak=False, dispatch_uid="stocksync.logs")


def _celery_role() -> str:
    """`worker`, `beat` or `flower` from the command line; `celery` otherwise (tests)."""
    words = [word for word in sys.argv[1:] if not word.startswith("-")]
    return next((word for word in words if word in ("worker", "beat", "flower")), "celery")


def _setup_celery_logging(loglevel: int | str | None = None, **_: Any) -> None:
    """LOG_LEVEL, or `--loglevel` if that is more verbose (Celery's default is WARNING,
    which would hide the INFO lines that trace an event)."""
    # Set by workers.app.make_celery (read by name: logconfig cannot import workers).
    settings = getattr(current_app, "stocksync_settings", None)
    levels = [logging.getLevelName(str(settings.log_level))] if settings else []
    if loglevel is not None:
        levels.append(loglevel if isinstance(loglevel, int) else logging.getLevelName(loglevel))
    # The real stderr, captured now: the worker then replaces `sys.stderr` with a proxy
    # that logs what is written to it, which would loop back into this handler.
    configure_logging(_celery_role(), min(levels, default=logging.INFO), stream=sys.__stderr__)


def _enter_task(task_id: str | None = None, task: Any = None, args: Any = None, **_: Any) -> None:
    name = getattr(task, "name", None)
    _context.set({"task": name, "task_id": task_id, **task_ids(name, args)})
    retries = getattr(getattr(task, "request", None), "retries", 0)
    logging.getLogger("stocksync.tasks").info("task.started", extra={"retries": retries})


def _leave_task(**_: Any) -> None:
    _context.set(None)


def _published(headers: Mapping[str, Any] | None = None, body: Any = None, **_: Any) -> None:
    """One line per queued task, with the id it carries (the receiver's side of a trace)."""
    headers = headers or {}
    name = headers.get("task")
    args = body[0] if isinstance(body, (tuple, list)) and body else None
    logging.getLogger("stocksync.tasks").info(
        "task.published",
        extra={"task": name, "task_id": headers.get("id"), **task_ids(name, args)},
    )
