"""`stocksync stats`: the sync queue, each site's last sync and the broker's depths.

The same document as `GET /api/inventory/stats` (sync/stats.py).
"""

from __future__ import annotations

import click

from cli.context import Context
from cli.services import echo_json, services
from cli.tables import print_table
from sync.stats import collect


@click.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def stats(obj: Context, as_json: bool) -> None:
    """Batches by status, last sync per site, messages waiting in each queue."""
    with services(obj) as ctx:
        document = collect(ctx)
    if as_json:
        echo_json(document)
        return
    queue = document["queue"]
    click.echo(f"queue: {document['queue_covers']}")
    click.echo("  " + "  ".join(f"{name} {queue[name]:,}" for name in queue))
    broker = document["broker"]
    if broker is None:
        click.echo(f"broker: unavailable ({document.get('broker_error')})")
    else:
        waiting = "  ".join(f"{name} {n:,}" for name, n in broker["queues"].items())
        click.echo(f"broker: {waiting}  unacked {broker['unacked']:,}")
    print_table(
        ["id", "site", "last sync", "status"],
        [
            (
                row["site_id"],
                row["name"],
                row["last_sync"].strftime("%Y-%m-%d %H:%M %Z") if row["last_sync"] else "never",
                row["last_status"],
            )
            for row in document["last_syncs"]
        ],
        numeric={"id"},
        title="last inventory syncs (nightly or manual)",
        empty="last inventory syncs: no site yet",
    )
