"""`stocksync sources ...` and `stocksync sites ...`: register ERPs and stores, toggle
webhooks, set or rotate secrets and plugin API keys. Secrets are write-only: they are
printed only when generated here, once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from cli.context import Context
from cli.services import services
from models import Site, Source
from sync import sites as site_service
from sync import sources as source_service
from sync import stock_policy
from sync.accounts import set_owner_secret
from sync.api_keys import issue_api_key


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
    with services(obj) as ctx:
        source = source_service.add_source(
            ctx,
            name=name,
            kind=kind,
            base_url=base_url,
            credentials=_json_option(credentials),
            webhook_secret=_secret_option(webhook_secret),
        )
    click.echo(f"source {source['id']} {name} added")


@sources.command("set-secret")
@click.argument("source")
@click.option("--secret", default=None, help="The secret; omit to generate one.")
@click.pass_obj
def source_secret(obj: Context, source: str, secret: str | None) -> None:
    """Set or rotate an ERP's webhook secret."""
    with services(obj) as ctx:
        generated = set_owner_secret(
            ctx, Source, source_service.source_id(ctx, source), _secret_option(secret)
        )
    click.echo(f"new secret (shown once): {generated}" if generated else "secret set")


@sources.command("toggle")
@click.argument("source")
@click.option("--webhooks", type=click.Choice(["on", "off"]), required=True)
@click.pass_obj
def toggle_source(obj: Context, source: str, webhooks: str) -> None:
    """Pause or resume an ERP's webhooks (paused ones are logged `ignored`; full syncs
    of its sites go on)."""
    with services(obj) as ctx:
        state = source_service.toggle_webhooks(
            ctx, source_service.source_id(ctx, source), webhooks == "on"
        )
    click.echo(f"source {state['source_id']} webhooks {webhooks}")


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
    with services(obj) as ctx:
        site = site_service.add_site(
            ctx,
            name=name,
            platform=platform,
            base_url=base_url,
            source=source,
            credentials=_json_option(credentials),
            webhook_secret=_secret_option(webhook_secret),
            timezone=timezone,
            full_sync_hour=full_sync_hour,
        )
    click.echo(f"site {site['id']} {name} added; webhooks: /webhooks/{platform}/{site['id']}")


@sites.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def list_sites(obj: Context, as_json: bool) -> None:
    """List stores (never their credentials)."""
    with services(obj) as ctx:
        rows = site_service.list_sites(ctx)
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
    """Pause or resume a store's real-time sync: its webhooks are logged `ignored` and its
    ERP's changes skip it; its full syncs go on."""
    with services(obj) as ctx:
        state = site_service.toggle_webhooks(ctx, site_service.site_id(ctx, site), webhooks == "on")
    click.echo(f"site {state['site_id']} webhooks {webhooks}")


@sites.command("set-secret")
@click.argument("site")
@click.option("--secret", default=None, help="String, JSON or @file.json; omit to generate.")
@click.pass_obj
def site_secret(obj: Context, site: str, secret: str | None) -> None:
    """Set or rotate a store's webhook secret."""
    with services(obj) as ctx:
        generated = set_owner_secret(
            ctx, Site, site_service.site_id(ctx, site), _secret_option(secret)
        )
    click.echo(f"new secret (shown once): {generated}" if generated else "secret set")


@sites.command("api-key")
@click.argument("site")
@click.pass_obj
def api_key(obj: Context, site: str) -> None:
    """Issue (or rotate) the store plugin's API key; the old one stops working."""
    with services(obj) as ctx:
        key = issue_api_key(ctx, site_service.site_id(ctx, site))
    click.echo(f"api key (shown once): {key}")


def _resync_line(resync: dict[str, Any] | None) -> str:
    return "" if resync is None else f"; {resync['message']}"


@sites.command("policy")
@click.argument("site")
@click.option(
    "--buffer", type=int, default=None, help="Units kept back (a percent with --percent)."
)
@click.option("--percent", is_flag=True, help="The buffer is a percent of the ERP's number.")
@click.option("--floor", type=int, default=None, help="Below this many, the store shows 0.")
@click.option(
    "--basis",
    type=click.Choice(["on_hand", "available_for_sale"]),
    default=None,
    help="The ERP figure to start from: on hand, or on hand less what the ERP committed "
    "to its sales orders (not for Business Central: docs/platforms.md section 7).",
)
@click.option(
    "--locations",
    metavar="ID,ID|all",
    default=None,
    help="The ERP locations (warehouse ids, comma-separated) whose stock the basis sums "
    "for this store, or 'all' (not for Business Central: docs/platforms.md section 7).",
)
@click.pass_obj
def policy(
    obj: Context,
    site: str,
    buffer: int | None,
    percent: bool,
    floor: int | None,
    basis: str | None,
    locations: str | None,
) -> None:
    """Show or set a store's stock policy: it sells the ERP's number (its basis, summed
    over its ERP locations if mapped to some) less the buffer, and 0 below the floor. A
    change resyncs the store (only the SKUs whose number changed)."""
    if percent and buffer is None:
        raise click.UsageError("--percent qualifies --buffer: give both")
    changes: dict[str, Any] = {}
    if buffer is not None:
        changes["stock_buffer"] = buffer
        changes["stock_buffer_unit"] = "percent" if percent else "units"
    if floor is not None:
        changes["stock_floor"] = floor
    if basis is not None:
        changes["stock_basis"] = basis
    if locations is not None:
        # Empty ids stay in, for the service to refuse by the same words as the API.
        ids = [part.strip() for part in locations.split(",")]
        changes["erp_location_ids"] = None if ids == ["all"] else ids
    with services(obj) as ctx:
        site_id = site_service.site_id(ctx, site)
        if changes:
            state = stock_policy.set_policy(ctx, site_id, changes)
        else:
            state = {**site_service.show_site(ctx, site_id), "site_id": site_id, "resync": None}
    unit = "%" if state["stock_buffer_unit"] == "percent" else " units"
    mapped = state["erp_location_ids"]
    at = "" if mapped is None else f" at locations {','.join(mapped)}"
    click.echo(
        f"site {state['site_id']} stock: basis {state['stock_basis']}{at}, "
        f"buffer {state['stock_buffer']}{unit}, "
        f"floor {state['stock_floor']}{_resync_line(state['resync'])}"
    )


@sites.command("sku")
@click.argument("site")
@click.argument("sku", required=False)
@click.option("--override", type=int, default=None, help="Write this quantity, whatever the ERP.")
@click.option("--opt-out", is_flag=True, help="Never write this SKU.")
@click.option("--clear", is_flag=True, help="Remove the SKU's rule.")
@click.pass_obj
def sku_rule(
    obj: Context, site: str, sku: str | None, override: int | None, opt_out: bool, clear: bool
) -> None:
    """Set or clear a SKU's stock rule; without a SKU, list the store's rules."""
    chosen = (override is not None) + opt_out + clear
    if sku is None:
        if chosen:
            raise click.UsageError("name the SKU")
    elif chosen != 1:
        raise click.UsageError("give one of --override N, --opt-out or --clear")
    with services(obj) as ctx:
        site_id = site_service.site_id(ctx, site)
        if sku is None:
            for rule in stock_policy.list_rules(ctx, site_id):
                shown = "opt out" if rule["quantity"] is None else f"override {rule['quantity']}"
                click.echo(f"{rule['sku']:<20} {shown}")
            return
        if clear:
            done = stock_policy.clear_rule(ctx, site_id, sku)
            click.echo(f"site {site_id} {done['sku']}: rule cleared{_resync_line(done['resync'])}")
            return
        done = stock_policy.set_rule(ctx, site_id, sku, override=override, opt_out=opt_out)
    shown = "opted out" if opt_out else f"override {done['quantity']}"
    click.echo(f"site {site_id} {done['sku']}: {shown}{_resync_line(done['resync'])}")
