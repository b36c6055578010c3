"""The Zoho Inventory sandbox as tests drive it: from our connector's side (`Zoho`,
`connect`) and from the API's own side (the account's refresh grant, `listing`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests

from connectors.tokens import TokenCache
from connectors.zoho import ZohoInventorySource
from sandbox.accounts import DEFAULTS
from sandbox.zoho.state import ZohoState

SEED = 3
ACCOUNT = DEFAULTS["zoho"].sandbox
ORG = ACCOUNT["organization_id"]
REFRESH = {
    "grant_type": "refresh_token",
    "client_id": ACCOUNT["client_id"],
    "client_secret": ACCOUNT["client_secret"],
    "refresh_token": ACCOUNT["refresh_token"],
}


@dataclass
class Zoho:
    url: str
    state: ZohoState

    def connect(self, cache: TokenCache | None = None, **overrides: str) -> ZohoInventorySource:
        return connect(self.url, cache, **overrides)


def connect(url: str, cache: TokenCache | None = None, **overrides: str) -> ZohoInventorySource:
    """A source whose API and accounts server are both the sandbox at `url`."""
    credentials = DEFAULTS["zoho"].stored_credentials(url) | overrides
    return ZohoInventorySource(url, credentials, token_cache=cache)


def listing(url: str, token: str, resource: str, **params: Any) -> requests.Response:
    """`GET /inventory/v1/<resource>` of the sandbox's organization with `token`."""
    return requests.get(
        f"{url}/inventory/v1/{resource}",
        params={"organization_id": ORG, **params},
        headers={"Authorization": f"Zoho-oauthtoken {token}"},
        timeout=10,
    )
