"""BigCommerce's error shape and quota headers, shared by its routes and its faults.

Errors are problem documents `{status, title, type, errors}`; every platform response
reports the store's quota in four `X-Rate-Limit-*` headers (docs/platforms.md section 4).
"""

from __future__ import annotations

from flask import Response, jsonify

from sandbox.base import FixedWindowLimiter

ERROR_TYPE = "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes"


class Problem(Exception):
    """An error response in BigCommerce's shape, raised from anywhere in a view."""

    def __init__(self, status: int, title: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(title)
        self.status, self.title, self.errors = status, title, errors or {}


def problem_response(status: int, title: str, errors: dict[str, str] | None = None) -> Response:
    body = {"status": status, "title": title, "type": ERROR_TYPE, "errors": errors or {}}
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def set_quota_headers(
    response: Response, limiter: FixedWindowLimiter, *, left: int, reset: float
) -> None:
    """The four `X-Rate-Limit-*` headers BigCommerce sends (docs/platforms.md section 4)."""
    response.headers["X-Rate-Limit-Time-Window-Ms"] = str(round(limiter.window * 1000))
    response.headers["X-Rate-Limit-Time-Reset-Ms"] = str(max(0, round(reset * 1000)))
    response.headers["X-Rate-Limit-Requests-Quota"] = str(limiter.limit)
    response.headers["X-Rate-Limit-Requests-Left"] = str(left)
