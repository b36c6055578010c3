"""`stocksync reservations`: the store orders holding a source's stock, and what was
sold beyond it. The same views as `GET /api/sources/<id>/reservations` and
`/oversold` (sync/reservation_report.py)."""

from __future__ import annotations

import click

from cli.context import Context
from cli.services import echo_json, services
from models.skus import try_normalize_sku
from sync.reservation_report import list_reservations, oversold
from sync.sources import source_id


@click.group("reservations")
def reservations() -> None:
    """Units sold on stores and not yet absorbed by the ERP."""


@reservations.command("list")
@click.option("--source", required=True, help="Source id or name.")
@click.option("--all", "everything", is_flag=True, help="Ended ones too, with their reason.")
@click.option("--sku", default=None)
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def list_command(
    obj: Context, source: str, everything: bool, sku: str | None, limit: int, as_json: bool
) -> None:
    """The source's reservations, newest first (open ones unless --all)."""
    with services(obj) as ctx:
        page = list_reservations(
            ctx,
            source_id(ctx, source),
            open_only=not everything,
            sku=try_normalize_sku(sku),
            limit=limit,
            offset=0,
        )
    if as_json:
        echo_json(page["items"])
        return
    for row in page["items"]:
        state = row["end_reason"] or ("committed" if row["committed_at"] else "open")
        click.echo(
            f"{row['id']:>8}  site {row['site_id']:<4} order {row['order_number']:<12} "
            f"{row['sku']:<20} {row['units']:>5}  {state}"
        )


@reservations.command("oversold")
@click.option("--source", required=True, help="Source id or name.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def oversold_command(obj: Context, source: str, as_json: bool) -> None:
    """SKUs the stores sold beyond the ERP's figure, with the orders that did it."""
    with services(obj) as ctx:
        report = oversold(ctx, source_id(ctx, source))
    if as_json:
        echo_json(report)
        return
    if not report:
        click.echo("nothing oversold")
    for entry in report:
        orders = ", ".join(
            f"{o['order_number']} (site {o['site_id']}, {o['units']})" for o in entry["orders"]
        )
        click.echo(f"{entry['sku']:<20} short by {entry['short_by']}: {orders}")
