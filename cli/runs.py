"""`stocksync runs list|show|pause|resume|cancel`: steer runs from the command line.

The same service functions as the admin API (sync/controls.py, sync/progress.py): a
pause or cancel here is seen at once by the dashboard, and the other way round.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from cli.context import Context
from cli.services import echo_json, services
from cli.sync import explain, render
from cli.tables import print_table
from models import Site
from sync.controls import CONTROLS
from sync.progress import list_runs, run_detail, run_progress
from sync.sites import site_id

DONE = {"pause": "paused", "resume": "resumed", "cancel": "cancelled"}


@click.group()
def runs() -> None:
    """Sync runs: list, show, pause, resume, cancel."""


@runs.command("list")
@click.option("--site", default=None, help="Site id or name.")
@click.option(
    "--status",
    default=None,
    type=click.Choice(["queued", "running", "paused", "cancelled", "completed", "failed"]),
)
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 500))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def list_command(
    obj: Context, site: str | None, status: str | None, limit: int, as_json: bool
) -> None:
    """Runs, newest first."""
    with services(obj) as ctx:
        chosen = site_id(ctx, site) if site else None
        with ctx.sessions() as session:
            rows = list_runs(session, chosen, status, limit, 0)
            names = _site_names(session, {row["site_id"] for row in rows})
    if as_json:
        echo_json(rows)
        return
    print_table(
        ["run", "site", "kind", "status", "done", "synced", "failed", "created"],
        [
            (
                row["id"],
                names[row["site_id"]],
                row["kind"],
                row["status"],
                f"{float(row['percent']):.1f}%",
                f"{row['synced']:,}",
                f"{row['failed']:,}",
                f"{row['created_at']:%Y-%m-%d %H:%M}",
            )
            for row in rows
        ],
        numeric={"run", "done", "synced", "failed"},
        empty="no runs",
    )


def _site_names(session: Session, site_ids: Iterable[int]) -> dict[int, str]:
    ids = set(site_ids)
    return {
        row.id: row.name
        for row in session.execute(select(Site.id, Site.name).where(Site.id.in_(ids)))
    }


@runs.command("show")
@click.argument("run_id", type=click.IntRange(1))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def show(obj: Context, run_id: int, as_json: bool) -> None:
    """A run's progress and the site's recently synced items."""
    with services(obj) as ctx, ctx.sessions() as session:
        detail = run_detail(session, run_id)
        progress = run_progress(session, run_id)
        explanation = explain(session, run_id)
        name = _site_names(session, [detail["site_id"]])[detail["site_id"]]
    if as_json:
        echo_json(detail)
        return
    click.echo(render(progress, name))
    for line in explanation:
        click.echo(line)
    print_table(
        ["SKU", "quantity", "last synced"],
        [
            (item["sku"], item["quantity"], f"{item['last_synced_at']:%Y-%m-%d %H:%M:%S}")
            for item in detail["recent_items"]
        ],
        numeric={"quantity"},
        title="recently synced items",
        empty="no item of the site synced yet",
    )


def _control(action: str) -> None:
    @runs.command(action, help=f"{action.capitalize()} a run.")
    @click.argument("run_id", type=click.IntRange(1))
    @click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
    @click.pass_obj
    def command(obj: Context, run_id: int, as_json: bool) -> None:
        with services(obj) as ctx:
            CONTROLS[action](ctx, run_id)
            with ctx.sessions() as session:
                detail: dict[str, Any] = run_detail(session, run_id)
        if as_json:
            echo_json({key: value for key, value in detail.items() if key != "recent_items"})
        else:
            click.echo(f"run {run_id} {DONE[action]} (now {detail['status']})")


for _action in CONTROLS:
    _control(_action)
