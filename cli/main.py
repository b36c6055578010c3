"""`stocksync`: the entry point. Each group lives in its own module."""

from __future__ import annotations

import logging
import sys

import click

from cli.context import Context
from cli.db import db
from cli.events import events
from cli.keys import keys
from cli.log import log
from cli.relay import relay
from cli.reservations import reservations
from cli.runs import runs
from cli.sites import sites, sources
from cli.stack import down, up
from cli.stats import stats
from cli.sync import sync
from logconfig import configure_logging
from settings import SettingsError


@click.group()
@click.pass_context
def cli(ctx: click.Context) -> None:
    """stocksync: keep storefront stock equal to the ERP."""
    ctx.obj = Context()
    # JSON lines on stderr like every other process; warnings only, so they do not bury
    # the command's own output (the processes `up` starts log at LOG_LEVEL).
    configure_logging("cli", logging.WARNING)


cli.add_command(db)
cli.add_command(keys)
cli.add_command(up)
cli.add_command(down)
cli.add_command(relay)
cli.add_command(sources)
cli.add_command(sites)
cli.add_command(sync)
cli.add_command(runs)
cli.add_command(stats)
cli.add_command(log)
cli.add_command(reservations)
cli.add_command(events)


def main() -> None:
    try:
        cli(standalone_mode=True)
    except SettingsError as error:
        sys.exit(f"stocksync: {error}")


if __name__ == "__main__":
    main()
