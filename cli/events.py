"""`stocksync events`: the lifecycle event subscribers (`/api/events/subscriptions`),
and a test event to one of them, followed until it is delivered or given up.

The same services as the admin API (sync/subscribers.py)."""

from __future__ import annotations

import time

import click

from cli.context import Context
from cli.services import echo_json, services
from cli.tables import print_table
from sync.subscribers import list_subscriptions, send_test_event, show_delivery

#: How often the test event's delivery is read while following it.
POLL_SECONDS = 0.5


@click.group("events")
def events() -> None:
    """Lifecycle event subscribers (PRODUCT_SYNC_*, COLLECTION_SYNC_*, MERCHANT_*)."""


@events.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def list_command(obj: Context, as_json: bool) -> None:
    """Every subscriber: URL, site, topics, state."""
    with services(obj) as ctx:
        rows = list_subscriptions(ctx, None, 1000, 0)
    if as_json:
        echo_json(rows)
        return
    print_table(
        ["id", "url", "site", "active", "topics"],
        [
            (
                row["id"],
                row["url"],
                row["site_id"] or "all",
                "yes" if row["active"] else f"no ({row['deactivated_reason']})",
                ", ".join(row["topics"]),
            )
            for row in rows
        ],
        numeric={"id"},
        empty="no subscribers (POST /api/events/subscriptions adds one)",
    )


@events.command("test")
@click.argument("subscription", type=click.IntRange(1))
@click.option(
    "--wait",
    default=30.0,
    show_default=True,
    type=click.FloatRange(0),
    help="Seconds to follow the delivery; 0 only sends it.",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def test_command(obj: Context, subscription: int, wait: float, as_json: bool) -> None:
    """Send SUBSCRIPTION (its id) a SUBSCRIPTION_TEST event, signed like every event,
    and say how its endpoint answered. Exit 1 unless it was delivered in time."""
    with services(obj) as ctx:
        delivery = send_test_event(ctx, subscription)
        deadline = time.monotonic() + wait
        while delivery["status"] == "pending" and time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)
            delivery = show_delivery(ctx, delivery["id"])
    if as_json:
        echo_json(delivery)
    else:
        click.echo(_outcome(delivery, wait))
    if delivery["status"] != "delivered":
        raise SystemExit(1)


def _outcome(delivery: dict[str, object], wait: float) -> str:
    head = f"{delivery['topic']} {delivery['event_id']} (delivery {delivery['id']})"
    status, answer = delivery["status"], delivery["last_error"] or delivery["last_status"]
    if status == "delivered":
        return f"{head}: delivered, HTTP {delivery['last_status']}"
    if status != "pending":
        return f"{head}: {status} after {delivery['attempts']} attempts ({answer})"
    if not delivery["attempts"]:
        return f"{head}: queued, not attempted within {wait:g} s (is a worker running?)"
    return (
        f"{head}: attempt {delivery['attempts']} failed ({answer}); "
        f"retried at {delivery['next_attempt_at']}"
    )
