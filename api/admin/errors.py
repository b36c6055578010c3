"""How the admin API answers a refusal: the service layer's errors (sync/errors.py)
mapped to HTTP statuses, plus the few refusals only HTTP has (a request that cannot be
read, a missing token or CSRF header, the API switched off).

The HTTP layer (api/admin/http.py) turns each into the one error body,
`{"error": {"code", "message"}}`.
"""

from __future__ import annotations

from sync.errors import Conflict, Invalid, NotFound, ServiceError, Unavailable


class HttpRefusal(Exception):
    """A refusal of the HTTP request itself; `status` and `code` say how to answer."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def headers(self) -> dict[str, str]:
        """Headers the answer needs besides the error body."""
        return {}


class BadRequest(HttpRefusal):
    """The request cannot be read (not JSON, a query value of the wrong type)."""


class TooLarge(HttpRefusal):
    """A body over MAX_CONTENT_LENGTH, however it was sent (chunked included); the code
    werkzeug's own 413 gets in the admin API's shape (api/admin/__init__.py)."""

    status = 413
    code = "request_entity_too_large"


class Unauthorized(HttpRefusal):
    status = 401
    code = "unauthorized"


class Forbidden(HttpRefusal):
    """Authenticated by the dashboard's cookie but without the CSRF header."""

    status = 403
    code = "forbidden"


class TooManyAttempts(HttpRefusal):
    """Too many wrong admin tokens lately, from this address or from everyone
    (sync/login_throttle.py): try again after `Retry-After` seconds."""

    status = 429
    code = "too_many_attempts"

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many wrong admin tokens; try again in {retry_after} s")
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class Disabled(HttpRefusal):
    """The admin API is switched off (no ADMIN_TOKEN configured)."""

    status = 503
    code = "admin_disabled"


#: Service errors by status (an `AlreadyRunning` is a `Conflict`: 409 `conflict`).
SERVICE_STATUSES: tuple[tuple[type[ServiceError], int, str], ...] = (
    (NotFound, 404, "not_found"),
    (Conflict, 409, "conflict"),
    (Invalid, 422, "invalid"),
    (Unavailable, 503, "unavailable"),
)


def status_of(error: ServiceError) -> tuple[int, str]:
    """The HTTP status and error code for a service error (500 only for a new kind)."""
    for kind, status, code in SERVICE_STATUSES:
        if isinstance(error, kind):
            return status, code
    return 500, "internal"
