"""`stocksync sites policy` and `stocksync sites sku`: a store's stock policy and its
per-SKU rules (sync/stock_policy.py). Registered on the `sites` group by cli/sites.py."""

from __future__ import annotations

from typing import Any

import click

from cli.context import Context
from cli.services import echo_json, services
from sync import sites as site_service
from sync import stock_policy


def _resync_line(resync: dict[str, Any] | None) -> str:
    return "" if resync is None else f"; {resync['message']}"


@click.command("policy")
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
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def policy(
    obj: Context,
    site: str,
    buffer: int | None,
    percent: bool,
    floor: int | None,
    basis: str | None,
    locations: str | None,
    as_json: bool,
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
    if as_json:
        echo_json(state)
        return
    unit = "%" if state["stock_buffer_unit"] == "percent" else " units"
    mapped = state["erp_location_ids"]
    at = "" if mapped is None else f" at locations {','.join(mapped)}"
    click.echo(
        f"site {state['site_id']} stock: basis {state['stock_basis']}{at}, "
        f"buffer {state['stock_buffer']}{unit}, "
        f"floor {state['stock_floor']}{_resync_line(state['resync'])}"
    )


@click.command("sku")
@click.argument("site")
@click.argument("sku", required=False)
@click.option("--override", type=int, default=None, help="Write this quantity, whatever the ERP.")
@click.option("--opt-out", is_flag=True, help="Never write this SKU.")
@click.option("--clear", is_flag=True, help="Remove the SKU's rule.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def sku_rule(
    obj: Context,
    site: str,
    sku: str | None,
    override: int | None,
    opt_out: bool,
    clear: bool,
    as_json: bool,
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
            rules = stock_policy.list_rules(ctx, site_id)
            if as_json:
                echo_json(rules)
                return
            for rule in rules:
                shown = "opt out" if rule["quantity"] is None else f"override {rule['quantity']}"
                click.echo(f"{rule['sku']:<20} {shown}")
            return
        if clear:
            done = stock_policy.clear_rule(ctx, site_id, sku)
            if as_json:
                echo_json(done)
                return
            click.echo(f"site {site_id} {done['sku']}: rule cleared{_resync_line(done['resync'])}")
            return
        done = stock_policy.set_rule(ctx, site_id, sku, override=override, opt_out=opt_out)
    if as_json:
        echo_json(done)
        return
    shown = "opted out" if opt_out else f"override {done['quantity']}"
    click.echo(f"site {site_id} {done['sku']}: {shown}{_resync_line(done['resync'])}")
