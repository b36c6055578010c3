"""The CLI's tables (cli/tables.py): headers stay over their columns whatever the
length of a name, numbers align right, and a terminal's width is kept."""

from __future__ import annotations

import io

from rich.console import Console

from cli.tables import table

LONG = "the-northern-european-outlet-store-with-a-very-long-name"


def _lines(width: int) -> list[str]:
    console = Console(width=width, file=io.StringIO(), color_system=None)
    rows = [(1, "shop", "completed", "1,000"), (22, LONG, "failed", "7")]
    console.print(table(["run", "site", "status", "synced"], rows, numeric={"run", "synced"}))
    return str(console.file.getvalue()).splitlines()  # type: ignore[attr-defined]


def test_headers_stay_over_their_columns_with_a_long_name() -> None:
    header, _, shop, outlet = _lines(200)
    assert header.index("status") == shop.index("completed") == outlet.index("failed")
    # Right-aligned numbers end under their header's end.
    assert header.index("synced") + len("synced") == shop.index("1,000") + len("1,000")
    assert outlet.rstrip().endswith("7")
    assert header.index("synced") + len("synced") == len(outlet.rstrip())


def test_an_80_column_terminal_folds_the_long_cell_inside_its_column() -> None:
    lines = _lines(80)
    assert all(len(line) <= 80 for line in lines), lines
    header = lines[0]
    assert header.index("status") == lines[2].index("completed") == lines[3].index("failed")
    assert LONG not in "\n".join(lines) and LONG[:10] in lines[3]
