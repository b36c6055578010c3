"""A real PostgreSQL a test can stop and start again (outage tests), never the shared one.

The embedded server (pgserver's binaries) with its own data directory: it listens on a
unix socket in that directory only, so stopping it touches no other test session.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from embedded.postgres import data_owner, ensure_postgres, stop_postgres


class StoppablePostgres:
    def __init__(self) -> None:
        # Not under pytest's tmp_path: run as root, pgserver runs postgres as its own
        # user, which must be able to reach the data directory (tmp_path's parents are
        # root's alone).
        self.home = Path(tempfile.mkdtemp(prefix="stocksync-outage-"))
        self.home.chmod(0o755)
        self.url = ""

    def start(self) -> None:
        """Create and start the server the first time; start it again after `stop`."""
        if not self.url:
            self.url = ensure_postgres(self.home)
            return
        # pgserver keeps its server object per process and would not start it again:
        # start the same data directory with the options pgserver gives it.
        from pgserver._commands import pg_ctl  # type: ignore[attr-defined]

        data = self.home / "postgres"
        pg_ctl(
            ["-w", "-o", '-h ""', "-o", f"-k {data}", "-l", str(data / "restart.log"), "start"],
            pgdata=data,
            user=data_owner(data),
        )

    def stop(self) -> None:
        stop_postgres(self.home)

    def remove(self) -> None:
        """Stop the server and delete its data."""
        self.stop()
        shutil.rmtree(self.home, ignore_errors=True)
