"""The HTTP plumbing every connector shares: one session, timeouts, typed errors.

Only connector modules import `requests` (docs/style.md rule 11). A connector builds one
`HttpClient` and gets back parsed JSON or a `TransientError` / `PermanentError` whose
message names the platform, the call and the server's reason, and whose `body` holds
the start of the error response for the connector to parse.

Messages never carry query-string values: WooCommerce can authenticate with
`consumer_secret` in the query string and Zoho's token URL carries `client_secret` and
`refresh_token`, and requests quotes the full URL in its connection errors. Messages end
up in logs and on batch rows, so every message built here goes through `redact`, and
transport failures are not chained to the requests exception that quotes the URL.
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC
from typing import Any

import requests

from connectors.errors import ConnectorError, PermanentError, TransientError

#: Seconds to connect and to wait for a response. Long enough for a slow ERP page
#: (Business Central may take seconds for 20,000 rows), short enough that a dead host
#: fails a batch long before Celery's time limits.
DEFAULT_TIMEOUT = (5.0, 60.0)

#: How a platform tells us how long to wait, read from a response (429 or 5xx).
WaitHint = Callable[[requests.Response], float | None]

#: A query-string parameter in a URL, or in any text quoting one. A value ends at `&`,
#: `#` or white space, which a URL's values carry only percent-encoded.
_QUERY_VALUE = re.compile(r"([?&][^=&#?\s]+=)[^&#\s]*")

#: requests errors that mean the answer was lost on the way, not refused: retry them.
_BROKEN_RESPONSE = (
    requests.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


def redact(text: str) -> str:
    """`text` with the value of every query-string parameter replaced by `***`.

    Parameter names stay, so a message still says which call and which parameters.
    """
    return _QUERY_VALUE.sub(r"\1***", text)


def retry_after_header(response: requests.Response) -> float | None:
    """Seconds from a standard `Retry-After` header (delta-seconds or HTTP date)."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass  # Not delta-seconds: RFC 9110 allows an HTTP date instead.
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        # A garbled header is no hint; the caller backs off on its own schedule.
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)  # HTTP dates are GMT; "-0000" parses naive.
    return max(0.0, parsed.timestamp() - time.time())


def is_transient_status(status: int) -> bool:
    """408, 429 and 5xx are worth retrying; every other 4xx will fail again."""
    return status in (408, 429) or status >= 500


def decode_json(response: requests.Response, call: str) -> Any:
    """The JSON body of a 2xx response; a body that is not JSON is a transient fault.

    A 2xx with HTML in it is what proxies and maintenance pages answer, not the API.
    `call` names the request in the error ("woocommerce GET products").
    """
    try:
        return response.json()
    except ValueError as exc:
        raise TransientError(
            redact(f"{call}: response is not JSON"),
            status=response.status_code,
            body=response.text,
        ) from exc


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

    def call_name(self, method: str, path: str) -> str:
        """How errors name a request: platform, method and path without its query."""
        return f"{self.platform} {method} {path.split('?')[0]}"

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Send one request; return the response if 2xx, else raise a typed error."""
        kwargs.setdefault("timeout", self.timeout)
        call = self.call_name(method, path)
        response = self._send(call, method, path, kwargs)
        if response.ok:
            return response
        status = response.status_code
        message = redact(f"{call}: HTTP {status} {_reason(response)}")
        if is_transient_status(status):
            raise TransientError(
                message, status=status, body=response.text, retry_after=self.wait_hint(response)
            )
        raise PermanentError(message, status=status, body=response.text)

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """`request` and decode the JSON body; a non-JSON 2xx body is a transient fault."""
        response = self.request(method, path, **kwargs)
        return decode_json(response, self.call_name(method, path))

    def _send(self, call: str, method: str, path: str, kwargs: dict[str, Any]) -> requests.Response:
        try:
            return self.session.request(method, self.url(path), **kwargs)
        except requests.RequestException as exc:
            failure = _transport_error(call, exc)
        # Raised outside the `except` block, so the error keeps neither a cause nor a
        # context: the requests exception quotes the full URL, query string included.
        raise failure from None


def _transport_error(call: str, exc: requests.RequestException) -> ConnectorError:
    """A typed error for a request that got no usable answer, naming the exception class."""
    detail = redact(f"{type(exc).__name__}: {exc}")
    if isinstance(exc, requests.Timeout):
        return TransientError(f"{call}: timed out ({detail})")
    if isinstance(exc, _BROKEN_RESPONSE):
        return TransientError(f"{call}: connection failed ({detail})")
    # An invalid URL, too many redirects, a body requests cannot encode: sending the
    # same request again fails the same way.
    return PermanentError(f"{call}: request failed ({detail})")


def _reason(response: requests.Response) -> str:
    """A short reason from the error body, whatever shape the platform uses."""
    text = response.text[:300]
    try:
        body = response.json()
    except ValueError:
        return text
    if isinstance(body, dict):
        # `errors` as a string is Shopify's REST-style error ({"errors": "Not Found"}).
        for key in ("message", "title", "error", "error_description", "errors"):
            value = body.get(key)
            if isinstance(value, str):
                code = body.get("code")
                return f"{code}: {value}" if isinstance(code, str) else value
            if isinstance(value, dict) and isinstance(value.get("message"), str):
                return str(value["message"])
    return text
