"""Zoho's error body, `{"code", "message"}`, with its HTTP status.

Codes other than those in the brief (57, 6041) are placeholders: Zoho's real ones are
UNCONFIRMED (docs/platforms.md section 6).
"""

from __future__ import annotations

from flask import Response, jsonify


def zoho_error(status: int, code: int, message: str) -> Response:
    response = jsonify({"code": code, "message": message})
    response.status_code = status
    return response
