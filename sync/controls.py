"""Operator controls of a run: pause, resume, cancel. The API, the CLI and the
dashboard call these same functions, so a pause here is seen everywhere at once.

Nothing here lives in memory or in the broker: a paused run's batches simply stay
`queued` in the database (their messages, when they come, find the run paused and do
nothing), and `resume` queues them again, with the next ones up to the run's window.
Each control commits its row change, then publishes what it queued (docs/style.md
rule 5).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.orm import Session

from models import RunStatus, SyncRun
from models.db import transaction
from settings import Settings
from sync.batches import publish
from sync.context import Context
from sync.errors import Conflict, NotFound
from sync.runs import LIVE, cancel_queued_batches, close_run, fill_window


@dataclass
class Resumed:
    run_id: int
    kind: str
    #: The run had no batches yet: its start task must run (again).
    start: bool = False
    #: Batches to queue again.
    batch_ids: list[int] = field(default_factory=list)
    #: Lifecycle deliveries: a nightly run resumed past its night's end closes.
    deliveries: list[int] = field(default_factory=list)


def _locked(session: Session, run_id: int, allowed: tuple[RunStatus, ...], action: str) -> SyncRun:
    run = session.get(SyncRun, run_id, with_for_update=True)
    if run is None:
        raise NotFound(f"no run {run_id}")
    if run.status not in allowed:
        raise Conflict(f"cannot {action} run {run_id}: it is {run.status}")
    return run


def pause_run(session: Session, run_id: int) -> None:
    """Stop claiming the run's batches; the ones already processing finish and count."""
    run = _locked(session, run_id, (RunStatus.QUEUED, RunStatus.RUNNING), "pause")
    run.status = RunStatus.PAUSED


def resume_run(session: Session, run_id: int, settings: Settings) -> Resumed:
    """Let the run go on: its queued batches that were published are to be published
    again, and the next ones up to its window (sync/runs.py `fill_window`).

    Nothing processed is processed again: only `queued` batches are returned, and a
    message for a batch that finished meanwhile finds nothing to claim. A nightly run
    resumed past its night's end publishes nothing more (sync/runs.py `hold_over`).
    """
    run = _locked(session, run_id, (RunStatus.PAUSED,), "resume")
    resumed = Resumed(run_id=run.id, kind=run.kind)
    if run.batches_total == 0:
        # Paused before its batches were cut: the start task (which skips runs that
        # are not queued or running) must run again.
        run.status = RunStatus.RUNNING if run.started_at else RunStatus.QUEUED
        resumed.start = True
        return resumed
    run.status = RunStatus.RUNNING
    resumed.batch_ids = list(
        session.scalars(
            text(
                """
                UPDATE sync_batches SET updated_at = now()
                WHERE run_id = :run_id AND status = 'queued' AND published_at IS NOT NULL
                RETURNING id
                """
            ),
            {"run_id": run.id},
        )
    )
    session.flush()
    window = fill_window(session, run.id, settings)
    resumed.batch_ids += window.publish
    resumed.deliveries = window.deliveries
    return resumed


def cancel_run(session: Session, run_id: int) -> list[int]:
    """Cancel what has not started; what is synced stays synced.

    Batches already processing finish and count; the last of them closes the run,
    which stays `cancelled`. Returns lifecycle deliveries if the run closed now.
    """
    run = _locked(session, run_id, LIVE, "cancel")
    cancel_queued_batches(session, run)
    run.status, run.error = RunStatus.CANCELLED, "cancelled by an operator"
    if run.batches_pending > 0:
        return []
    return close_run(session, run)


def pause(ctx: Context, run_id: int) -> None:
    with transaction(ctx.sessions) as session:
        pause_run(session, run_id)


def resume(ctx: Context, run_id: int) -> None:
    """Resume the run and queue what it has left. If the broker is down, the run is
    `running` with its batches `queued` (or none cut yet): the maintenance task
    publishes them, or its start, later (sync/recovery.py)."""
    with transaction(ctx.sessions) as session:
        resumed = resume_run(session, run_id, ctx.settings)
    ctx.broker.queue_deliveries(resumed.deliveries)
    if resumed.start:
        ctx.broker.queue_start(run_id, resumed.kind)
    publish(ctx, [(batch_id, resumed.kind) for batch_id in resumed.batch_ids])


def cancel(ctx: Context, run_id: int) -> None:
    with transaction(ctx.sessions) as session:
        deliveries = cancel_run(session, run_id)
    ctx.broker.queue_deliveries(deliveries)


#: The controls by the name the API's path and the CLI's command use.
CONTROLS: dict[str, Callable[[Context, int], None]] = {
    "pause": pause,
    "resume": resume,
    "cancel": cancel,
}
