"""The demo from start to summary (README, "The two commands").

PostgreSQL and Redis (embedded unless configured), a Business Central sandbox and
three store sandboxes holding the same SKUs at drifted quantities, each on its
platform's default limits and pace sped up (demo/pace.py), the source and the sites
registered with the budgets those allow, then the processes `stocksync up` runs. Then
the nightly full sync of the three sites with live progress, the real-time path
(demo/realtime.py), and a summary read back from the rows and the sandboxes. Exit
status 0 only if every store ends equal to the ERP.
"""

from __future__ import annotations

import secrets
import time
from contextlib import ExitStack
from dataclasses import dataclass, field, replace

from sqlalchemy.orm import Session, sessionmaker

from demo import fullsync, realtime, report, summary
from demo.pace import Pace
from demo.platforms import ERP, STORES, Sandbox, start_sandbox
from demo.processes import LoggedSupervisor, port_or_free, stack_supervisor, wait_ready
from demo.registration import Registered, free_prefix, register, remove
from demo.watch import ErpChanges
from embedded.postgres import stop_postgres
from embedded.redis import stop_redis
from embedded.runtime import resolve
from embedded.stack import embedded_running
from models import migrate
from sandbox.accounts import new_account
from settings import Settings
from workers.context import client_context


@dataclass(frozen=True)
class Options:
    items: int = 20_000
    drift: float = 0.1
    changes: int = 200
    workers: int = 4
    keep: bool = False
    pace: Pace = field(default_factory=Pace)
    #: Longest the full syncs, then the real-time path, may take before the demo fails
    #: at the default speed (`Pace.timeout`).
    sync_timeout: float = 600.0
    settle_timeout: float = 120.0


def say(text: str) -> None:
    print(text, flush=True)


def run_demo(configured: Settings, options: Options) -> int:
    """Run the demo; the exit status (0: every store equals the ERP)."""
    started = time.monotonic()
    pg_before, redis_before = embedded_running(configured.home)
    say("starting PostgreSQL and Redis" + (" (embedded)" if not configured.database_url else ""))
    try:
        settings = _stack_settings(resolve(configured), options)
        assert settings.database_url
        migrate.upgrade(settings.database_url)
        with ExitStack() as stack:
            code = _run(settings, options, stack, started)
    finally:
        # Only the embedded servers this command started, as `stocksync up` does.
        stop_pg = configured.database_url is None and not pg_before
        stop_rd = configured.redis_url is None and not redis_before
        if stop_pg or stop_rd:
            say("stopping the embedded PostgreSQL and Redis")
        if stop_pg:
            stop_postgres(configured.home)
        if stop_rd:
            stop_redis(configured.home)
    if not options.keep:
        say("\n".join(next_steps(keep=False)))  # the last thing on screen
    return code


def _stack_settings(settings: Settings, options: Options) -> Settings:
    return replace(
        settings,
        web_port=port_or_free(settings.web_port),
        flower_port=port_or_free(settings.flower_port),
        worker_concurrency=options.workers,
        admin_token=settings.admin_token or secrets.token_urlsafe(32),
        log_level="WARNING" if settings.log_level == "INFO" else settings.log_level,
    )


def _run(settings: Settings, options: Options, stack: ExitStack, started: float) -> int:
    assert settings.database_url and settings.admin_token
    ctx = client_context(settings)
    stack.callback(ctx.dispose)
    sessions = ctx.sessions
    pace = options.pace

    say(
        f"starting the sandboxes: Business Central with {options.items:,} items, "
        f"{', '.join(STORES)} with the same SKUs ({options.drift:.0%} at other quantities)"
    )
    say("\n".join(pace.describe((ERP, *STORES))))
    accounts = {p: new_account(p) for p in (ERP, *STORES)}
    sandboxes = {ERP: start_sandbox(stack, accounts[ERP], options.items, **pace.knobs(ERP))}
    for platform in STORES:
        sandboxes[platform] = start_sandbox(
            stack, accounts[platform], options.items, options.drift, **pace.knobs(platform)
        )
    quotas = {platform: pace.quota(platform) for platform in sandboxes}
    registered = register(
        ctx, free_prefix(ctx, ["erp", *STORES]), accounts, sandboxes, quotas=quotas
    )
    stack.callback(remove, ctx, registered)
    say(
        f"registered source {registered.source_name} and sites "
        f"{', '.join(registered.site_names.values())}"
    )

    web = f"http://{settings.web_host}:{settings.web_port}"
    log = settings.home / "demo" / "stack.log"
    supervisor = stack_supervisor(
        settings, log, flower=options.keep, admin_token=settings.admin_token
    )
    stack.callback(supervisor.stop)
    supervisor.start()
    wait_ready(f"{web}/readyz", supervisor)
    workers = f"worker ({options.workers} processes), events worker"
    say(f"stack up: web, relay, {workers}, beat; logs in {log}")

    stores = {p: sandboxes[p] for p in STORES}
    platforms = realtime.Platforms(sandboxes[ERP], stores, accounts, registered, web)
    realtime.point_webhooks(platforms, [ERP])
    for store in stores.values():
        store.reset_stats()
    say("\nfull sync of the three sites (tonight's 02:00 run, started now):")
    runs = fullsync.start_full_syncs(ctx, registered.site_ids)
    sync_timeout = pace.timeout(options.sync_timeout)
    fullsync.follow_runs(sessions, runs, registered.site_names, supervisor, sync_timeout)
    requests_made = {p: _requests(store) for p, store in stores.items()}

    say("\nreal-time path: store webhooks on; orders, ERP changes, duplicates, a forgery...")
    realtime.point_webhooks(platforms, STORES)
    changes = ErpChanges(registered.site_ids)
    sent = realtime.drive(platforms, changes, options.changes)
    say(f"sent; waiting for the stores to take the ERP's {len(sent.erp_skus)} new values")
    settle_timeout = pace.timeout(options.settle_timeout)
    latencies = changes.wait(sessions, settle_timeout)
    _settle(sessions, registered, supervisor, settle_timeout)

    syncs = summary.site_syncs(sessions, runs, requests_made)
    hooks = summary.webhooks(sessions, registered)
    differing = summary.differences(sandboxes[ERP], stores)
    lines = [
        "",
        f"== summary ({time.monotonic() - started:.0f} s) ==",
        *report.full_sync(syncs, registered.site_names),
        *report.realtime(sent, hooks, latencies, len(changes), settings.dedupe_window_seconds),
        *report.equality(differing, len(sandboxes[ERP].stock())),
    ]
    say("\n".join(lines))
    code = 0 if not any(differing.values()) else 1
    if options.keep:
        say("\n".join(next_steps(keep=True)))
        _keep(settings, web, supervisor, sandboxes)
    return code


def _requests(store: Sandbox) -> tuple[int, int]:
    """(requests the store answered since its stats were reset, refused for its quota)."""
    stats = store.stats()
    return int(stats["calls"]), int(stats["rejected_429"])


def next_steps(keep: bool) -> list[str]:
    """What to do after the demo (README, "Getting started")."""
    lines = ["", "what next:"]
    if not keep:
        lines.append(
            "  see it live: make demo ARGS=--keep  (the dashboard, Flower and the sandboxes "
            "stay up until Ctrl-C)"
        )
    lines += [
        "  run it for your own stores: make up, then connect your ERP and stores with "
        "stocksync sources add / sites add (README, Getting started)",
        "  the demo's sites and source are removed when it ends; your own are not touched",
    ]
    return lines


def _settle(
    sessions: sessionmaker[Session],
    registered: Registered,
    supervisor: LoggedSupervisor,
    timeout: float,
) -> None:
    """Wait until no accepted event is left unprocessed and no new ones arrive.

    The stores echo stocksync's own writes as webhooks (BigCommerce and Shopify do,
    docs/platforms.md sections 3 and 5), so the log keeps growing a little after the last
    store value changed; the summary counts them too.
    """
    deadline = time.monotonic() + timeout
    last = -1
    while time.monotonic() < deadline:
        supervisor.check()
        hooks = summary.webhooks(sessions, registered)
        if hooks.pending == 0 and hooks.received == last:
            return
        last = hooks.received
        time.sleep(1.5)


def _keep(
    settings: Settings, web: str, supervisor: LoggedSupervisor, sandboxes: dict[str, Sandbox]
) -> None:
    say("\n--keep: the stack stays up until Ctrl-C")
    say(f"  dashboard  {web}/  (admin token: {settings.admin_token})")
    say(f"  admin API  {web}/api/overview  (Authorization: Bearer <admin token>)")
    say(f"  Flower     http://127.0.0.1:{settings.flower_port}")
    for platform, sandbox in sandboxes.items():
        say(f"  {platform:<16} {sandbox.url}/_sandbox/stock")
    supervisor.wait()
