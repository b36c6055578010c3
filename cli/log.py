"""`stocksync log`: search the webhook log, e.g. `stocksync log --status failed`.

The same search as `GET /api/webhooks/log` (sync/webhook_log.py), newest first.
"""

from __future__ import annotations

from datetime import UTC, datetime

import click

from cli.context import Context
from cli.services import echo_json, services
from cli.tables import print_table
from models import WebhookStatus
from sync.sites import site_id
from sync.webhook_log import list_rows


@click.command("log")
@click.option("--status", type=click.Choice([s.value for s in WebhookStatus]), default=None)
@click.option("--site", default=None, help="Site id or name.")
@click.option("--provider", default=None)
@click.option("--topic", default=None)
@click.option("--search", "q", default=None, help="Text in the SKU or entity.")
@click.option("--since", type=click.DateTime(), default=None, help="Received at or after (UTC).")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def log(
    obj: Context,
    status: str | None,
    site: str | None,
    provider: str | None,
    topic: str | None,
    q: str | None,
    since: datetime | None,
    limit: int,
    as_json: bool,
) -> None:
    """Webhook requests and what became of them, newest first."""
    with services(obj) as ctx:
        filters = {
            "status": status,
            "site_id": site_id(ctx, site) if site else None,
            "provider": provider,
            "topic": topic,
            "q": q,
            "since": since.replace(tzinfo=UTC) if since else None,
        }
        page = list_rows(ctx, filters, limit)
    if as_json:
        echo_json(page["items"])
        return
    print_table(
        [
            "id",
            "received",
            "provider",
            "site",
            "topic",
            "SKU or entity",
            "status",
            "tries",
            "error",
        ],
        [
            (
                row["id"],
                f"{row['received_at']:%Y-%m-%d %H:%M:%S}",
                row["provider"],
                row["site_id"],
                row["topic"],
                row["sku"] or row["entity"],
                row["status"],
                row["attempts"],
                row["error"][:80] if row["error"] else None,
            )
            for row in page["items"]
        ],
        numeric={"id", "site", "tries"},
        empty="no matching webhook requests",
    )
