"""The one family of refusals the service layer raises, whatever door called it.

A route maps each to an HTTP status and the admin API's error body (api/admin/http.py);
a command prints its message on one line and exits 1 (cli/services.py); a task logs it.
They carry no Flask or click types, so every door can share the same functions, and
their messages are written for the operator who sees them: what and why, never a secret.
"""

from __future__ import annotations

import redis
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError


class ServiceError(Exception):
    """Base: `message` is what the operator is told."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(ServiceError):
    """No such row (site, source, run, log row, subscription)."""


class Invalid(ServiceError):
    """Readable but not acceptable: a field's value, a reference to a missing row."""


class Conflict(ServiceError):
    """The row's state does not allow this (replaying a success, a taken name)."""


class AlreadyRunning(Conflict):
    """The site has a live run (queued, running or paused): one at a time per site."""

    def __init__(self, site_id: int, run_id: int | None, status: str | None) -> None:
        if run_id is None:
            message = f"site {site_id} already has a run going"
        else:
            message = f"site {site_id} already has run {run_id} {status}"
        super().__init__(message)
        self.site_id = site_id
        self.run_id = run_id
        self.status = status


class Unavailable(ServiceError):
    """A service we need (the broker) cannot be reached: our outage, not the caller's."""


#: A database or Redis being down, as the libraries raise it: our outage, which every
#: door answers as such (503, or one line and exit 1), never as the caller's fault.
OUTAGES: tuple[type[Exception], ...] = (
    OperationalError,
    InterfaceError,
    PoolTimeoutError,
    redis.ConnectionError,
    redis.TimeoutError,
)
