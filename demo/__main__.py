"""`python -m demo [--keep]` (what `make demo` runs): the whole system end to end
against local sandboxes.

What it runs and prints is described in demo/scenario.py; this is only the command.
Its own entry point, not a `stocksync` subcommand: the operator's CLI never imports
the demo (docs/architecture.md, layers).
"""

from __future__ import annotations

import sys

import click

from cli.context import Context
from demo.fullsync import RunsTimedOut
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
def demo(keep: bool, items: int, changes: int, workers: int) -> None:
    """Sandboxes, the stack, a full sync and the real-time path; then a summary.

    Exits 0 only if every store ends equal to the ERP.
    """
    options = Options(items=items, changes=min(changes, items // 2), workers=workers, keep=keep)
    try:
        code = run_demo(Context().settings, options)
    except (StackDied, RunsTimedOut) as error:
        # Expected ways for the demo to fail: say which, not a traceback.
        raise click.ClickException(str(error)) from None
    sys.exit(code)


if __name__ == "__main__":
    demo()
