"""Starting and steering full-sync runs: the start task, and what the API and CLI call.

`start_sync` commits the run row, then publishes its start task (STYLE.md rule 5).
The start task announces the run, refreshes the site's catalog mirror, cuts the
batches in SQL and publishes one batch task each, at the run's priority: manual runs
above nightly ones, both below webhook events (workers/presets.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import date

from celery import Celery, shared_task
from celery.app.task import Task
from celery.exceptions import SoftTimeLimitExceeded
from kombu.exceptions import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from connectors.errors import PermanentError, TransientError
from connectors.registry import UnknownPlatform
from models.crypto import VaultError
from models.db import transaction
from sync.controls import Progress, cancel_run, pause_run, resume_run, run_progress
from sync.runs import RunKind, begin_run, create_run, fail_run, prepare_batches
from workers import presets
from workers.context import WorkerContext, get_context
from workers.lifecycle import publish_deliveries
from workers.publish import send

log = logging.getLogger(__name__)

START = "workers.runs.start"
BATCH = "workers.batches.process"

#: Worth retrying: the platform or the network may be better later.
RETRYABLE = (TransientError, SoftTimeLimitExceeded)
#: Failing the same way every time, for a reason to record (not a bug of ours).
EXPECTED = (PermanentError, VaultError, UnknownPlatform)


def priority_for(kind: str) -> int:
    return presets.PRIORITY_MANUAL_SYNC if kind == RunKind.MANUAL else presets.PRIORITY_NIGHTLY_SYNC


def publish_start(app: Celery, run_id: int, kind: str) -> None:
    send(app, START, [run_id], queue=presets.SYNC["queue"], priority=priority_for(kind))


def publish_batches(app: Celery, batch_ids: Iterable[int], kind: str) -> None:
    for batch_id in batch_ids:
        send(app, BATCH, [batch_id], queue=presets.SYNC["queue"], priority=priority_for(kind))


def start_sync(
    app: Celery,
    sessions: sessionmaker[Session],
    site_id: int,
    *,
    kind: str = RunKind.MANUAL,
    trigger: str = "api",
    local_date: date | None = None,
) -> int:
    """Create a run for the site and start it; return the run's id.

    If the start cannot be published (Redis down), the run is failed by name and the
    broker's error raised: left queued, it would refuse every later start of the site
    (409) until the stuck-run check fails it hours later. Its lifecycle event goes out
    with the delivery sweep once Redis is back.
    """
    with transaction(sessions) as session:
        run_id = create_run(session, site_id, kind, trigger, local_date).id
    try:
        publish_start(app, run_id, kind)
    except OperationalError as exc:
        with transaction(sessions) as session:
            fail_run(session, run_id, f"could not be queued: {describe(exc)}")
        raise
    return run_id


def pause(sessions: sessionmaker[Session], run_id: int) -> None:
    with transaction(sessions) as session:
        pause_run(session, run_id)


def resume(app: Celery, sessions: sessionmaker[Session], run_id: int) -> None:
    with transaction(sessions) as session:
        resumed = resume_run(session, run_id)
    if resumed.start:
        publish_start(app, run_id, resumed.kind)
    publish_batches(app, resumed.batch_ids, resumed.kind)


def cancel(app: Celery, sessions: sessionmaker[Session], run_id: int) -> None:
    with transaction(sessions) as session:
        deliveries = cancel_run(session, run_id)
    publish_deliveries(app, deliveries)


def progress(sessions: sessionmaker[Session], run_id: int) -> Progress:
    with sessions() as session:
        return run_progress(session, run_id)


def describe(exc: BaseException) -> str:
    """What to record on a row about an error: its kind and message, bounded."""
    return f"{type(exc).__name__}: {exc}"[:1000]


def retry_or_give_up(
    task: Task,
    ctx: WorkerContext,
    exc: Exception,
    *,
    release: Callable[[str], None],
    give_up: Callable[[str], list[int]],
) -> list[int]:
    """Retry the task with backoff while retries remain (raises `Retry`), else give up.

    `release` puts the row back for the retry first; `give_up` records the failure and
    returns lifecycle deliveries to publish. The countdown honours the platform's wait
    hint (`Retry-After`, BigCommerce's reset) and stays under the presets' cap.
    """
    error = describe(exc)
    if task.request.retries >= (task.max_retries or 0):
        return give_up(error)
    release(error)
    countdown = ctx.backoff(task.request.retries, getattr(exc, "retry_after", None))
    raise task.retry(countdown=countdown, exc=exc)


@shared_task(name=START, bind=True, **presets.SYNC)
def start(self: Task, run_id: int) -> None:
    """Begin the run, refresh the catalog mirror, cut and publish the batches."""
    ctx = get_context(self.app)
    with transaction(ctx.sessions) as session:
        begun = begin_run(session, run_id)
    if begun is None:
        return  # cancelled, finished, paused before it began, or already batched
    publish_deliveries(self.app, begun.deliveries)

    def give_up(error: str) -> list[int]:
        with transaction(ctx.sessions) as session:
            return fail_run(session, run_id, f"catalog refresh failed: {error}")

    try:
        cut = prepare_batches(ctx, run_id)
    except RETRYABLE as exc:
        # Raises Celery's `Retry` while retries remain; then the run fails with the reason.
        deliveries = retry_or_give_up(self, ctx, exc, release=lambda _: None, give_up=give_up)
    except Exception as exc:
        # Permanent (bad credentials) or a bug: the run fails with the reason rather than
        # staying `running`; a bug is raised again for the logs.
        publish_deliveries(self.app, give_up(describe(exc)))
        if isinstance(exc, EXPECTED):
            return
        raise
    else:
        deliveries = cut.deliveries
        if cut.enqueue:
            publish_batches(self.app, cut.batch_ids, begun.kind)
        log.info("sync.run.started run=%d batches=%d", run_id, len(cut.batch_ids))
    publish_deliveries(self.app, deliveries)
