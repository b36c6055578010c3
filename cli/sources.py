"""`stocksync sources ...`: register, show, edit and remove ERPs; toggle their webhooks,
set or rotate their secrets. Secrets are write-only: printed only when generated here,
once. Every command takes `--json`: the same keys as the admin API's answers."""

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
from cli.tables import print_table
from models import SourceKind
from sync import sources as source_service
from sync.accounts import WEBHOOK_SECRETS

KINDS = [kind.value for kind in SourceKind]
JSON = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


@click.group()
def sources() -> None:
    """ERP connections."""


sources.add_command(test_command("source", source_service.source_id))
sources.add_command(subscriptions_command("source", source_service.source_id))
sources.add_command(
    secret_command("source", source_service.source_id, source_service.update_source)
)


@sources.command(
    "add",
    help="Register an ERP. Its credentials are checked for its kind's keys before "
    "anything is saved.\n\n" + keys_help(KINDS),
)
@click.argument("name")
@click.option("--kind", required=True, type=click.Choice(KINDS))
@click.option("--base-url", required=True, help="https://... (http only for localhost).")
@click.option("--credentials", required=True, help="JSON object, or @file.json")
@click.option("--webhook-secret", default=None, help="String, JSON object or @file.json")
@NO_CHECK
@JSON
@click.pass_obj
def add_source(
    obj: Context,
    name: str,
    kind: str,
    base_url: str,
    credentials: str,
    webhook_secret: str | None,
    no_check: bool,
    as_json: bool,
) -> None:
    given = json_object("--credentials", credentials)
    hook_secret = secret("--webhook-secret", webhook_secret)
    with services(obj) as ctx:
        source = source_service.add_source(
            ctx,
            name=name,
            kind=kind,
            base_url=base_url,
            credentials=given,
            webhook_secret=hook_secret,
            check=not no_check,
        )
    if as_json:
        echo_json(source)
        return
    click.echo(f"source {source['id']} {name} added; webhooks: /webhooks/{kind}/{source['id']}")
    echo_registration(source)


@sources.command("list")
@JSON
@click.pass_obj
def list_sources(obj: Context, as_json: bool) -> None:
    """List ERPs (never their credentials)."""
    with services(obj) as ctx:
        rows = source_service.list_sources(ctx)
    if as_json:
        echo_json(rows)
        return
    print_table(
        ("id", "name", "kind", "sites", "webhooks"),
        (
            (
                row["id"],
                row["name"],
                row["kind"],
                ", ".join(map(str, row["site_ids"])) or "-",
                "on" if row["webhooks_active"] else "OFF",
            )
            for row in rows
        ),
        numeric=("id",),
        empty="no sources yet: stocksync sources add --help",
    )


@sources.command("show")
@click.argument("source")
@JSON
@click.pass_obj
def show_source(obj: Context, source: str, as_json: bool) -> None:
    """Show an ERP: its address, sites, webhook URL and which secret it expects."""
    with services(obj) as ctx:
        shown = source_service.show_source(ctx, source_service.source_id(ctx, source))
    if as_json:
        echo_json(shown)
        return
    secret_state = "set" if shown["has_webhook_secret"] else "NOT SET"
    for label, value in (
        ("source", f"{shown['id']} {shown['name']} ({shown['kind']})"),
        ("base url", shown["base_url"]),
        ("sites", ", ".join(map(str, shown["site_ids"])) or "none"),
        ("webhooks", f"/webhooks/{shown['kind']}/{shown['id']}"),
        ("real time", "on" if shown["webhooks_active"] else "OFF"),
        ("webhook secret", f"{secret_state}: {WEBHOOK_SECRETS[shown['kind']]}"),
    ):
        click.echo(f"{label + ':':<16}{value}")


@sources.command("edit")
@click.argument("source")
@click.option("--name", default=None)
@click.option("--base-url", default=None)
@click.option("--credentials", default=None, help="JSON object or @file.json; replaces them whole.")
@JSON
@click.pass_obj
def edit_source(
    obj: Context,
    source: str,
    name: str | None,
    base_url: str | None,
    credentials: str | None,
    as_json: bool,
) -> None:
    """Change an ERP's name, address or credentials (`sources set-secret` for its
    secret). New credentials must hold every key of its kind (`sources add --help`)."""
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = name
    if base_url is not None:
        changes["base_url"] = base_url
    if credentials is not None:
        changes["credentials"] = json_object("--credentials", credentials)
    if not changes:
        raise click.UsageError("give at least one of --name, --base-url, --credentials")
    with services(obj) as ctx:
        shown = source_service.update_source(ctx, source_service.source_id(ctx, source), changes)
    if as_json:
        echo_json(shown)
        return
    click.echo(f"source {shown['id']} {shown['name']} updated: {', '.join(sorted(changes))}")


@sources.command("remove")
@click.argument("source")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@JSON
@click.pass_obj
def remove_source(obj: Context, source: str, yes: bool, as_json: bool) -> None:
    """Delete an ERP that no site uses (refused, naming them, while some do)."""
    with services(obj) as ctx:
        found = source_service.source_id(ctx, source)
        if not yes:
            click.confirm(f"remove source {source}?", abort=True, err=True)
        removed = source_service.delete_source(ctx, found)
    if as_json:
        echo_json({**removed, "removed": True})
        return
    click.echo(
        f"source {removed['id']} {removed['name']} removed; the webhooks stocksync "
        "registered were deleted from the ERP; delete any made by hand "
        f"(they point at /webhooks/{removed['kind']}/{removed['id']})"
    )


@sources.command("toggle")
@click.argument("source")
@click.option("--webhooks", type=click.Choice(["on", "off"]), required=True)
@JSON
@click.pass_obj
def toggle_source(obj: Context, source: str, webhooks: str, as_json: bool) -> None:
    """Pause or resume an ERP's webhooks (paused ones are logged `ignored`; full syncs
    of its sites go on)."""
    with services(obj) as ctx:
        state = source_service.toggle_webhooks(
            ctx, source_service.source_id(ctx, source), webhooks == "on"
        )
    if as_json:
        echo_json(state)
        return
    click.echo(f"source {state['source_id']} webhooks {webhooks}")
