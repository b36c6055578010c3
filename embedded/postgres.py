"""The embedded PostgreSQL: pgserver's binaries, a data directory under STOCKSYNC_HOME.

pgserver listens on a unix socket only (no TCP port to collide with), and when run as
root it runs the server as a `pgserver` system user, which it creates.

The data directory is private, as PostgreSQL itself requires (0700), and so is what
pgserver writes beside PostgreSQL's own files (embedded/private.py). As root, pgserver
opens every folder above the data directory to everyone (g+rx, o+rx) so that its user
can reach it; we give STOCKSYNC_HOME its own mode back at once, plus the search bits
its user needs (a private 0700 home becomes 0711: passable, not listable), never taking
away a bit it had before (a home that is a shared folder stays as it was).
"""

from __future__ import annotations

import logging
import os
import stat
import warnings
from pathlib import Path
from types import ModuleType

import psycopg2

from embedded.locking import file_lock
from embedded.private import private_dir, private_umask

log = logging.getLogger(__name__)

DATABASE = "stocksync"


def _data_dir(home: Path) -> Path:
    return home / "postgres"


def _pgserver() -> ModuleType:
    """pgserver, imported without its warning on every command.

    Importing it asks platformdirs for a user runtime folder (a class attribute of
    `pgserver.PostgresServer`: its cross-process lock lives there), and platformdirs
    warns `RuntimeDirWarning: XDG_RUNTIME_DIR is not set, falling back to /tmp/runtime-<uid>`
    whenever the variable is unset, as it is under ssh, cron, su and in containers. The
    fallback is a private folder it checks itself, which is all pgserver needs, so the
    warning says nothing an operator can act on; it is silenced for this import only.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        import pgserver
        import pgserver.postgres_server  # its module-level code is what warns

    return pgserver


def ensure_postgres(home: Path, database: str = DATABASE) -> str:
    """Start (or reuse) the embedded server; return a psycopg2 URL to `database`."""
    pgserver = _pgserver()
    with file_lock(home / "postgres.lock"):
        before = stat.S_IMODE(private_dir(home).stat().st_mode)
        with private_umask():
            server = pgserver.get_server(_data_dir(home), cleanup_mode=None)
        if os.geteuid() == 0:
            # Module docstring: pgserver opened it to everyone; its user needs only +x.
            os.chmod(home, before | 0o011)  # noqa: S103 - narrower than pgserver left it
        uri = server.get_uri()
        _create_database(uri, database)
    base, _, query = uri.partition("?")
    base = base.rsplit("/", 1)[0]
    url = f"{base}/{database}?{query}"
    return url.replace("postgresql://", "postgresql+psycopg2://", 1)


def _create_database(admin_uri: str, database: str) -> None:
    conn = psycopg2.connect(admin_uri)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
            if cur.fetchone() is None:
                cur.execute(f'CREATE DATABASE "{database}"')
    finally:
        conn.close()


def postgres_running(home: Path) -> bool:
    """Whether the embedded server under `home` runs (its postmaster answers signals)."""
    _pgserver()
    from pgserver.postgres_server import PostmasterInfo

    data = _data_dir(home)
    info = PostmasterInfo.read_from_pgdata(data) if data.exists() else None
    return info is not None and bool(info.is_running())


def stop_postgres(home: Path) -> bool:
    """Stop the embedded server if it runs; True if it was running."""
    _pgserver()  # first, so its import does not warn (`_pgserver`)
    # pgserver builds its command wrappers at import time, so mypy cannot see them.
    from pgserver._commands import pg_ctl  # type: ignore[attr-defined]
    from pgserver.postgres_server import PostmasterInfo

    data = _data_dir(home)
    info = PostmasterInfo.read_from_pgdata(data) if data.exists() else None
    if info is None or not info.is_running():
        return False
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=data, user=data_owner(data))
    log.info("embedded postgres stopped", extra={"data_dir": str(data)})
    return True


def data_owner(data: Path) -> str | None:
    """The system user pgserver runs postgres as (it refuses to run it as root)."""
    import pwd

    if os.geteuid() != 0:
        return None
    return pwd.getpwuid(data.stat().st_uid).pw_name
