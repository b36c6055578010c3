"""Operator controls of a run (pause, resume, cancel) and its progress, all from rows.

Nothing here lives in memory or in the broker: a paused run's batches simply stay
`queued` in the database (their messages, when they come, find the run paused and do
nothing), and `resume` queues them again. Each function works inside the caller's
transaction and returns what to publish after commit (STYLE.md rule 5); the workers'
`workers.runs` wraps them for the API and CLI.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from models import RunStatus, SyncRun
from sync.runs import LIVE, cancel_queued_batches, close_run


class RunStateError(ValueError):
    """The run is not in a state that allows this control (e.g. resuming a finished run)."""


@dataclass
class Resumed:
    run_id: int
    kind: str
    #: The run had no batches yet: its start task must run (again).
    start: bool = False
    #: Batches to queue again.
    batch_ids: list[int] = field(default_factory=list)


def _locked(session: Session, run_id: int, allowed: tuple[RunStatus, ...], action: str) -> SyncRun:
    run = session.get(SyncRun, run_id, with_for_update=True)
    if run is None:
        raise RunStateError(f"run {run_id} does not exist")
    if run.status not in allowed:
        raise RunStateError(f"cannot {action} run {run_id}: it is {run.status}")
    return run


def pause_run(session: Session, run_id: int) -> None:
    """Stop claiming the run's batches; the ones already processing finish and count."""
    run = _locked(session, run_id, (RunStatus.QUEUED, RunStatus.RUNNING), "pause")
    run.status = RunStatus.PAUSED


def resume_run(session: Session, run_id: int) -> Resumed:
    """Let the run go on: its queued batches are to be published again.

    Nothing processed is processed again: only `queued` batches are returned, and a
    message for a batch that finished meanwhile finds nothing to claim.
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
                WHERE run_id = :run_id AND status = 'queued'
                RETURNING id
                """
            ),
            {"run_id": run.id},
        )
    )
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


@dataclass(frozen=True)
class Progress:
    run_id: int
    status: str
    total: int
    synced: int
    unchanged: int
    failed: int
    skipped: int
    #: SKUs in batches not finished yet (queued or processing).
    pending: int
    percent: float
    #: SKUs finished per second since the run started.
    rate: float | None
    #: Seconds until the pending SKUs are done at that rate; None if unknown.
    eta_seconds: float | None


def run_progress(session: Session, run_id: int, now: datetime | None = None) -> Progress:
    """Where the run stands, computed from its row and its batches' rows."""
    run = session.get(SyncRun, run_id)
    if run is None:
        raise RunStateError(f"run {run_id} does not exist")
    pending = session.execute(
        text(
            """
            SELECT coalesce(sum(jsonb_array_length(skus)), 0) FROM sync_batches
            WHERE run_id = :run_id AND status IN ('queued', 'processing')
            """
        ),
        {"run_id": run_id},
    ).scalar_one()
    done = run.synced + run.unchanged + run.failed
    finished = done + run.skipped
    percent = 100.0 * finished / run.total if run.total else (100.0 if run.finished_at else 0.0)
    rate = eta = None
    if run.started_at is not None:
        end = run.finished_at or now or session.execute(select(func.now())).scalar_one()
        elapsed = (end - run.started_at).total_seconds()
        if elapsed > 0:
            rate = done / elapsed
            if rate > 0 and run.status == RunStatus.RUNNING:
                eta = pending / rate
    return Progress(
        run_id=run.id,
        status=str(run.status),
        total=run.total,
        synced=run.synced,
        unchanged=run.unchanged,
        failed=run.failed,
        skipped=run.skipped,
        pending=int(pending),
        percent=round(percent, 2),
        rate=rate,
        eta_seconds=eta,
    )
