"""`python -m demo [--keep] [--speed N | --lab]` (what `make demo` runs): the whole
system end to end against local sandboxes.

What it runs and prints is described in demo/scenario.py; this is only the command.
Its own entry point, not a `stocksync` subcommand: the operator's CLI never imports
the demo (docs/architecture.md, layers).
"""

from __future__ import annotations

import sys

import click

from cli.context import Context
from demo.fullsync import RunsTimedOut
from demo.pace import DEFAULT_SPEED, Pace
from demo.processes import StackDied
from demo.scenario import Options, run_demo


@click.command("demo")
@click.option("--keep", is_flag=True, help="Leave the stack and dashboard up until Ctrl-C.")
@click.option(
    "--items",
    default=20_000,
    show_default=True,
    type=click.IntRange(100, 200_000),
    help="SKUs in the ERP and in each store.",
)
@click.option(
    "--changes",
    default=200,
    show_default=True,
    type=click.IntRange(10, 5_000),
    help="SKUs the ERP changes during the real-time part.",
)
@click.option(
    "--workers",
    default=4,
    show_default=True,
    type=click.IntRange(1, 32),
    help="Celery worker processes.",
)
@click.option(
    "--speed",
    default=DEFAULT_SPEED,
    show_default=True,
    type=click.FloatRange(min=1.0),
    help="How many times faster than the real platforms' default limits and pace the "
    "sandboxes run.",
)
@click.option(
    "--lab",
    is_flag=True,
    help="Sandboxes with no limits answering in 0 ms instead, and budgets no sync reaches: "
    "stocksync's own pace on this machine.",
)
def demo(keep: bool, items: int, changes: int, workers: int, speed: float, lab: bool) -> None:
    """Sandboxes, the stack, a full sync and the real-time path; then a summary.

    Exits 0 only if every store ends equal to the ERP.
    """
    options = Options(
        items=items,
        changes=min(changes, items // 2),
        workers=workers,
        keep=keep,
        pace=Pace(speed=speed, lab=lab),
    )
    try:
        code = run_demo(Context().settings, options)
    except (StackDied, RunsTimedOut) as error:
        # Expected ways for the demo to fail: say which, not a traceback.
        raise click.ClickException(str(error)) from None
    sys.exit(code)


if __name__ == "__main__":
    demo()
