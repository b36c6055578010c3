"""The README's getting started holds for a new user: how `stocksync` gets on the PATH
is said once, and no command line silently mixes `.venv/bin/stocksync` with a bare
`stocksync`; the make targets it names exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


def test_getting_started_says_how_stocksync_gets_on_the_path() -> None:
    start = _section("Getting started")
    assert "source .venv/bin/activate" in start
    assert "make up" in start and "make down" in start


def test_no_command_outside_getting_started_calls_the_virtualenv_path() -> None:
    """Every other `stocksync` line is bare, as Getting started says they all are."""
    rest = README.replace(_section("Getting started"), "")
    assert ".venv/bin/stocksync" not in rest


def test_the_make_targets_the_readme_names_exist() -> None:
    phony = re.search(r"^\.PHONY: (.+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert phony is not None
    targets = set(phony[1].split())
    named = set(re.findall(r"`make ([\w-]+)", README))
    assert named and named <= targets, named - targets
