"""The refusals of operator actions, shared by the admin API and the CLI.

The plain functions of `api/admin/` raise these; the HTTP layer maps each to a status
and an `{error: {code, message}}` body, the CLI to a one-line message and exit code 1.
They carry no Flask types, so the CLI can use the same functions.
"""

from __future__ import annotations


class OperatorError(Exception):
    """Base: `status` and `code` say how the API answers."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(OperatorError):
    """The request cannot be read (not JSON, a query value of the wrong type)."""


class Invalid(OperatorError):
    """Readable but not acceptable: a field's value, a reference to a missing row."""

    status = 422
    code = "invalid"


class Unauthorized(OperatorError):
    status = 401
    code = "unauthorized"


class Forbidden(OperatorError):
    """Authenticated by the dashboard's cookie but without the CSRF header."""

    status = 403
    code = "forbidden"


class NotFound(OperatorError):
    status = 404
    code = "not_found"


class Conflict(OperatorError):
    """The row's state does not allow this (a run already going, replaying a success)."""

    status = 409
    code = "conflict"


class Unavailable(OperatorError):
    """A service we need is down, or the admin API is switched off."""

    status = 503
    code = "unavailable"


class Disabled(Unavailable):
    code = "admin_disabled"
