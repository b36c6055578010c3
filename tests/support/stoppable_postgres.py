"""A real PostgreSQL a test can stop and start again (outage tests), never the shared one.

The embedded server (pgserver's binaries) with its own data directory: it listens on a
unix socket in that directory only, so stopping it touches no other test session.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from embedded.postgres import data_owner, ensure_postgres, stop_postgres
from models.db import make_engine, make_sessionmaker
from models.migrate import upgrade


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

    def freeze(self) -> None:
        """SIGSTOP the server and every backend (a hung host, a stuck disk): connections
        stay open and nothing answers, which no connection refusal tells a client.

        The postmaster first, so it forks no backend after the list of its children is
        read. Why not its process group: each backend calls setsid(), a group its own."""
        postmaster = self._postmaster()
        os.kill(postmaster, signal.SIGSTOP)
        for child in _children(postmaster):
            os.kill(child, signal.SIGSTOP)

    def thaw(self) -> None:
        """SIGCONT what `freeze` stopped (harmless on a server that runs or is stopped)."""
        pid_file = self.home / "postgres" / "postmaster.pid"
        if not pid_file.exists():
            return
        postmaster = self._postmaster()
        for child in _children(postmaster):
            os.kill(child, signal.SIGCONT)
        os.kill(postmaster, signal.SIGCONT)

    def _postmaster(self) -> int:
        return int((self.home / "postgres" / "postmaster.pid").read_text().split()[0])

    def remove(self) -> None:
        """Stop the server and delete its data."""
        self.stop()
        shutil.rmtree(self.home, ignore_errors=True)


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid`, read from /proc (Linux)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # The field after the parenthesised command name is the state, then the ppid.
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue  # exited meanwhile
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


@contextmanager
def private_postgres() -> Iterator[tuple[StoppablePostgres, sessionmaker[Session]]]:
    """A PostgreSQL of one test alone, migrated, and a session factory on it; thawed
    and removed afterwards whatever the test left it in."""
    server = StoppablePostgres()
    server.start()
    upgrade(server.url)
    engine = make_engine(server.url)
    try:
        yield server, make_sessionmaker(engine)
    finally:
        server.thaw()
        engine.dispose()
        server.remove()
