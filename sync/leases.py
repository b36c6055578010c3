"""A batch's lease, kept alive by its worker while the batch is worked on.

Where the renewal runs, and why: in a heartbeat thread of the process running the
batch task, every third of the lease, from the claim until the task is done with the
batch. Not at each page or chunk of work: a batch's time goes to calls that do not
return for long and give us no place to renew from (a connector waiting up to 45 s for
a store's concurrency place, a platform's `Retry-After`, an ERP read of 500 SKUs), so a
slow but live worker would lose its batch. A thread says only "this process is alive";
that it is also making progress is bounded by the task's hard time limit (15 min,
workers/presets.py), past which the pool process is killed, thread and all, and the
lease lapses.

A renewal that finds the claim gone (its token no longer matches: the lease lapsed and
the batch was taken) stops, and the worker's later writes fail their token check
(`sync.batches.hold`, `finish_batch`). A renewal that cannot reach the database is
tried again at the next beat: a brief outage costs nothing, a long one lets the lease
lapse, which the token checks make safe.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from models.db import transaction
from sync.batches import Claim

log = logging.getLogger(__name__)


def renew_lease(sessions: sessionmaker[Session], claim: Claim, seconds: float) -> bool:
    """Extend the claim's lease to `seconds` from now (database clock); False if the
    claim no longer holds the batch. A lapsed lease nobody took is still the claim's."""
    with transaction(sessions) as session:
        renewed = session.execute(
            text(
                """
                UPDATE sync_batches
                SET lease_expires_at = clock_timestamp() + make_interval(secs => :lease)
                WHERE id = :id AND status = 'processing' AND attempts = :attempt
                RETURNING id
                """
            ),
            {"id": claim.batch_id, "attempt": claim.attempt, "lease": seconds},
        ).one_or_none()
    return renewed is not None


@contextmanager
def kept(sessions: sessionmaker[Session], claim: Claim, seconds: float) -> Iterator[None]:
    """Renew the claim's lease every third of `seconds` while the block runs."""
    done = threading.Event()
    beat = threading.Thread(
        target=_renew_until,
        args=(sessions, claim, seconds, done),
        name=f"batch-lease-{claim.batch_id}",
        daemon=True,
    )
    beat.start()
    try:
        yield
    finally:
        done.set()
        beat.join()


def _renew_until(
    sessions: sessionmaker[Session], claim: Claim, seconds: float, done: threading.Event
) -> None:
    while not done.wait(seconds / 3):
        try:
            if not renew_lease(sessions, claim, seconds):
                if not done.is_set() and not _ended_by(sessions, claim):
                    log.warning(
                        "sync.batch.lease_lost",
                        extra={"batch": claim.batch_id, "attempt": claim.attempt},
                    )
                return
        except SQLAlchemyError as exc:
            # The database is unreachable: try again at the next beat (see the module).
            log.warning(
                "sync.batch.lease_not_renewed",
                extra={"batch": claim.batch_id, "error": type(exc).__name__},
            )


def _ended_by(sessions: sessionmaker[Session], claim: Claim) -> bool:
    """Whether the claim itself ended the batch (completed, failed, or its run's cancel
    did): a renewal that found the batch so was only late, often because its UPDATE
    waited for the row lock of the very transaction that finished the batch."""
    with sessions() as session:
        ended = session.execute(
            text(
                """
                SELECT 1 FROM sync_batches
                WHERE id = :id AND attempts = :attempt
                  AND status IN ('completed', 'failed', 'cancelled')
                """
            ),
            {"id": claim.batch_id, "attempt": claim.attempt},
        ).first()
    return ended is not None
