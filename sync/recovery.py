"""Recovery from lost workers and lost messages, driven by rows (docs/architecture.md flow 5).

A worker killed mid-batch leaves its batch `processing` and its message unacked; Redis
hands the message out again only after the visibility timeout (1 h). Before that, the
maintenance task returns batches `processing` for longer than STUCK_BATCH_MINUTES to
`queued` and publishes them again; no live delivery can still hold them, because every
task's hard time limit is far shorter. Batches `queued` that long in a running run lost
their message (a broker flush, a worker that died holding it prefetched): they are
published again too. A duplicate message is harmless: only one claim succeeds.

A run `queued`, or `running` with no batches yet, untouched that long lost its start
task: a process killed between committing the run and publishing its start, a broker
flush, or a task killed mid-refresh. Its start is published again; `begin_run` and
`cut_batches` are idempotent, so a start that was only late costs at most a second
catalog refresh. Left alone, the run would hold its site (one live run per site)
until the stuck-run check failed it.

A run with no progress for STUCK_RUN_MINUTES is failed (and so reported by its
lifecycle event and the logs) rather than left running forever.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from models import RunStatus, SyncRun
from sync.runs import fail_run


@dataclass
class Returned:
    #: (batch id, run kind) of batches to publish again.
    batches: list[tuple[int, str]] = field(default_factory=list)
    #: Batches of paused runs put back to `queued`: `resume` publishes them.
    held: int = 0
    #: (run id, run kind) of runs whose start task is to be published again.
    starts: list[tuple[int, str]] = field(default_factory=list)


def return_stuck_batches(session: Session, now: datetime, minutes: int) -> Returned:
    """Return batches stuck `processing`, republish lost `queued` ones and lost start
    tasks (see the module)."""
    cutoff = now - timedelta(minutes=minutes)
    # Lost messages first, so the batches returned below (queued from now on) are not
    # counted twice when `now` runs ahead of the database clock.
    lost = session.execute(
        text(
            """
            UPDATE sync_batches b SET updated_at = now()
            FROM sync_runs r
            WHERE r.id = b.run_id AND r.status = 'running'
              AND b.status = 'queued' AND b.updated_at < :cutoff
            RETURNING b.id, r.kind
            """
        ),
        {"cutoff": cutoff},
    ).all()
    stuck = session.execute(
        text(
            """
            UPDATE sync_batches b
            SET status = 'queued', updated_at = now(),
                error = 'returned after ' || :minutes || ' minutes in processing'
            FROM sync_runs r
            WHERE r.id = b.run_id AND r.status IN ('running', 'paused')
              AND b.status = 'processing' AND b.claimed_at < :cutoff
            RETURNING b.id, r.kind, r.status
            """
        ),
        {"cutoff": cutoff, "minutes": minutes},
    ).all()
    starts = session.execute(
        text(
            """
            UPDATE sync_runs SET updated_at = now()
            WHERE status IN ('queued', 'running') AND batches_total = 0
              AND updated_at < :cutoff
            RETURNING id, kind
            """
        ),
        {"cutoff": cutoff},
    ).all()
    return Returned(
        batches=[(row.id, row.kind) for row in lost]
        + [(row.id, row.kind) for row in stuck if row.status == "running"],
        held=sum(row.status == "paused" for row in stuck),
        starts=[(row.id, row.kind) for row in starts],
    )


def fail_stuck_runs(session: Session, now: datetime, minutes: int) -> tuple[list[int], list[int]]:
    """Fail queued or running runs untouched for `minutes`: (run ids, deliveries)."""
    cutoff = now - timedelta(minutes=minutes)
    stuck = session.scalars(
        select(SyncRun.id).where(
            SyncRun.status.in_([RunStatus.QUEUED, RunStatus.RUNNING]), SyncRun.updated_at < cutoff
        )
    ).all()
    deliveries: list[int] = []
    for run_id in stuck:
        deliveries += fail_run(session, run_id, f"no progress for {minutes} minutes")
    return list(stuck), deliveries
