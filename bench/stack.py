"""The parts of a running system the full-sync and latency benchmarks share: an ERP and
a store sandbox registered as a source and its site, a real Celery worker process, and
the memory of a process tree read from /proc.

The sandboxes and the registration are the demo's (demo/platforms.py,
demo/registration.py), so the benchmarks measure the setup a user sees in `make demo`.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from subprocess import Popen
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bench.common import child_env, gunicorn, process
from demo.platforms import ERP, Sandbox, start_sandbox
from demo.registration import PLATFORM_DEFAULTS, SANDBOX_QUOTA, Registered, register
from embedded.ports import free_port
from models import SyncRun
from sandbox.accounts import Account, new_account
from sandbox.catalog import store_quantity
from sandbox.profiles import PROFILES
from settings import Settings
from sync.context import Context
from sync.sites import add_site, update_site
from sync.sources import add_source, update_source
from workers.app import make_celery

#: Seconds a worker may take to import everything and answer a ping.
WORKER_READY_TIMEOUT = 60.0


@dataclass(frozen=True)
class SandboxSite:
    erp: Sandbox
    store: Sandbox
    accounts: dict[str, Account]
    registered: Registered

    @property
    def site_id(self) -> int:
        return self.registered.site_ids[self.store.platform]


def sandbox_site(
    stack: ExitStack,
    ctx: Context,
    platform: str,
    *,
    items: int,
    drift: float = 0.1,
    latency_ms: float = 0.0,
    profiled: bool = False,
) -> SandboxSite:
    """An ERP and a `platform` store with `items` SKUs (`drift` of them differing), both
    answering every API call after `latency_ms`, registered as a source and its site.
    `profiled`: each sandbox instead enforces its platform's default limits at its pace
    (`sandbox.profiles`), and the rows keep the platforms' default budgets."""
    sandboxes, accounts, registered = sandbox_sites(
        stack, ctx, [platform], items=items, drift=drift, latency_ms=latency_ms, profiled=profiled
    )
    return SandboxSite(sandboxes[ERP], sandboxes[platform], accounts, registered)


def sandbox_sites(
    stack: ExitStack,
    ctx: Context,
    platforms: Sequence[str],
    *,
    items: int,
    drift: float = 0.1,
    latency_ms: float = 0.0,
    profiled: bool = False,
) -> tuple[dict[str, Sandbox], dict[str, Account], Registered]:
    """`sandbox_site` with one store per platform of `platforms`, all sites of the one
    source: the sandboxes (the ERP's under `ERP`), their accounts and the registration."""
    accounts = {p: new_account(p) for p in (ERP, *platforms)}

    def knobs(platform: str) -> dict[str, Any]:
        return PROFILES[platform].knobs() if profiled else {"latency_ms": latency_ms}

    sandboxes = {ERP: start_sandbox(stack, accounts[ERP], items, **knobs(ERP))}
    for platform in platforms:
        sandboxes[platform] = start_sandbox(
            stack, accounts[platform], items, drift, **knobs(platform)
        )
    quota = PLATFORM_DEFAULTS if profiled else SANDBOX_QUOTA
    return sandboxes, accounts, register(ctx, "bench", accounts, sandboxes, quota=quota)


@dataclass(frozen=True)
class Fleet:
    """One ERP sandbox and many store sandboxes, all sites of its one source."""

    erp: Sandbox
    stores: list[Sandbox]
    source_id: int
    site_ids: list[int]


def sandbox_fleet(
    stack: ExitStack,
    ctx: Context,
    erp: str,
    platforms: Sequence[str],
    *,
    items: int,
    drift: float = 0.1,
    latency_ms: float = 0.0,
    prefix: str = "bench",
) -> Fleet:
    """`sandbox_sites` for several stores of the same platform: `register` keys sites by
    platform, so here each store gets its own account and a site named by its index.
    Registered through the same services (`add_source`, `add_site`) with the demo's
    quota, so the budgets are not what is measured. `prefix` begins the source's and the
    sites' names, which are unique: a fleet beside a `sandbox_site` (whose source is
    `bench-erp`) needs another."""
    erp_account = new_account(erp)
    erp_box = start_sandbox(stack, erp_account, items, latency_ms=latency_ms)
    source = add_source(
        ctx,
        name=f"{prefix}-erp",
        kind=erp,
        base_url=erp_box.url,
        credentials=erp_account.stored_credentials(erp_box.url),
        webhook_secret=erp_account.receiver_secret(),
    )
    update_source(ctx, source["id"], SANDBOX_QUOTA)
    stores, site_ids = [], []
    for index, platform in enumerate(platforms):
        account = new_account(platform)
        box = start_sandbox(stack, account, items, drift, latency_ms)
        site = add_site(
            ctx,
            name=f"{prefix}-{index}-{platform}",
            platform=platform,
            base_url=box.url,
            source=source["id"],
            credentials=account.stored_credentials(box.url),
            webhook_secret=account.receiver_secret(),
        )
        update_site(ctx, site["id"], SANDBOX_QUOTA)
        stores.append(box)
        site_ids.append(site["id"])
    return Fleet(erp_box, stores, source["id"], site_ids)


def wait_run(
    sessions: sessionmaker[Session], run_id: int, timeout: float, cut: bool = False
) -> SyncRun:
    """Until the run has finished, or (with `cut`) has its batches cut and queued."""
    return wait_runs(sessions, [run_id], timeout, cut)[0]


def wait_runs(
    sessions: sessionmaker[Session], run_ids: Sequence[int], timeout: float, cut: bool = False
) -> list[SyncRun]:
    """Until every run has finished, or (with `cut`) until one of them has its batches
    cut and queued or has finished; the runs, in `run_ids`' order. One query a poll,
    however many runs: a night of 50 polled run by run would load the database it
    measures."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with sessions() as session:
            found = session.scalars(select(SyncRun).where(SyncRun.id.in_(run_ids)))
            by_id = {run.id: run for run in found}
        runs = [by_id[run_id] for run_id in run_ids]
        if (any if cut else all)(_ended(run, cut) for run in runs):
            return runs
        time.sleep(0.1)
    raise RuntimeError(f"runs {list(run_ids)} did not finish within {timeout:.0f} s")


def _ended(run: SyncRun, cut: bool) -> bool:
    """The run has finished, or (with `cut`) at least cut its batches."""
    return run.finished_at is not None or (cut and run.batches_total > 0)


def redrift(site: SandboxSite, drift: float) -> int:
    """Put the store back to its seeded stock, `drift` of it differing from the ERP's
    seed, so a second sync has the same work to do; how many SKUs that changed."""
    stock = site.store.stock()
    changes = {
        sku: seeded
        for sku, quantity in stock.items()
        if (seeded := store_quantity(sku, drift)) != quantity
    }
    put_stock(site.store, changes)
    return len(changes)


def put_stock(sandbox: Sandbox, changes: Mapping[str, int]) -> None:
    """Set `changes` through the control route, 5,000 SKUs a request."""
    pairs = list(changes.items())
    for start in range(0, len(pairs), 5000):
        sandbox.set_stock(dict(pairs[start : start + 5000]))


@contextmanager
def celery_worker(
    settings: Settings, concurrency: int, log: Path, queues: str = "events,sync,maintenance"
) -> Iterator[Popen[bytes]]:
    """`celery -A workers worker` on `queues` (every queue, as `stocksync up` runs its
    main worker), once it answers a ping (so timings do not include its start-up)."""
    argv = [sys.executable, "-m", "celery", "-A", "workers", "worker"]
    argv += ["-Q", queues, "--concurrency", str(concurrency)]
    node = f"bench-{queues.replace(',', '-')}-{os.getpid()}@{socket.gethostname()}"
    argv += ["--loglevel", "WARNING", "-n", node]
    env = child_env(settings, WORKER_CONCURRENCY=str(concurrency))
    celery = make_celery(settings)
    try:
        with process(argv, env, log=log) as proc:
            deadline = time.monotonic() + WORKER_READY_TIMEOUT
            while not celery.control.ping([node], timeout=0.5):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the worker did not start (see {log})")
            yield proc
    finally:
        celery.close()


def live_services(stack: ExitStack, settings: Settings, concurrency: int, worker_log: str) -> str:
    """The receiver (gunicorn, as deployed), the relay, a main worker of `concurrency`
    processes and the events worker of `settings.events_concurrency` (as `stocksync
    up` runs them), until `stack` closes; the receiver's base URL. Logs under the home."""
    port = free_port()
    receiver = f"http://127.0.0.1:{port}"
    env, home = child_env(settings), settings.home
    stack.enter_context(
        process(gunicorn("api.wsgi:app", port), env, f"{receiver}/readyz", home / "web.log")
    )
    relay = [sys.executable, "-m", "cli.main", "relay"]
    stack.enter_context(process(relay, env, log=home / "relay.log"))
    stack.enter_context(celery_worker(settings, concurrency, home / worker_log))
    events_log = home / f"events-{worker_log}"
    stack.enter_context(celery_worker(settings, settings.events_concurrency, events_log, "events"))
    return receiver


def _tree(pid: int) -> list[int]:
    """`pid` and all its descendants (prefork children, their threads' processes)."""
    pids, index = [pid], 0
    while index < len(pids):
        current = pids[index]
        index += 1
        try:
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            # The process ended between two reads: it holds no memory any more.
            continue
        pids.extend(int(child) for child in children)
    return pids


def _kib(path: str, field: str) -> int:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1])
    except OSError:
        # The process ended between listing and reading it.
        return 0
    return 0


class TreeMemory:
    """Samples a process tree's memory every `interval` s in a thread; keeps the peaks.

    RSS summed over the tree counts the pages prefork children share with their parent
    once per process, so it overstates; PSS (each shared page divided among its users)
    is what the tree really costs the machine. Both are kept.
    """

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        self.pid = pid
        self.interval = interval
        self.peak_rss_mb = 0.0
        self.peak_pss_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory", daemon=True)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while True:
            pids = _tree(self.pid)
            rss = sum(_kib(f"/proc/{p}/status", "VmRSS:") for p in pids) / 1024
            pss = sum(_kib(f"/proc/{p}/smaps_rollup", "Pss:") for p in pids) / 1024
            self.peak_rss_mb = max(self.peak_rss_mb, rss)
            self.peak_pss_mb = max(self.peak_pss_mb, pss)
            if self._stop.wait(self.interval):
                return
