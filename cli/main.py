"""`stocksync`: the entry point. Each group lives in its own module."""

from __future__ import annotations

import logging
import sys

import click

from cli.context import Context
from cli.db import db
from cli.keys import keys
from cli.relay import relay
from cli.sandbox import sandbox
from cli.sites import sites, sources
from cli.stack import down, up
from settings import SettingsError


@click.group()
@click.pass_context
def cli(ctx: click.Context) -> None:
    """stocksync: keep storefront stock equal to the ERP."""
    ctx.obj = Context()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")


cli.add_command(db)
cli.add_command(keys)
cli.add_command(up)
cli.add_command(down)
cli.add_command(sandbox)
cli.add_command(relay)
cli.add_command(sources)
cli.add_command(sites)


def main() -> None:
    try:
        cli(standalone_mode=True)
    except SettingsError as error:
        sys.exit(f"stocksync: {error}")


if __name__ == "__main__":
    main()
