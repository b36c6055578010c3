"""`stocksync sources ...` and `stocksync sites ...`: register ERPs and stores, toggle
webhooks, set or rotate secrets and plugin API keys. Secrets are write-only: they are
printed only when generated here, once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.api_keys import hash_api_key, new_api_key
from cli.context import Context
from embedded.runtime import resolve
from models import Site
from models.crypto import Vault
from models.db import make_engine, make_sessionmaker
from sync import sites as admin


@contextmanager
def _session(obj: Context) -> Iterator[tuple[Session, Vault]]:
    settings = resolve(obj.settings)
    assert settings.database_url
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine).begin() as session:
            yield session, Vault(settings.encryption_keys)
    except admin.AdminError as error:
        raise click.ClickException(str(error)) from None
    finally:
        engine.dispose()


def _json_option(value: str) -> Any:
    """A JSON literal, or @path to a JSON file (keeps credentials out of shell history)."""
    text = Path(value[1:]).read_text() if value.startswith("@") else value
    try:
        return json.loads(text)
    except ValueError:
        raise click.BadParameter("not valid JSON") from None


def _secret_option(value: str | None) -> Any:
    if value is None:
        return None
    return _json_option(value) if value.startswith(("{", "@")) else value


@click.group()
def sources() -> None:
    """ERP connections."""


@sources.command("add")
@click.argument("name")
@click.option("--kind", required=True, type=click.Choice(["businesscentral", "zoho"]))
@click.option("--base-url", required=True)
@click.option("--credentials", required=True, help="JSON, or @file.json")
@click.option("--webhook-secret", default=None, help="Token / clientState; JSON or @file too.")
@click.pass_obj
def add_source(
    obj: Context, name: str, kind: str, base_url: str, credentials: str, webhook_secret: str | None
) -> None:
    """Register an ERP."""
    with _session(obj) as (session, vault):
        source = admin.add_source(
            session,
            vault,
            name=name,
            kind=kind,
            base_url=base_url,
            credentials=_json_option(credentials),
            webhook_secret=_secret_option(webhook_secret),
        )
        click.echo(f"source {source.id} {name} added")


@sources.command("set-secret")
@click.argument("source")
@click.option("--secret", default=None, help="The secret; omit to generate one.")
@click.pass_obj
def source_secret(obj: Context, source: str, secret: str | None) -> None:
    """Set or rotate an ERP's webhook secret."""
    with _session(obj) as (session, vault):
        generated = admin.set_secret(
            session, vault, admin.find_source(session, source), _secret_option(secret)
        )
    click.echo(f"new secret (shown once): {generated}" if generated else "secret set")


@click.group()
def sites() -> None:
    """Storefronts."""


@sites.command("add")
@click.argument("name")
@click.option(
    "--platform", required=True, type=click.Choice(["woocommerce", "bigcommerce", "shopify"])
)
@click.option("--base-url", required=True)
@click.option("--source", required=True, help="Source id or name.")
@click.option("--credentials", required=True, help="JSON, or @file.json")
@click.option("--webhook-secret", default=None, help="String, JSON or @file.json")
@click.option("--timezone", default="UTC", show_default=True, help="IANA zone of the store.")
@click.option("--full-sync-hour", default=2, show_default=True, type=int)
@click.pass_obj
def add_site(
    obj: Context,
    name: str,
    platform: str,
    base_url: str,
    source: str,
    credentials: str,
    webhook_secret: str | None,
    timezone: str,
    full_sync_hour: int,
) -> None:
    """Register a store."""
    with _session(obj) as (session, vault):
        site = admin.add_site(
            session,
            vault,
            name=name,
            platform=platform,
            base_url=base_url,
            source=source,
            credentials=_json_option(credentials),
            webhook_secret=_secret_option(webhook_secret),
            timezone=timezone,
            full_sync_hour=full_sync_hour,
        )
        click.echo(f"site {site.id} {name} added; webhooks: /webhooks/{platform}/{site.id}")


@sites.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def list_sites(obj: Context, as_json: bool) -> None:
    """List stores (never their credentials)."""
    with _session(obj) as (session, _vault):
        rows = [admin.describe_site(s) for s in session.scalars(select(Site).order_by(Site.id))]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        hooks = "webhooks on" if row["webhooks_active"] else "webhooks OFF"
        click.echo(
            f"{row['id']:>4}  {row['name']:<20} {row['platform']:<12} {row['timezone']:<20} {hooks}"
        )


@sites.command("toggle")
@click.argument("site")
@click.option("--webhooks", type=click.Choice(["on", "off"]), required=True)
@click.pass_obj
def toggle(obj: Context, site: str, webhooks: str) -> None:
    """Pause or resume a store's webhooks (paused ones are logged `ignored`)."""
    with _session(obj) as (session, _vault):
        row = admin.set_webhooks_active(session, site, webhooks == "on")
        click.echo(f"site {row.id} webhooks {webhooks}")


@sites.command("set-secret")
@click.argument("site")
@click.option("--secret", default=None, help="String, JSON or @file.json; omit to generate.")
@click.pass_obj
def site_secret(obj: Context, site: str, secret: str | None) -> None:
    """Set or rotate a store's webhook secret."""
    with _session(obj) as (session, vault):
        generated = admin.set_secret(
            session, vault, admin.find_site(session, site), _secret_option(secret)
        )
    click.echo(f"new secret (shown once): {generated}" if generated else "secret set")


@sites.command("api-key")
@click.argument("site")
@click.pass_obj
def api_key(obj: Context, site: str) -> None:
    """Issue (or rotate) the store plugin's API key; the old one stops working."""
    key = new_api_key()
    with _session(obj) as (session, _vault):
        admin.find_site(session, site).api_key_hash = hash_api_key(key)
    click.echo(f"api key (shown once): {key}")
