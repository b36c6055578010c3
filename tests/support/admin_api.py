"""The admin API as its tests call it: Flask's test client with the admin token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

#: The `settings` fixture's admin token (tests/conftest.py).
TOKEN = "test-admin-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class Api:
    """The test client with the admin token on every request."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def get(self, path: str, **query: Any) -> TestResponse:
        return self.client.get(path, query_string=query, headers=AUTH)

    def post(self, path: str, body: Any = None) -> TestResponse:
        return self.client.post(path, json=body, headers=AUTH)

    def patch(self, path: str, body: Any) -> TestResponse:
        return self.client.patch(path, json=body, headers=AUTH)

    def put(self, path: str, body: Any = None) -> TestResponse:
        return self.client.put(path, json=body, headers=AUTH)

    def delete(self, path: str) -> TestResponse:
        return self.client.delete(path, headers=AUTH)


@dataclass
class Shop:
    """The ids of one source and its site (the `shop` fixture)."""

    source_id: int
    site_id: int


def error_code(response: TestResponse) -> str:
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    return str(body["error"]["code"])
