"""WooCommerce's error shape, shared by the sandbox's routes, auth and batch items.

WordPress turns every `WP_Error` into `{"code", "message", "data": {"status", ...}}`
(docs/platforms.md section 2); a batch item that fails carries the same object under
`error` inside a 200, so one exception type serves both.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify


class WcError(Exception):
    """A WP_Error: raised by a handler, rendered with its own HTTP status."""

    def __init__(self, code: str, message: str, status: int, **data: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.data = data

    def payload(self) -> dict[str, Any]:
        data = {"status": self.status} | self.data
        return {"code": self.code, "message": self.message, "data": data}

    def response(self) -> Response:
        response = jsonify(self.payload())
        response.status_code = self.status
        return response


def invalid_param(name: str, reason: str) -> WcError:
    """WordPress's answer to a query or body argument that fails its schema."""
    return WcError(
        "rest_invalid_param", f"Invalid parameter(s): {name}", 400, params={name: reason}
    )
