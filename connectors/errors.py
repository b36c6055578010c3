"""Connector errors, split by what the caller should do about them.

Transient errors (timeouts, connection failures, 429, 5xx) are worth retrying and carry
the server's own wait hint; permanent errors (other 4xx, validation) are not, and carry
the reason to record on the batch or event.
"""

from __future__ import annotations

#: Most characters of a response body an error keeps: enough for a platform's error
#: details, bounded so an HTML error page does not ride along on every error.
MAX_BODY_CHARS = 2000


class ConnectorError(Exception):
    """Base of every error a connector raises.

    `body` is the start of the error response's text, or None when there was no
    response. Connectors parse platform error details from it rather than from the
    message, which is for people and may be reworded or redacted.
    """

    def __init__(self, message: str, *, status: int | None = None, body: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body[:MAX_BODY_CHARS] if body is not None else None


class TransientError(ConnectorError):
    """Retry later. `retry_after` is the server's hint in seconds, or None."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        body: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, body=body)
        self.retry_after = retry_after


class PermanentError(ConnectorError):
    """Retrying the same request will fail the same way (bad credentials, bad input)."""


class CursorLost(PermanentError):
    """A change-feed cursor the ERP no longer knows, or one that is not ours: the feed
    starts again from the ERP's newest position, and a full run covers the gap. Only
    this error restarts a feed; a refusal (401, 403) leaves the cursor where it is."""


class ConnectionProblem(PermanentError):
    """The connection as configured cannot work: credentials rejected, a scope missing,
    a URL that is not this platform's. The message is one line for whoever set it up,
    naming the platform and what to change ("WooCommerce answered 401: consumer key
    rejected"), and never a secret."""
