"""Tables for the CLI's text output, drawn by `rich`: columns as wide as their longest
cell, so a long site name pushes its column out instead of shifting the row under the
headers; numbers right-aligned; a cell too long for the terminal folds inside its
column instead of breaking the row. `--json` stays the format for scripts.

Every command's table goes through `print_table` (`stocksync runs list`, `stats`, `log`;
`sites list` and the other `sites` / `sources` tables can use it too).
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Sequence

from rich import box
from rich.console import Console
from rich.table import Table

#: The width of a table printed to a pipe or a file: no folding, one line per row, for
#: grep and diff (rich would otherwise assume 80 columns).
PIPE_WIDTH = 10_000


def console() -> Console:
    """A console on the current stdout (click's test runner swaps it): on a terminal its
    width (or $COLUMNS); in a pipe as wide as the rows; never highlighting numbers or URLs
    by itself."""
    out = Console(highlight=False, soft_wrap=False)
    if not out.is_terminal and "COLUMNS" not in os.environ:
        out = Console(highlight=False, soft_wrap=False, width=PIPE_WIDTH)
    return out


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[object]],
    numeric: Collection[str] = (),
    title: str | None = None,
) -> Table:
    """A table of `rows` (cells printed with `str`, None as "-") under `headers`; the
    columns named in `numeric` are right-aligned."""
    grid = Table(
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        header_style="bold",
        title=title,
        title_justify="left",
    )
    for header in headers:
        grid.add_column(header, justify="right" if header in numeric else "left", overflow="fold")
    for row in rows:
        grid.add_row(*("-" if cell is None else str(cell) for cell in row))
    return grid


def print_table(
    headers: Sequence[str],
    rows: Iterable[Sequence[object]],
    numeric: Collection[str] = (),
    title: str | None = None,
    empty: str | None = None,
) -> None:
    """Print `table(...)`; with no rows, the line `empty` instead (if given)."""
    rows = list(rows)
    out = console()
    if not rows and empty is not None:
        out.print(empty)
        return
    out.print(table(headers, rows, numeric, title))
