"""What sites and sources share: names, credentials and webhook secrets, sealed.

Credentials and secrets go in sealed (models/crypto.py) and never come back out
through the service layer: the caller gets a clear secret only when it generated one,
once. `rotate_keys` re-seals them all under the newest encryption key. Both have a
real-time switch (`switch_webhooks`, docs/architecture.md "Real-time switches").
"""

from __future__ import annotations

import enum
import ipaddress
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from connectors.credentials import CREDENTIAL_KEYS, credential_problems, describe
from models import Site, Source
from models.crypto import Vault
from models.db import transaction
from sync.context import Context
from sync.errors import Conflict, Invalid, NotFound

Owner = TypeVar("Owner", Site, Source)
#: Ids are PostgreSQL bigints: a larger number names no row (and must not reach a query).
MAX_ID = 2**63 - 1
E = TypeVar("E", bound=enum.Enum)


def find(session: Session, model: type[Owner], ref: str | int) -> Owner:
    """A row by id (all digits) or by name; `NotFound` if none."""
    text = str(ref)
    by_id = text.isdigit()
    if by_id and int(text) > MAX_ID:
        raise NotFound(f"no {model.__tablename__[:-1]} {ref!r}")
    column = model.id if by_id else model.name
    row = session.scalars(select(model).where(column == (int(text) if by_id else text))).first()
    if row is None:
        raise NotFound(f"no {model.__tablename__[:-1]} {ref!r}")
    return row


def get(session: Session, model: type[Owner], owner_id: int) -> Owner:
    """A row by id; `NotFound` if none."""
    row = session.get(model, owner_id)
    if row is None:
        raise NotFound(f"no {model.__tablename__[:-1]} {owner_id}")
    return row


def owner_id(ctx: Context, model: type[Owner], ref: str | int) -> int:
    """The id of the site or source named or numbered `ref`; `NotFound` if none."""
    with ctx.sessions() as session:
        return find(session, model, ref).id


def one_of(value: str, allowed: type[E], what: str) -> E:
    """The member of `allowed` named `value`, or `Invalid` naming the choices."""
    try:
        return allowed(value)
    except ValueError:
        names = ", ".join(str(member.value) for member in allowed)
        raise Invalid(f"{what} must be one of {names}, got {value!r}") from None


#: What `base_url` is, per platform, in the refusal's words: the store's own address
#: for WooCommerce (WordPress's root, a folder included), the API host for the others,
#: to which the connector adds its paths (docs/platforms.md sections 4, 5, 6 and 7:
#: /stores/<hash>, /admin/api/..., /inventory/v1, /v2.0/<tenant>/...).
BASE_URL_EXAMPLES = {
    "woocommerce": "https://shop.example.com",
    "shopify": "https://<shop>.myshopify.com",
    "bigcommerce": "https://api.bigcommerce.com",
    "businesscentral": "https://api.businesscentral.dynamics.com",
    "zoho": "https://www.zohoapis.com",
}
_URL_EXAMPLE = "https://shop.example.com"
#: Hosts reached over plain http: the sandboxes and a developer's own machine. Every
#: platform's real API is https (docs/platforms.md); WooCommerce over plain http takes
#: only OAuth 1.0a, not the keys we send (section 2, correction 3), and those keys
#: (in the Authorization header, or the URL with query_string_auth) would cross the
#: network in clear.
_LOOPBACK_NAMES = ("localhost",)


def check_base_url(value: object, platform: str) -> str:
    """`value` if it is an https URL with a host (http only for localhost and loopback
    addresses), no user or password in it, no query or fragment; else `Invalid`.

    A path is allowed: a WordPress site may live under one (https://example.com/shop).
    The URL itself is never echoed: someone may have pasted a key into it.
    """
    example = BASE_URL_EXAMPLES.get(platform, _URL_EXAMPLE)
    if not isinstance(value, str) or any(char.isspace() for char in value.strip()):
        raise Invalid(f"base URL must look like {example}")
    try:
        parts = urlsplit(value.strip())
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        raise Invalid(f"base URL must look like {example}") from None
    if parts.scheme not in ("http", "https") or not host:
        raise Invalid(f"base URL must look like {example}")
    if parts.username is not None or parts.password is not None:
        raise Invalid("base URL must not carry a user or password: put them in the credentials")
    if parts.query or parts.fragment or value.strip().endswith(("?", "#")):
        raise Invalid(f"base URL must have no query or fragment (like {example})")
    if parts.scheme == "http" and not _is_loopback(host):
        raise Invalid(f"base URL must use https (like {example}); http only for localhost")
    return value.strip()


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


#: Which secret `--webhook-secret` (API `webhook_secret`) must be, per platform: what
#: the receiver checks each delivery with (api/webhooks/<platform>.py; README, Webhooks;
#: docs/platforms.md). A delivery signed with anything else is refused 401 "signature
#: does not match", which cannot say which secret was meant: this says it.
WEBHOOK_SECRETS: dict[str, str] = {
    "woocommerce": "the Secret of the store's webhooks (WooCommerce > Settings > Advanced > "
    "Webhooks), which signs X-WC-Webhook-Signature",
    "shopify": "the app's client secret (API secret key), which Shopify signs every "
    "webhook with; not the access token",
    "bigcommerce": "the X-Webhook-Secret header value set on the hooks, alone, or as "
    '{"header_secret": ..., "client_secret": <the app\'s client secret>} to check the '
    "signature too",
    "businesscentral": "the clientState given when the subscription was created",
    "zoho": "the token the workflow's webhook sends in X-Zoho-Webhook-Token (or ?token=); "
    '{"token": ..., "hmac_key": ...} to check the signature too',
}


def credential_keys(platform: str) -> str:
    """`platform`'s credential keys as help lines (connectors/credentials.py), for doors
    that may not import connectors/ (the CLI)."""
    return describe(platform)


def credential_fields(platform: str) -> list[tuple[str, bool, str]]:
    """`platform`'s credential keys as (name, required, help) (connectors/credentials.py),
    for doors that may not import connectors/ (the dashboard's add forms)."""
    return [(key.name, key.required, key.help) for key in CREDENTIAL_KEYS[platform]]


def check_credentials(platform: str, credentials: object) -> Mapping[str, Any]:
    """`credentials` if they hold `platform`'s keys (connectors/credentials.py); else
    `Invalid` naming every problem on one line, never a value."""
    if not isinstance(credentials, Mapping):
        raise Invalid(f"credentials for {platform} must be a JSON object")
    problems = credential_problems(platform, credentials)
    if problems:
        raise Invalid(f"credentials for {platform}: {', '.join(problems)}")
    return credentials


def check_name_free(session: Session, row: Site | Source, name: str) -> None:
    model = type(row)
    taken = session.scalar(select(model.id).where(model.name == name, model.id != row.id))
    if taken is not None:
        raise Conflict(f"a {model.__tablename__[:-1]} named {name!r} exists")


def set_secret(
    vault: Vault, owner: Site | Source, secret: str | Mapping[str, str] | None
) -> str | None:
    """Set (or, with None, generate) an owner's webhook secret; return it if generated.

    Rotation is just setting a new one: the platform must be given the new secret at
    the same moment (Shopify keeps signing with the old one for up to an hour,
    docs/platforms.md section 5, so rotate there first and here right after).
    """
    generated = None
    if secret is None:
        generated = secret = secrets.token_urlsafe(32)
    owner.webhook_secret_sealed = vault.seal(secret)
    return generated


def apply_changes(
    session: Session,
    vault: Vault,
    row: Site | Source,
    changes: Mapping[str, Any],
    fields: tuple[str, ...],
) -> str | None:
    """Set the given fields and secrets of a site or source; return a generated secret."""
    if "webhook_secret" in changes and changes.get("rotate_webhook_secret"):
        raise Invalid("give webhook_secret or rotate_webhook_secret, not both")
    if "name" in changes:
        check_name_free(session, row, changes["name"])
    for name in fields:
        if name in changes:
            setattr(row, name, changes[name])
    if "credentials" in changes:
        row.credentials_sealed = vault.seal(changes["credentials"])
    if "webhook_secret" in changes:
        return set_secret(vault, row, changes["webhook_secret"])
    if changes.get("rotate_webhook_secret"):
        return set_secret(vault, row, None)
    return None


def switch_webhooks(ctx: Context, model: type[Owner], owner_id: int, active: bool | None) -> Owner:
    """Set (or, with None, flip) a site's or source's real-time switch; the row saved."""
    with saving(ctx) as session:
        row = get(session, model, owner_id)
        row.webhooks_active = (not row.webhooks_active) if active is None else active
        return row


@contextmanager
def saving(ctx: Context) -> Iterator[Session]:
    """One transaction for a change of sites or sources; a racing duplicate name,
    which only the unique index can catch, is a `Conflict`."""
    try:
        with transaction(ctx.sessions) as session:
            yield session
    except IntegrityError:
        # The one race left after check_name_free: two requests creating one name.
        raise Conflict("a row with that name was created meanwhile") from None


def rotate_keys(ctx: Context) -> int:
    """Re-seal every stored credential and secret under the first encryption key;
    return how many sources and sites were re-sealed."""
    with transaction(ctx.sessions) as session:
        rows: list[Source | Site] = [
            *session.scalars(select(Source)),
            *session.scalars(select(Site)),
        ]
        for row in rows:
            row.credentials_sealed = ctx.vault.rotate(row.credentials_sealed)
            if row.webhook_secret_sealed:
                row.webhook_secret_sealed = ctx.vault.rotate(row.webhook_secret_sealed)
    return len(rows)
