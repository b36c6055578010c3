"""Sites with a plugin API key, and requests to `POST /api/sync/webhook`, for the
endpoint's tests (tests/api) and the WooCommerce plugin's (tests/plugin)."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from models.crypto import Vault
from sync.api_keys import hash_api_key, new_api_key
from tests.factories import make_site, make_source

URL = "/api/sync/webhook"
_names = itertools.count(1)


@dataclass(frozen=True)
class KeyedSite:
    id: int
    key: str


def keyed_site(db: sessionmaker[Session], vault: Vault, *, active: bool = True) -> KeyedSite:
    """A site with a fresh API key; the key is kept only as its hash, as in production."""
    key, n = new_api_key(), next(_names)
    with db.begin() as session:
        source = make_source(session, vault, name=f"erp-{n}")
        site = make_site(
            session, vault, source, name=f"shop-{n}", api_key_hash=hash_api_key(key), active=active
        )
        return KeyedSite(site.id, key)


def body(resource: Any, data: Any, action: str = "updated") -> dict[str, Any]:
    return {"resource": resource, "action": action, "data": data}


def push(client: FlaskClient, site: KeyedSite, payload: Any) -> Any:
    """POST `payload` (bytes or text as they are, anything else as JSON) with the site's key."""
    raw = payload if isinstance(payload, bytes | str) else json.dumps(payload)
    return client.post(URL, data=raw, headers={"Authorization": f"Bearer {site.key}"})
