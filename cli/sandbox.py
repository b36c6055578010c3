"""`stocksync sandbox <platform>`: run a platform sandbox in the foreground."""

from __future__ import annotations

import click

from sandbox.base import SandboxConfig
from sandbox.registry import PLATFORMS, create_app
from sandbox.server import serve_forever


@click.command("sandbox")
@click.argument("platform", type=click.Choice(PLATFORMS))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8100, show_default=True, type=int)
@click.option("--items", default=20_000, show_default=True, type=int, help="Catalog size.")
@click.option(
    "--drift",
    default=0.0,
    show_default=True,
    type=float,
    help="Share of SKUs whose store stock differs from the ERP's.",
)
@click.option("--latency-ms", default=0.0, show_default=True, type=float)
@click.option("--webhook-url", default=None, help="Where to send this platform's webhooks.")
@click.option("--webhook-secret", default="sandbox-webhook-secret", show_default=True)
def sandbox(
    platform: str,
    host: str,
    port: int,
    items: int,
    drift: float,
    latency_ms: float,
    webhook_url: str | None,
    webhook_secret: str,
) -> None:
    """Serve PLATFORM's sandbox API (faults can be changed at /_sandbox/faults)."""
    config = SandboxConfig(
        items=items,
        drift=drift,
        latency_ms=latency_ms,
        webhook_url=webhook_url,
        webhook_secret=webhook_secret,
    )
    app = create_app(platform, config)
    click.echo(f"{platform} sandbox with {items} items on http://{host}:{port}")
    serve_forever(app, host, port)
