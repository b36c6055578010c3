"""One full-sync batch: claim it, read its SKUs from the ERP, push, count, finish.

A claim is a lease with a token, `attempts` after the claim, so that every later step
of this delivery checks it still owns the batch (fencing: a worker paused past its
lease never writes over the next holder's outcome):

- A batch is claimed from `queued`, only while its run is `running` (a paused or
  cancelled run leaves its batches where they are). Its message was published when
  its turn in the run's window came (sync/runs.py `fill_window`); a claim counts it
  published in any case, so a batch processed is always in the window.
- The lease, `lease_expires_at`, is on the database's clock, never a worker's: skewed
  hosts agree on when it lapses. Its worker renews it while it works
  (`sync.leases.kept`); a batch `processing` under a lapsed lease lost its worker and
  may be claimed again, here or by the sweep (`sync.recovery`).
- A message Redis hands out again (`redelivered`: its worker died, so it was restored
  from the unacked set) may take over a batch its own earlier delivery holds
  (`claimed_by`, the task id), without waiting for the lease: that delivery is dead.
  It never takes one held by another delivery, which may be alive.
- The push starts by locking the batch's row under the token (`hold`): a holder whose
  lease was taken writes nothing to the store, and while the push's transaction holds
  the row no one can take the batch.
- Finishing is one transaction with the push itself (`sync.push.push_in_session`):
  the items update, the batch's counts and the run's totals commit together or not at
  all, and only if the token still matches. A redelivered batch that already finished
  finds nothing to claim, so no SKU is ever counted twice.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text, update
from sqlalchemy.orm import Session, joinedload, sessionmaker

from models import BatchStatus, Site, SyncBatch, SyncRun
from models.db import transaction
from settings import Settings
from sync.context import Context
from sync.erp_reads import readings_for
from sync.errors import Unavailable
from sync.limits import Priority
from sync.push import PushOutcome, push_in_session
from sync.runs import RunKind, close_run, fill_window, published

#: Why a batch of which the ERP lists no SKU writes nothing (`sync_batch`).
ERP_LISTS_NONE = "the ERP lists none of this batch's SKUs: nothing written (check the source)"


class StaleClaim(Exception):
    """Another delivery took the batch over; this one must not record anything."""


@dataclass(frozen=True)
class Claim:
    batch_id: int
    run_id: int
    site_id: int
    kind: str
    #: `sync_batches.attempts` after this claim: the claim's token.
    attempt: int
    skus: list[str]


def claim_batch(
    session: Session,
    batch_id: int,
    *,
    lease_seconds: int = Settings.batch_lease_seconds,
    delivery: str | None = None,
    redelivered: bool = False,
) -> Claim | None:
    """Take the batch for `lease_seconds`, or None if there is nothing for this
    delivery (`delivery`: its Celery task id) to do."""
    row = session.execute(
        text(
            """
            UPDATE sync_batches b
            SET status = 'processing', attempts = b.attempts + 1,
                claimed_at = now(), updated_at = now(), claimed_by = :delivery,
                published_at = coalesce(b.published_at, now()),
                lease_expires_at = now() + make_interval(secs => :lease)
            FROM sync_runs r
            WHERE b.id = :id AND r.id = b.run_id AND r.status = 'running'
              AND (b.status = 'queued'
                   OR (b.status = 'processing'
                       AND (b.lease_expires_at < now()
                            OR (:redelivered AND b.claimed_by = :delivery))))
            RETURNING b.run_id, r.site_id, r.kind, b.attempts, b.skus
            """
        ),
        {"id": batch_id, "lease": lease_seconds, "delivery": delivery, "redelivered": redelivered},
    ).one_or_none()
    if row is None:
        return None
    return Claim(batch_id, row.run_id, row.site_id, row.kind, row.attempts, list(row.skus))


def release_batch(
    sessions: sessionmaker[Session], claim: Claim, error: str, *, retry_lease: float
) -> None:
    """Put a claimed batch back to `queued` for its retry, keeping the error for ops.

    The batch keeps a lease of `retry_lease` seconds (the retry's countdown plus one
    lease): the retry message waits in its worker's memory, so if that worker dies the
    sweep publishes the batch again once the lease lapses, not after STUCK_BATCH_MINUTES.
    """
    with transaction(sessions) as session:
        session.execute(
            text(
                """
                UPDATE sync_batches SET status = 'queued', error = :error, updated_at = now(),
                    lease_expires_at = now() + make_interval(secs => :lease)
                WHERE id = :id AND status = 'processing' AND attempts = :attempt
                """
            ),
            {"id": claim.batch_id, "attempt": claim.attempt, "error": error, "lease": retry_lease},
        )


def hold(session: Session, claim: Claim) -> None:
    """Lock the batch's row for this transaction if the claim still holds it, else raise
    `StaleClaim`. Called before any store write: a holder whose lease lapsed and was
    taken writes nothing, and the row lock keeps the sweep and any claim off the batch
    until the transaction ends (the sweep skips locked rows)."""
    held = session.execute(
        text(
            """
            SELECT id FROM sync_batches
            WHERE id = :id AND status = 'processing' AND attempts = :attempt
            FOR UPDATE
            """
        ),
        {"id": claim.batch_id, "attempt": claim.attempt},
    ).one_or_none()
    if held is None:
        raise _stale(claim)


def finish_batch(
    session: Session,
    claim: Claim,
    outcome: PushOutcome,
    *,
    status: BatchStatus = BatchStatus.COMPLETED,
    error: str | None = None,
) -> list[int]:
    """Record the batch's outcome and add it to its run; close the run if it was last.

    Times are `clock_timestamp()`, not `now()`: this transaction began before the
    store writes, and `now()` would date the batch's end from before them.

    Returns the lifecycle deliveries recorded if the run closed. Raises `StaleClaim` if
    the batch is no longer this claim's, so the caller's transaction rolls back. A batch
    that completes after retries keeps its last error, which tells why it was retried.
    """
    finished = session.execute(
        text(
            """
            UPDATE sync_batches SET status = :status, synced = :synced,
                unchanged = :unchanged, failed = :failed, opted_out = :opted_out,
                store_calls = :store_calls,
                error = coalesce(:error, error), failures = CAST(:failures AS jsonb),
                changes = CAST(:changes AS jsonb),
                finished_at = clock_timestamp(), updated_at = clock_timestamp()
            WHERE id = :id AND status = 'processing' AND attempts = :attempt
            RETURNING id
            """
        ),
        _batch_params(claim, outcome, status, error),
    ).one_or_none()
    if finished is None:
        raise _stale(claim)
    pending = session.execute(
        text(
            """
            UPDATE sync_runs SET synced = synced + :synced, unchanged = unchanged + :unchanged,
                failed = failed + :failed, opted_out = opted_out + :opted_out,
                store_calls = store_calls + :store_calls,
                batches_pending = batches_pending - 1, updated_at = clock_timestamp()
            WHERE id = :run_id
            RETURNING batches_pending
            """
        ),
        {**_counts(outcome), "run_id": claim.run_id},
    ).scalar_one()
    if pending > 0:
        return []
    run = session.get_one(SyncRun, claim.run_id, with_for_update=True, populate_existing=True)
    return close_run(session, run)


def fail_batch(sessions: sessionmaker[Session], claim: Claim, error: str) -> list[int]:
    """The batch gave up (retries spent, or a permanent error): all its SKUs failed."""
    outcome = PushOutcome(failed=len(claim.skus))
    with transaction(sessions) as session:
        return finish_batch(session, claim, outcome, status=BatchStatus.FAILED, error=error)


def queue_next(ctx: Context, claim: Claim) -> None:
    """Once the claimed batch has finished (or given up): publish its run's next
    batches, as many as keep the run's window full (sync/runs.py `fill_window`), so
    the run's next batch joins the queue behind the other runs' batches; past a
    nightly run's end, none, and the run closes once its last batch in flight ends
    (sync/runs.py `hold_over`). Killed before this, the sweep fills the window
    (sync/recovery.py `fill_windows`)."""
    with transaction(ctx.sessions) as session:
        window = fill_window(session, claim.run_id, ctx.settings)
    ctx.broker.queue_deliveries(window.deliveries)
    publish(ctx, [(batch_id, claim.kind) for batch_id in window.publish])


def publish(ctx: Context, batches: Sequence[tuple[int, str]]) -> None:
    """Publish the (batch id, run kind) `fill_window` marked published, then drop the
    lease each took with its turn (sync/runs.py `published`). Killed in between, the
    lease lapses and the sweep publishes them again; one already out then runs once
    (only one claim succeeds).

    If the broker cannot take them (`Unavailable`, raised again), those not sent are
    marked waiting again, so the sweep publishes them as soon as the broker is back
    (sync/recovery.py `fill_windows`); those sent are out, and counted in flight."""
    sent: list[int] = []
    try:
        for batch_id, kind in batches:
            ctx.broker.queue_batches([batch_id], kind)
            sent.append(batch_id)
    except Unavailable:
        unsent = [batch_id for batch_id, _ in batches if batch_id not in sent]
        with transaction(ctx.sessions) as session:
            published(session, sent)
            session.execute(
                update(SyncBatch)
                .where(SyncBatch.id.in_(unsent), SyncBatch.status == BatchStatus.QUEUED)
                .values(published_at=None, lease_expires_at=None)
            )
        raise
    with transaction(ctx.sessions) as session:
        published(session, sent)


def sync_batch(ctx: Context, claim: Claim) -> list[int]:
    """Read the batch's SKUs from the ERP, push what changed, record it all at once.

    SKUs the ERP no longer lists sell as 0 if it once had them; the others are failed
    by name (sync/push.py, "Gone from the ERP"). A batch of which the ERP lists no SKU
    at all writes nothing and fails them all: that is what a source pointed at the
    wrong company looks like, and zeroing 500 SKUs on its word is not worth the risk.

    Connector errors rise to the task, which retries transient ones. Returns the
    lifecycle deliveries to publish if this batch closed the run.
    """
    with ctx.sessions() as session:
        site = session.get_one(Site, claim.site_id, options=[joinedload(Site.source)])
        read_id = session.get_one(SyncRun, claim.run_id).erp_read_id
    # The readings come from the source's read the run shares (sync/erp_reads.py),
    # which settled the source's open store orders before it: asking again per batch
    # cost one ERP request per open order per batch (bench/fullsync.py --reserved).
    erp = ctx.source(site.source, Priority.BULK)
    readings = readings_for(ctx, erp, site.id, read_id, claim.skus)
    store = ctx.storefront(site, Priority.BULK)
    with transaction(ctx.sessions) as session:
        hold(session, claim)
        if any(reading.listed for reading in readings):
            outcome = push_in_session(
                session, site.id, readings, store, dry_run=claim.kind == RunKind.PREVIEW
            )
        else:
            outcome = PushOutcome()
            for sku in claim.skus:
                outcome.fail(sku, ERP_LISTS_NONE)
        return finish_batch(session, claim, outcome)


def _stale(claim: Claim) -> StaleClaim:
    return StaleClaim(f"batch {claim.batch_id} was taken over after attempt {claim.attempt}")


def _counts(outcome: PushOutcome) -> dict[str, int]:
    # A stale reading means the store already holds a newer value: nothing to do,
    # which for the batch's totals is "unchanged".
    return {
        "synced": outcome.synced,
        "unchanged": outcome.unchanged + outcome.stale,
        "failed": outcome.failed,
        "opted_out": outcome.opted_out,
        "store_calls": outcome.store_calls,
    }


def _batch_params(
    claim: Claim, outcome: PushOutcome, status: BatchStatus, error: str | None
) -> dict[str, Any]:
    return {
        **_counts(outcome),
        "id": claim.batch_id,
        "attempt": claim.attempt,
        "status": str(status),
        "error": error,
        "failures": json.dumps(outcome.failures) if outcome.failures else None,
        "changes": json.dumps(outcome.changes) if outcome.changes else None,
    }
