"""A sandbox served from a child process goes away with its parent, however it ends."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import requests

#: Serves a WooCommerce sandbox from a child process, prints its URL, waits to be killed.
PARENT = """
import sys
from sandbox.base import SandboxConfig
from sandbox.server import running_in_subprocess
with running_in_subprocess("woocommerce", SandboxConfig(items=10)) as url:
    print(url, flush=True)
    sys.stdin.read()
"""


def test_a_child_sandbox_stops_serving_when_its_parent_is_killed() -> None:
    """A SIGKILLed demo or benchmark must not leave its sandboxes serving."""
    root = Path(__file__).resolve().parents[2]
    # stderr dropped: once the parent is killed, its multiprocessing resource tracker
    # frees the semaphores it left and warns about each.
    with subprocess.Popen(
        [sys.executable, "-c", PARENT],
        cwd=root,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    ) as parent:
        assert parent.stdout is not None
        url = parent.stdout.readline().decode().strip()
        assert url.startswith("http://"), "the parent did not start its sandbox"
        assert requests.get(f"{url}/_sandbox/stats", timeout=5).status_code == 200
        parent.kill()
    deadline = time.monotonic() + 10
    while True:
        try:
            requests.get(f"{url}/_sandbox/stats", timeout=1)
        except requests.ConnectionError:
            return
        assert time.monotonic() < deadline, "the orphaned sandbox is still serving"
        time.sleep(0.1)
