"""`stocksync sync`: the live progress of a real run (sandbox store and ERP, a real
worker), and the exit code of a run that fails."""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest
import redis
from celery import Celery
from click.testing import CliRunner, Result
from rich.console import Console
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cli.main import cli
from cli.sync import bars, explain, follow, interrupted, render
from embedded.ports import free_port
from models import BatchStatus, RunStatus, SyncBatch, SyncRun
from models.crypto import Vault
from models.db import transaction
from settings import Settings
from sync.consumers import HEARTBEATS, QUEUES_OF, SYNC_QUEUE, worker_running
from sync.progress import Progress, run_progress
from tests.factories import make_site, make_source
from tests.factories.sync import make_batches, run_row
from tests.support.stack import FAST, installed_context, sandbox_stack, workers
from workers import presets
from workers.app import make_celery

ITEMS = 4000
LINE = re.compile(r"run \d+ shop: (?P<done>[\d,]+)/(?P<total>[\d,]+) .* (?P<status>\w+)$")


@pytest.fixture
def env(settings: Settings) -> dict[str, str]:
    assert settings.database_url and settings.redis_url
    return {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "STOCKSYNC_ENCRYPTION_KEY": settings.encryption_keys[0],
    }


@pytest.fixture
def app(settings: Settings, redis_client: redis.Redis) -> Iterator[Celery]:
    """Small batches, so a run of a few seconds moves in many steps."""
    settings = replace(settings, batch_size=250)
    with installed_context(settings, **FAST):
        yield make_celery(settings)


def _sync(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli, ["sync", *args], env=env, catch_exceptions=False)


def _numbers(text: str) -> int:
    return int(text.replace(",", ""))


@pytest.mark.slow
def test_progress_lines_climb_to_the_total_and_exit_0(
    app: Celery, env: dict[str, str], db: sessionmaker[Session], vault: Vault
) -> None:
    store = {"latency_ms": 100}
    with sandbox_stack(db, vault, "bigcommerce", items=ITEMS, store=store), workers(app):
        result = _sync(env, "shop")

    assert result.exit_code == 0, result.output
    lines = [m for m in map(LINE.search, result.output.splitlines()) if m]
    done = [_numbers(m["done"]) for m in lines]
    assert len(lines) >= 3, result.output  # it printed progress while the run went on
    assert done == sorted(done) and len(set(done)) >= 3
    assert done[-1] == _numbers(lines[-1]["total"]) == ITEMS
    assert lines[-1]["status"] == "completed"
    assert "rate" in result.output and "ETA" in result.output and "pending" in result.output


@pytest.mark.slow
def test_a_run_that_fails_exits_1(
    app: Celery, env: dict[str, str], db: sessionmaker[Session], vault: Vault
) -> None:
    with sandbox_stack(db, vault, "shopify", items=200) as stack, workers(app):
        stack.store.set_faults(outage=True)  # the catalog cannot be read: the run fails
        result = _sync(env, "shop", "--json")

    assert result.exit_code == 1, result.output
    final = json.loads(result.output.splitlines()[-1])
    assert final["status"] == "failed" and final["site"] == "shop"


def test_no_wait_starts_and_a_second_start_is_refused(
    env: dict[str, str], db: sessionmaker[Session], vault: Vault, redis_client: redis.Redis
) -> None:
    with sandbox_stack(db, vault, "woocommerce", items=10):
        first = _sync(env, "shop", "--no-wait", "--json")
        second = _sync(env, "shop", "--no-wait")
        everything = _sync(env, "--all", "--no-wait", "--json")

    assert first.exit_code == 0, first.output
    run_id = json.loads(first.output)["started"][0]["run_id"]
    assert second.exit_code == 1 and f"already has run {run_id} queued" in second.output
    assert json.loads(everything.output)["started"] == []
    assert _sync(env).exit_code == 2  # neither a site nor --all


def test_a_start_with_redis_down_exits_1_naming_it_and_fails_the_run(
    env: dict[str, str], db: sessionmaker[Session], vault: Vault
) -> None:
    """One line, no traceback; the run is failed, so a start after the outage is not
    refused as "already queued"."""
    down = {**env, "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    with sandbox_stack(db, vault, "woocommerce", items=10):
        result = _sync(down, "shop", "--no-wait")
        again = _sync(env, "shop", "--no-wait")

    assert result.exit_code == 1
    assert result.output.startswith("Error: the broker cannot be reached")
    assert "Traceback" not in result.output
    with db() as session:
        first = session.scalars(select(SyncRun).order_by(SyncRun.id)).first()
        assert first is not None and first.status == RunStatus.FAILED
        assert first.error is not None and first.error.startswith("could not be queued")
    assert again.exit_code == 0, again.output


@pytest.mark.slow
def test_a_failed_run_prints_its_error_not_just_failed(
    app: Celery, env: dict[str, str], db: sessionmaker[Session], vault: Vault
) -> None:
    with sandbox_stack(db, vault, "shopify", items=200) as stack, workers(app):
        stack.store.set_faults(outage=True)  # the catalog cannot be read: the run fails
        result = _sync(env, "shop")

    assert result.exit_code == 1, result.output
    with db() as session:
        run = session.scalars(select(SyncRun)).one()
    assert run.status == RunStatus.FAILED and run.error
    assert f"run {run.id} shop failed\n  error: {run.error}\n" in result.output


def test_with_no_worker_sync_says_so_and_exits_1(
    env: dict[str, str],
    db: sessionmaker[Session],
    vault: Vault,
    redis_client: redis.Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Not `queued` forever: after the grace a worker needs for its first heartbeat."""
    monkeypatch.setattr("cli.sync.NO_WORKER_GRACE_SECONDS", 1.0)
    # A worker that stopped long ago left its last heartbeat behind.
    redis_client.hset(HEARTBEATS, "gone@host", str(time.time() - 3600))
    with sandbox_stack(db, vault, "woocommerce", items=10):
        result = _sync(env, "shop")

    assert result.exit_code == 1, result.output
    assert "no worker is running: start one with `stocksync up`" in result.output
    assert "stocksync runs cancel 1" in result.output
    with db() as session:
        assert session.scalars(select(SyncRun.status)).one() == RunStatus.QUEUED


def test_a_live_heartbeat_counts_as_a_running_worker(redis_client: redis.Redis) -> None:
    assert not worker_running(redis_client)
    redis_client.hset(HEARTBEATS, "old@host", str(time.time() - 3600))
    assert not worker_running(redis_client)
    # An events-only worker runs no sync: a run would still sit queued.
    redis_client.hset(HEARTBEATS, "events@host", str(time.time() - 2))
    redis_client.hset(QUEUES_OF, "events@host", "events")
    assert not worker_running(redis_client)
    redis_client.hset(HEARTBEATS, "w@host", str(time.time() - 2))
    assert worker_running(redis_client)
    assert presets.SYNC["queue"] == SYNC_QUEUE


def test_ctrl_c_says_the_run_goes_on_only_with_a_worker() -> None:
    assert "the run goes on" in interrupted([7], worker=True)
    without = interrupted([7], worker=False)
    assert "the run goes on" not in without
    assert "no worker is running" in without and "stocksync runs cancel 7" in without


def _progress(status: str, total: int, done: int, held_over: int = 0) -> Progress:
    return Progress(
        run_id=1,
        status=status,
        total=total,
        synced=done,
        unchanged=0,
        failed=0,
        opted_out=0,
        skipped=held_over,
        held_over=held_over,
        pending=total - done - held_over,
        percent=100.0 * (done + held_over) / total
        if total
        else (100.0 if status == "completed" else 0.0),
        rate=1234.5,
        eta_seconds=61,
    )


def _drawn(runs: list[tuple[Progress, str]]) -> list[str]:
    console = Console(width=80, force_terminal=True, color_system=None, file=io.StringIO())
    console.print(bars(runs))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    return str(text).splitlines()


def test_bars_fit_80_columns_and_a_failed_run_is_not_drawn_full() -> None:
    lines = _drawn(
        [
            (_progress("failed", 0, 0), "shop"),
            (_progress("cancelled", 20_000, 5_000), "a-very-long-site-name-for-the-eu-store"),
            (_progress("running", 20_000, 10_000), "outlet"),
            (_progress("completed", 20_000, 20_000), "b2b"),
        ]
    )
    assert all(len(line) <= 80 for line in lines), lines
    bar_lines = [line for line in lines if "%" in line]  # the counts may fold onto two lines
    assert [line.count("━") for line in bar_lines] == [0, 5, 10, 20]
    assert "0.0% failed" in bar_lines[0] and "0/0" in bar_lines[0]
    assert bar_lines[1].startswith("a-very-long-site-…")
    # Every bar starts in the same column, whatever the names.
    assert len({line.index("━") if "━" in line else line.index("─") for line in bar_lines}) == 1


def test_a_nightly_run_stopped_by_the_night_says_what_it_left_for_the_next() -> None:
    held = _progress("completed", 20_000, 12_000, held_over=8_000)

    assert render(held, "shop").endswith(
        "completed (night ended: 8,000 SKUs held over, first next night)"
    )
    drawn = " ".join(_drawn([(held, "shop")]))
    assert "night ended: 8,000 SKUs held over" in " ".join(drawn.split())


def test_a_failed_run_that_never_counted_its_skus_is_at_0_percent(
    db: sessionmaker[Session], vault: Vault
) -> None:
    """The API, the dashboard and the CLI read `run_progress`: a run that failed before
    counting its SKUs is at 0 %, one of no SKUs that completed at 100 %."""
    with transaction(db) as session:
        site = make_site(session, vault, make_source(session, vault)).id
        failed = run_row(session, site, status=RunStatus.FAILED, finished_at=datetime.now(UTC))
        done = run_row(session, site, status=RunStatus.COMPLETED, finished_at=datetime.now(UTC))
    with db() as session:
        assert run_progress(session, failed.id).percent == 0.0
        assert run_progress(session, done.id).percent == 100.0
    assert "(0.0%)" in render(_progress("failed", 0, 0), "shop")


def test_on_a_terminal_a_failed_run_is_drawn_short_and_explained(
    db: sessionmaker[Session], vault: Vault
) -> None:
    with db.begin() as session:
        site = make_site(session, vault, make_source(session, vault))
        run = run_row(session, site.id, status=RunStatus.FAILED, error="catalog unreadable: 503")
        make_batches(session, run, ["A", "B", "C", "D"], status=BatchStatus.FAILED)
        run.failed = 2
        for batch in session.scalars(select(SyncBatch)):
            batch.failures = {"A": "store answered 401", "B": "store answered 401"}
        run_id = run.id
    out = io.StringIO()
    final = follow(db, [(run_id, "shop")], out, tty=True, as_json=False, poll_seconds=0.01)

    assert final[run_id].status == "failed"
    drawn = out.getvalue()
    assert "shop " in drawn and "2/4" in drawn and " 50.0% failed" in drawn
    with db() as session:
        assert explain(session, run_id) == [
            "  error: catalog unreadable: 503",
            "  2 SKUs: store answered 401",
        ]


def test_no_wait_with_no_worker_warns_that_the_run_waits(
    env: dict[str, str], db: sessionmaker[Session], vault: Vault, redis_client: redis.Redis
) -> None:
    with sandbox_stack(db, vault, "woocommerce", items=10):
        result = _sync(env, "shop", "--no-wait")

    assert result.exit_code == 0, result.output
    assert "run 1 started for shop" in result.output
    assert "no worker is running: the run waits queued until one starts" in result.output


@pytest.mark.slow
def test_a_preview_lists_what_a_sync_would_change_and_writes_nothing(
    app: Celery, env: dict[str, str], db: sessionmaker[Session], vault: Vault
) -> None:
    with sandbox_stack(db, vault, "woocommerce", items=100, drift=0.1) as stack, workers(app):
        before = stack.store_stock()
        drifted = {sku for sku, n in before.items() if stack.erp_stock().get(sku) != n}
        result = _sync(env, "shop", "--preview")
        after = stack.store_stock()

    assert result.exit_code == 0, result.output
    assert after == before
    assert f"a full sync would change {len(drifted)} SKU(s); nothing was written" in result.output
    listed = {line.split()[0] for line in result.output.splitlines() if line.startswith("SKU-")}
    assert listed == drifted and drifted
    with db() as session:
        (run,) = session.scalars(select(SyncRun)).all()
    assert (run.kind, run.synced) == ("preview", len(drifted))
