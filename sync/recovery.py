"""Recovery from lost workers and lost messages, driven by rows (docs/architecture.md flow 5).

A worker killed mid-batch leaves its batch `processing` and its message unacked; Redis
hands the message out again only after the visibility timeout (1 h). The batch's claim
is a lease its worker renews (sync/leases.py): once it lapses, on the database's clock,
the sweep (beat, every 30 s) returns the batch to `queued` and publishes it again. A
live worker's batch is never returned however slow it is, and a row locked by a live
transaction (a push in progress, `sync.batches.hold`) is skipped. Two sweeps at once
return a batch once: the second skips the rows the first has locked, and finds them
`queued` after it committed.

A worker killed between taking a batch's message and claiming the batch leaves the
batch `queued` with its message in Redis's unacked set: the sweep is told of such
messages (workers/stranded.py) and publishes their batches again at once.

A run keeps only a few batches published at a time (its window, sync/runs.py
`fill_window`); the others wait unpublished (`published_at` NULL), and are never taken
for lost. Each batch's end queues the next; a process killed between the two leaves the
run one short, which the sweep fills (`fill_windows`).

A batch waiting for its retry holds a lease until the retry is due plus one lease
(`sync.batches.release_batch`): the retry message waits in its worker's memory, so
once that lapses the worker is presumed dead and the batch is published again. Batches
`queued` for STUCK_BATCH_MINUTES in a running run lost their message (a broker flush,
a worker that died holding it prefetched): they are published again too. A duplicate
message is harmless: only one claim succeeds.

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

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from models import RunStatus, SyncRun
from settings import Settings
from sync.runs import fail_run, fill_window


@dataclass
class Returned:
    #: (batch id, run kind) of batches to publish again.
    batches: list[tuple[int, str]] = field(default_factory=list)
    #: Batches of paused runs put back to `queued`: `resume` publishes them.
    held: int = 0
    #: (run id, run kind) of runs whose start task is to be published again.
    starts: list[tuple[int, str]] = field(default_factory=list)


def return_stuck_batches(
    session: Session, minutes: int, stranded: Collection[int] = ()
) -> Returned:
    """Return batches whose lease lapsed, republish lost `queued` ones and lost start
    tasks (see the module). Every time is the database's clock, so a sweeping host's
    skewed clock neither takes a live lease nor republishes a live message.

    `stranded`: batches whose message a dead worker took before claiming them
    (workers/stranded.py); republished at once if still `queued` with no retry pending."""
    # Lost messages first: the batches returned below are `queued` from now on, with no
    # lease, and must not be published twice. Clearing the lease publishes a lost retry
    # once.
    lost = session.execute(
        text(
            """
            UPDATE sync_batches b SET updated_at = now(), lease_expires_at = NULL
            FROM sync_runs r
            WHERE r.id = b.run_id AND r.status = 'running' AND b.status = 'queued'
              AND b.published_at IS NOT NULL
              AND (b.updated_at < now() - make_interval(mins => :minutes)
                   OR b.lease_expires_at < now()
                   OR (b.lease_expires_at IS NULL
                       AND b.id = ANY(CAST(:stranded AS bigint[]))))
            RETURNING b.id, r.kind
            """
        ),
        {"minutes": minutes, "stranded": list(stranded)},
    ).all()
    stuck = session.execute(
        text(
            """
            UPDATE sync_batches b
            SET status = 'queued', updated_at = now(), lease_expires_at = NULL,
                error = 'returned: its lease lapsed (worker lost)'
            FROM sync_runs r
            WHERE b.id IN (
                    SELECT id FROM sync_batches
                    WHERE status = 'processing' AND lease_expires_at < now()
                    FOR UPDATE SKIP LOCKED
                  )
              AND r.id = b.run_id AND r.status IN ('running', 'paused')
            RETURNING b.id, r.kind, r.status
            """
        ),
    ).all()
    starts = session.execute(
        text(
            """
            UPDATE sync_runs SET updated_at = now()
            WHERE status IN ('queued', 'running') AND batches_total = 0
              AND updated_at < now() - make_interval(mins => :minutes)
            RETURNING id, kind
            """
        ),
        {"minutes": minutes},
    ).all()
    return Returned(
        batches=[(row.id, row.kind) for row in lost]
        + [(row.id, row.kind) for row in stuck if row.status == "running"],
        held=sum(row.status == "paused" for row in stuck),
        starts=[(row.id, row.kind) for row in starts],
    )


def fill_windows(session: Session, settings: Settings) -> tuple[list[tuple[int, str]], list[int]]:
    """(batch id, run kind) of batches to publish so that every running run has its
    window in flight (sync/runs.py `fill_window`): a process killed between recording
    its batch and queueing the run's next left the run one short, and a run whose
    last batch in flight ended so would wait forever. With them, the lifecycle
    deliveries of nightly runs closed here at their night's end (`hold_over`)."""
    runs = session.execute(
        text(
            """
            SELECT DISTINCT r.id, r.kind FROM sync_runs r JOIN sync_batches b ON b.run_id = r.id
            WHERE r.status = 'running' AND b.status = 'queued' AND b.published_at IS NULL
            ORDER BY r.id
            """
        )
    ).all()
    batches: list[tuple[int, str]] = []
    deliveries: list[int] = []
    for row in runs:
        window = fill_window(session, row.id, settings)
        batches += [(batch_id, row.kind) for batch_id in window.publish]
        deliveries += window.deliveries
    return batches, deliveries


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
