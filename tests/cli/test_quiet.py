"""A command prints nothing it was not asked for: no XDG_RUNTIME_DIR warning from
pgserver's import (embedded/postgres.py `_pgserver`), whatever the environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_down_with_no_xdg_runtime_dir_prints_no_warning(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
    env |= {"STOCKSYNC_HOME": str(tmp_path / "home"), "PYTHONWARNINGS": "always"}
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", "down"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.splitlines() == ["postgres: not running", "redis: not running"]
