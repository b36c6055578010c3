"""Connector errors, split by what the caller should do about them.

Transient errors (timeouts, connection failures, 429, 5xx) are worth retrying and carry
the server's own wait hint; permanent errors (other 4xx, validation) are not, and carry
the reason to record on the batch or event.
"""

from __future__ import annotations


class ConnectorError(Exception):
    """Base of every error a connector raises."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class TransientError(ConnectorError):
    """Retry later. `retry_after` is the server's hint in seconds, or None."""

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class PermanentError(ConnectorError):
    """Retrying the same request will fail the same way (bad credentials, bad input)."""
