"""`stocksync sites ...`: register, show, edit and remove stores; toggle their webhooks,
set or rotate their secrets and plugin API keys. Secrets are write-only: printed only
when generated here, once. Every command takes `--json`: the same keys as the admin
API's answers. The stock policy commands are in cli/site_stock.py, the ERPs' in
cli/sources.py."""

from __future__ import annotations

from typing import Any

import click

from cli.connections import (
    NO_CHECK,
    echo_registration,
    secret_command,
    subscriptions_command,
    test_command,
)
from cli.context import Context
from cli.inputs import json_object, keys_help, secret
from cli.services import echo_json, services
from cli.site_stock import policy, sku_rule
from cli.sources import JSON, sources
from cli.tables import print_table
from models import Platform
from sync import sites as site_service
from sync.accounts import WEBHOOK_SECRETS
from sync.api_keys import issue_api_key

__all__ = ["sites", "sources"]

PLATFORMS = [platform.value for platform in Platform]


@click.group()
def sites() -> None:
    """Storefronts."""


sites.add_command(policy)
sites.add_command(sku_rule)
sites.add_command(test_command("site", site_service.site_id))
sites.add_command(subscriptions_command("site", site_service.site_id))
sites.add_command(secret_command("site", site_service.site_id, site_service.update_site))


@sites.command(
    "add",
    help="Register a store fed by an ERP (--source). Its credentials are checked for "
    "its platform's keys before anything is saved.\n\n" + keys_help(PLATFORMS),
)
@click.argument("name")
@click.option("--platform", required=True, type=click.Choice(PLATFORMS))
@click.option("--base-url", required=True, help="https://... (http only for localhost).")
@click.option("--source", required=True, help="Source id or name.")
@click.option("--credentials", required=True, help="JSON object, or @file.json")
@click.option("--webhook-secret", default=None, help="String, JSON object or @file.json")
@click.option("--timezone", default="UTC", show_default=True, help="IANA zone of the store.")
@click.option("--full-sync-hour", default=2, show_default=True, type=int)
@click.option(
    "--no-initial-sync",
    is_flag=True,
    help="Write nothing until you run `stocksync sync SITE`: each night a preview instead.",
)
@NO_CHECK
@JSON
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
    no_initial_sync: bool,
    no_check: bool,
    as_json: bool,
) -> None:
    given = json_object("--credentials", credentials)
    hook_secret = secret("--webhook-secret", webhook_secret)
    with services(obj) as ctx:
        site = site_service.add_site(
            ctx,
            name=name,
            platform=platform,
            base_url=base_url,
            source=source,
            credentials=given,
            webhook_secret=hook_secret,
            timezone=timezone,
            full_sync_hour=full_sync_hour,
            check=not no_check,
            initial_sync=not no_initial_sync,
        )
    if as_json:
        echo_json(site)
        return
    click.echo(f"site {site['id']} {name} added; webhooks: /webhooks/{platform}/{site['id']}")
    echo_registration(site)
    click.echo(f"first full sync: {site['first_full_sync']}")


@sites.command("list")
@JSON
@click.pass_obj
def list_sites(obj: Context, as_json: bool) -> None:
    """List stores (never their credentials); `sites show` for one, with the webhook
    secret it expects."""
    with services(obj) as ctx:
        rows = site_service.list_sites(ctx)
    if as_json:
        echo_json(rows)
        return
    print_table(
        ("id", "name", "platform", "source", "nightly sync", "webhooks", "first sync"),
        (
            (
                row["id"],
                row["name"],
                row["platform"],
                row["source_id"],
                f"{row['full_sync_hour']:02d}:00 {row['timezone']}",
                "on" if row["webhooks_active"] else "OFF",
                "preview until run" if row["awaiting_first_sync"] else "done or nightly",
            )
            for row in rows
        ),
        numeric=("id", "source"),
        empty="no sites yet: stocksync sites add --help",
    )


@sites.command("show")
@click.argument("site")
@JSON
@click.pass_obj
def show_site(obj: Context, site: str, as_json: bool) -> None:
    """Show a store: address, ERP, schedule, webhook URL and which secret it expects
    (a delivery signed with another is refused "signature does not match")."""
    with services(obj) as ctx:
        shown = site_service.show_site(ctx, site_service.site_id(ctx, site))
    if as_json:
        echo_json(shown)
        return
    secret_state = "set" if shown["has_webhook_secret"] else "NOT SET"
    for label, value in (
        ("site", f"{shown['id']} {shown['name']} ({shown['platform']})"),
        ("base url", shown["base_url"]),
        ("source", shown["source_id"]),
        ("active", "yes" if shown["active"] else "no"),
        ("full sync", f"{shown['full_sync_hour']:02d}:00 {shown['timezone']}"),
        ("webhooks", f"/webhooks/{shown['platform']}/{shown['id']}"),
        ("real time", "on" if shown["webhooks_active"] else "OFF"),
        ("webhook secret", f"{secret_state}: {WEBHOOK_SECRETS[shown['platform']]}"),
        ("plugin api key", "set" if shown["has_api_key"] else "none"),
        ("budgets", shown["budgets"]["store"]["text"]),
        ("", shown["budgets"]["erp"]["text"]),
    ):
        click.echo(f"{label + ':' if label else '':<16}{value}")


@sites.command("edit")
@click.argument("site")
@click.option("--name", default=None)
@click.option("--base-url", default=None)
@click.option("--credentials", default=None, help="JSON object or @file.json; replaces them whole.")
@click.option("--timezone", default=None, help="IANA zone of the store.")
@click.option("--full-sync-hour", default=None, type=int)
@click.option("--source", default=None, help="Move it to this source (id or name).")
@JSON
@click.pass_obj
def edit_site(
    obj: Context,
    site: str,
    name: str | None,
    base_url: str | None,
    credentials: str | None,
    timezone: str | None,
    full_sync_hour: int | None,
    source: str | None,
    as_json: bool,
) -> None:
    """Change a store's name, address, credentials, zone, sync hour or ERP (`sites
    set-secret` for its secret, `sites policy` for its stock policy). New credentials
    must hold every key of its platform (`sites add --help`)."""
    given = {
        "name": name,
        "base_url": base_url,
        "timezone": timezone,
        "full_sync_hour": full_sync_hour,
        "source": source,
    }
    changes: dict[str, Any] = {key: value for key, value in given.items() if value is not None}
    if credentials is not None:
        changes["credentials"] = json_object("--credentials", credentials)
    if not changes:
        raise click.UsageError(
            "give at least one of --name, --base-url, --credentials, --timezone, "
            "--full-sync-hour, --source"
        )
    with services(obj) as ctx:
        shown = site_service.update_site(ctx, site_service.site_id(ctx, site), changes)
    if as_json:
        echo_json(shown)
        return
    click.echo(f"site {shown['id']} {shown['name']} updated: {', '.join(sorted(changes))}")


@sites.command("remove")
@click.argument("site")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@JSON
@click.pass_obj
def remove_site(obj: Context, site: str, yes: bool, as_json: bool) -> None:
    """Delete a store and what belongs only to it: its catalog mirror, SKU rules,
    reservations, runs, plugin records and API key (the webhook log keeps its rows).
    Refused while it has a live run. Its name can be used again at once; `sites edit
    SITE` or PATCH active=false keeps a store with its history instead."""
    with services(obj) as ctx:
        found = site_service.site_id(ctx, site)
        if not yes:
            click.confirm(
                f"remove site {site} and its catalog, rules, runs and reservations?",
                abort=True,
                err=True,
            )
        removed = site_service.remove_site(ctx, found)
    if as_json:
        echo_json({**removed, "removed": True})
        return
    click.echo(
        f"site {removed['id']} {removed['name']} removed; the webhooks stocksync "
        "registered were deleted from the store; delete any made by hand "
        f"(they point at /webhooks/{removed['platform']}/{removed['id']})"
    )


@sites.command("toggle")
@click.argument("site")
@click.option("--webhooks", type=click.Choice(["on", "off"]), required=True)
@JSON
@click.pass_obj
def toggle(obj: Context, site: str, webhooks: str, as_json: bool) -> None:
    """Pause or resume a store's real-time sync: its webhooks are logged `ignored` and its
    ERP's changes skip it; its full syncs go on."""
    with services(obj) as ctx:
        state = site_service.toggle_webhooks(ctx, site_service.site_id(ctx, site), webhooks == "on")
    if as_json:
        echo_json(state)
        return
    click.echo(f"site {state['site_id']} webhooks {webhooks}")


@sites.command("api-key")
@click.argument("site")
@JSON
@click.pass_obj
def api_key(obj: Context, site: str, as_json: bool) -> None:
    """Issue (or rotate) the store plugin's API key; the old one stops working."""
    with services(obj) as ctx:
        found = site_service.site_id(ctx, site)
        key = issue_api_key(ctx, found)
    if as_json:
        echo_json({"site_id": found, "api_key": key})
        return
    click.echo(f"api key (shown once): {key}")
