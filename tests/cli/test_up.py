"""`stocksync up` on embedded defaults: it gets ready, and leaves nothing after Ctrl-C; no
password on any command line, and nothing in STOCKSYNC_HOME for anyone else to read."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
import requests

from embedded.ports import free_port
from tests.support.stack import wait_for


def _children(pid: int) -> set[int]:
    """Every live descendant of `pid`, read from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


def _settled_tree(pid: int, timeout: float = 20.0) -> set[int]:
    """The process tree once it stops changing (pools start after their parents)."""
    deadline = time.monotonic() + timeout
    tree, stable_since = _children(pid), time.monotonic()
    while time.monotonic() - stable_since < 1.0 and time.monotonic() < deadline:
        time.sleep(0.1)
        current = _children(pid)
        if current != tree:
            tree, stable_since = current, time.monotonic()
    return tree


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def home() -> Iterator[Path]:
    """A STOCKSYNC_HOME outside pytest's tmp_path: run as root, pgserver runs postgres
    as its own user, which must pass through every folder above the data directory,
    and pytest makes /tmp/pytest-of-<user> 0700 again whenever a session starts."""
    parent = Path(tempfile.mkdtemp(prefix="stocksync-up-"))
    try:
        yield parent / "home"
    finally:
        shutil.rmtree(parent, ignore_errors=True)


@contextmanager
def _up(home: Path, output: Path, **extra: str) -> Iterator[subprocess.Popen[bytes]]:
    """`stocksync up` on embedded servers under `home`, as an operator runs it; Ctrl-C
    (SIGINT) at the end if the test did not stop it."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env |= {
        "STOCKSYNC_HOME": str(home),
        "STOCKSYNC_ENCRYPTION_KEY": "",
        **extra,
    }
    with output.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "up"], env=env, stdout=out, stderr=out
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:  # a failed assertion: still stop it cleanly
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()


def _wait_ready(url: str, proc: subprocess.Popen[bytes], seen: set[int] | None = None) -> None:
    """Until `url` answers below 500, noting the tree of `proc` on the way. The bound
    only stops a hung test: speed is measured in bench/, not here (the machine is
    shared, and a first start runs initdb and every migration)."""
    started = time.monotonic()
    while time.monotonic() - started < 120:
        assert proc.poll() is None, "stocksync up exited while starting"
        if seen is not None:
            seen |= _children(proc.pid)
        try:
            if requests.get(url, timeout=1).status_code < 500:
                return
        except requests.RequestException:
            # Not listening yet, or gunicorn's workers still booting.
            time.sleep(0.2)
    raise AssertionError(f"{url} not ready within 120 s")


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGHUP], ids=["ctrl-c", "hangup"])
def test_up_gets_ready_and_ctrl_c_leaves_no_process(
    tmp_path: Path, home: Path, stop: signal.Signals
) -> None:
    """Ctrl-C, or the terminal closing (SIGHUP), stops every process and the embedded
    servers `up` started."""
    port, flower_port = free_port(), free_port()
    seen: set[int] = set()
    output = tmp_path / "up.log"
    with _up(home, output, PORT=str(port), FLOWER_PORT=str(flower_port), ADMIN_TOKEN="") as proc:
        _wait_ready(f"http://127.0.0.1:{port}/readyz", proc, seen)
        assert requests.get(f"http://127.0.0.1:{port}/readyz", timeout=5).ok
        # The embedded setup made an admin token, printed it with the URLs, and the
        # admin API takes it.
        wait_for(lambda: "Ctrl-C stops everything." in output.read_text(), timeout=30)
        token = (home / "admin.token").read_text().strip()
        assert stat.S_IMODE((home / "admin.token").stat().st_mode) == 0o600
        assert f"  dashboard  http://127.0.0.1:{port}/  admin token {token} " in output.read_text()
        overview = f"http://127.0.0.1:{port}/api/overview"
        auth = {"Authorization": f"Bearer {token}"}
        assert requests.get(overview, headers=auth, timeout=5).status_code == 200
        assert requests.get(overview, timeout=5).status_code == 401
        seen |= _settled_tree(proc.pid)
        assert len(seen) >= 5  # web, relay, worker, beat, flower and their pools
        proc.send_signal(stop)
        assert proc.wait(timeout=60) == 0
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in seen) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in seen if _alive(pid)]
    # The embedded servers it started are stopped too.
    assert not (home / "postgres" / "postmaster.pid").exists()
    from embedded.redis import running_port

    assert running_port(home) is None


def _server_pids(home: Path) -> set[int]:
    """The embedded servers, daemons outside `up`'s tree: redis and every postgres."""
    redis_pid = int((home / "redis" / "redis.pid").read_text())
    postmaster = int((home / "postgres" / "postmaster.pid").read_text().split()[0])
    return {redis_pid, postmaster, *_children(postmaster)}


def _not_private(home: Path) -> list[str]:
    """Everything under `home` that group or other may read, write or enter; `home`
    itself as root may be 0711 (embedded/postgres.py: pgserver's user passes through)."""
    wide = []
    for folder, folders, files in os.walk(home):
        for path in [Path(folder) / name for name in folders + files]:
            mode = path.lstat().st_mode
            # A socket's own mode is moot: its folder (0700) is what guards it.
            if not stat.S_ISSOCK(mode) and mode & 0o077:
                wide.append(f"{path} {stat.filemode(mode)}")
    allowed = 0o011 if os.geteuid() == 0 else 0
    if home.stat().st_mode & 0o077 & ~allowed:
        wide.append(f"{home} {stat.filemode(home.stat().st_mode)}")
    return wide


@pytest.mark.slow
def test_up_keeps_passwords_off_command_lines_and_its_home_private(
    tmp_path: Path, home: Path
) -> None:
    port, flower_port = free_port(), free_port()
    flower_password = secrets.token_urlsafe(12)
    output = tmp_path / "up.log"
    flower = f"http://127.0.0.1:{flower_port}"
    with _up(
        home,
        output,
        PORT=str(port),
        FLOWER_PORT=str(flower_port),
        FLOWER_BASIC_AUTH=f"ops:{flower_password}",
    ) as proc:
        _wait_ready(f"http://127.0.0.1:{port}/readyz", proc)
        _wait_ready(flower, proc)
        redis_password = (home / "redis" / "password").read_text().strip()
        assert len(redis_password) >= 32

        pids = {proc.pid} | _settled_tree(proc.pid) | _server_pids(home)
        for pid in pids:
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode()
            except OSError:
                continue  # a pool process that ended meanwhile
            assert flower_password not in cmdline, cmdline
            assert redis_password not in cmdline, cmdline

        # Flower still asks for its password, and takes it.
        assert requests.get(flower, timeout=5).status_code == 401
        auth = ("ops", flower_password)
        assert requests.get(f"{flower}/workers", auth=auth, timeout=5).status_code == 200
        assert requests.get(flower, auth=("ops", "wrong"), timeout=5).status_code == 401
        # Flower shows the broker's URL masked: on its pages, and in the worker's
        # configuration (Celery censors broker_url). The whole settings object that
        # workers/app.py also puts in that configuration is issue 19 item 1, not here.
        worker = f"stocksync@{socket.gethostname()}"

        def worker_conf() -> dict[str, object] | None:
            answer = requests.get(f"{flower}/api/workers?refresh=1", auth=auth, timeout=30)
            conf = answer.json().get(worker, {}).get("conf")
            return conf if isinstance(conf, dict) else None

        wait_for(lambda: worker_conf() is not None, 60, "Flower to show the worker")
        conf = worker_conf()
        assert conf is not None and "127.0.0.1" in str(conf["broker_url"])
        assert redis_password not in str(conf["broker_url"])
        for page in ("/", "/workers", "/broker", "/tasks"):
            answer = requests.get(f"{flower}{page}", auth=auth, timeout=30)
            assert answer.status_code != 401 and redis_password not in answer.text, page

        # The embedded Redis refuses a client without the password.
        redis_port = int((home / "redis" / "port").read_text())
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(host="127.0.0.1", port=redis_port).ping()

        assert _not_private(home) == []
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
    printed = output.read_text(errors="replace")
    assert flower_password not in printed and redis_password not in printed
