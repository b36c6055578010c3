"""The HTTP plumbing every connector shares: one session, timeouts, typed errors.

Only connector modules import `requests` (STYLE.md rule 11). A connector builds one
`HttpClient` and gets back parsed JSON or a `TransientError` / `PermanentError` whose
message names the platform, the call and the server's reason.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests

from connectors.errors import PermanentError, TransientError

#: Seconds to connect and to wait for a response. Long enough for a slow ERP page
#: (Business Central may take seconds for 20,000 rows), short enough that a dead host
#: fails a batch long before Celery's time limits.
DEFAULT_TIMEOUT = (5.0, 60.0)

#: How a platform tells us how long to wait, read from a response (429 or 5xx).
WaitHint = Callable[[requests.Response], float | None]


def retry_after_header(response: requests.Response) -> float | None:
    """Seconds from a standard `Retry-After` header (delta-seconds or HTTP date)."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        if parsed is None:
            return None
        return max(0.0, parsed.timestamp() - time.time())


def is_transient_status(status: int) -> bool:
    """408, 429 and 5xx are worth retrying; every other 4xx will fail again."""
    return status in (408, 429) or status >= 500


class HttpClient:
    """A `requests.Session` with a base URL, default headers and typed failures."""

    def __init__(
        self,
        platform: str,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        auth: Any = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        wait_hint: WaitHint = retry_after_header,
        session: requests.Session | None = None,
    ) -> None:
        self.platform = platform
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.wait_hint = wait_hint
        self.session = session or requests.Session()
        if headers:
            self.session.headers.update(headers)
        if auth is not None:
            self.session.auth = auth

    def url(self, path: str) -> str:
        """Absolute URL for `path`; absolute URLs (next-page links) pass through."""
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Send one request; return the response if 2xx, else raise a typed error."""
        kwargs.setdefault("timeout", self.timeout)
        call = f"{self.platform} {method} {path.split('?')[0]}"
        try:
            response = self.session.request(method, self.url(path), **kwargs)
        except requests.Timeout as exc:
            raise TransientError(f"{call}: timed out ({exc})") from exc
        except requests.ConnectionError as exc:
            raise TransientError(f"{call}: connection failed ({exc})") from exc
        if response.ok:
            return response
        reason = _reason(response)
        if is_transient_status(response.status_code):
            raise TransientError(
                f"{call}: HTTP {response.status_code} {reason}",
                status=response.status_code,
                retry_after=self.wait_hint(response),
            )
        raise PermanentError(
            f"{call}: HTTP {response.status_code} {reason}", status=response.status_code
        )

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """`request` and decode the JSON body; a non-JSON 2xx body is a transient fault."""
        response = self.request(method, path, **kwargs)
        try:
            return response.json()
        except ValueError as exc:
            raise TransientError(
                f"{self.platform} {method} {path}: response is not JSON",
                status=response.status_code,
            ) from exc


def _reason(response: requests.Response) -> str:
    """A short reason from the error body, whatever shape the platform uses."""
    text = response.text[:300]
    try:
        body = response.json()
    except ValueError:
        return text
    if isinstance(body, dict):
        for key in ("message", "title", "error", "error_description"):
            value = body.get(key)
            if isinstance(value, str):
                code = body.get("code")
                return f"{code}: {value}" if isinstance(code, str) else value
            if isinstance(value, dict) and isinstance(value.get("message"), str):
                return str(value["message"])
    return text
