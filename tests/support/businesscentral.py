"""The Business Central sandbox as tests drive it: from our connector's side (`Sandbox`,
`source_for`) and from the API's own side (`BC`, a webhook `Receiver`, sales orders)."""

from __future__ import annotations

import json
from typing import Any

import requests
from werkzeug.wrappers import Request, Response

from connectors.businesscentral import BusinessCentralSource
from connectors.tokens import TokenCache
from sandbox.accounts import DEFAULTS
from sandbox.base import SandboxConfig
from sandbox.businesscentral.state import BusinessCentralState

COMPANY = "5a1b6c2d-0000-4000-8000-00000000c0de"
TENANT = "contoso"


class Sandbox:
    """A running sandbox, its state, and a factory of sources pointed at it."""

    def __init__(self, url: str, state: BusinessCentralState) -> None:
        self.url = url
        self.state = state

    def source(self, cache: TokenCache | None = None, **overrides: str) -> BusinessCentralSource:
        return source_for(self.url, cache, **overrides)


def source_for(
    url: str, cache: TokenCache | None = None, **overrides: str
) -> BusinessCentralSource:
    credentials = DEFAULTS["businesscentral"].stored_credentials(url) | {
        "environment": "production",
        "company_id": COMPANY,
        **overrides,
    }
    return BusinessCentralSource(url, credentials, token_cache=cache)


def sandbox_config(items: int) -> SandboxConfig:
    return SandboxConfig(items=items, seed=7, credentials={"company_id": COMPANY})


class BC:
    """A running sandbox with a valid bearer token, and helpers for its API paths."""

    def __init__(self, url: str, state: BusinessCentralState) -> None:
        self.url = url
        self.state = state
        self.api = f"{url}/v2.0/{TENANT}/production/api/v2.0"
        self.items = f"{self.api}/companies({state.company_id})/items"
        self.headers = {"Authorization": f"Bearer {state.tokens.mint()}"}

    def get(self, url: str, **headers: str) -> requests.Response:
        return requests.get(url, headers=self.headers | headers, timeout=10)

    def send(self, method: str, url: str, body: Any = None, **headers: str) -> requests.Response:
        return requests.request(method, url, json=body, headers=self.headers | headers, timeout=10)


class Receiver:
    """A webhook endpoint: answers BC's validation call (or not) and keeps what it got."""

    def __init__(self, echo: bool) -> None:
        self.echo = echo
        self.validations: list[str] = []
        self.notifications: list[dict[str, Any]] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        token = request.args.get("validationToken")
        if token is not None:
            self.validations.append(token)
            reply = Response(token if self.echo else "hello", mimetype="text/plain")
        else:
            self.notifications.append(json.loads(request.get_data()))
            reply = Response(status=202)
        return reply(environ, start_response)


def import_order(bc: BC, external: str, lines: dict[str, int]) -> dict[str, Any]:
    """A sales order imported through the sandbox: it moves no stock until shipped."""
    body = {"externalDocumentNumber": external, "lines": lines}
    answer = requests.post(f"{bc.url}/_sandbox/salesorders", json=body, timeout=10)
    assert answer.status_code == 201, answer.text
    order: dict[str, Any] = answer.json()["salesOrder"]
    return order


def ship(bc: BC, order: dict[str, Any]) -> requests.Response:
    """Post the order's shipment: ledger entries, and no notice (as in Business Central)."""
    return requests.post(f"{bc.url}/_sandbox/salesorders/{order['id']}/ship", timeout=10)
