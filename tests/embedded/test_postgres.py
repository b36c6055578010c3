"""The embedded PostgreSQL keeps STOCKSYNC_HOME private without narrowing a home that
is a shared folder (pgserver, run as root, opens every folder above its data)."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path

from embedded.postgres import ensure_postgres, stop_postgres


def test_a_shared_home_keeps_every_bit_it_had_and_the_data_stays_private() -> None:
    # Outside pytest's tmp_path: as root, pgserver's user must pass through its parents.
    parent = Path(tempfile.mkdtemp(prefix="stocksync-pg-"))
    home = parent / "shared"
    home.mkdir()
    os.chmod(home, 0o1777)  # noqa: S103 - like /tmp: STOCKSYNC_HOME may be one
    try:
        ensure_postgres(home)
        assert stat.S_IMODE(home.stat().st_mode) == 0o1777
        assert stat.S_IMODE((home / "postgres").stat().st_mode) == 0o700
    finally:
        stop_postgres(home)
        shutil.rmtree(parent, ignore_errors=True)
