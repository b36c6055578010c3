"""Which sites are due for their nightly full sync, and starting those runs once.

Beat asks every few minutes instead of firing at 02:00: "is the site's local time
past its `full_sync_hour`, and has it no full run for its local date yet?" That one
question handles what a fixed-time trigger gets wrong (docs/architecture.md flow 4):

- **DST.** On a spring-forward night 02:00 does not exist: the first local time past
  it is 03:00, and the run starts then. On a fall-back night 01:00-02:00 happens twice,
  but 02:00 once, and the local date has one run either way.
- **Beat down at 2 AM.** When it comes back (same local date) the site is still past
  its hour with no run: the run starts then, once.
- **Sites added with `--no-initial-sync`** (`awaiting_first_sync`) get a preview
  instead, nightly, writing nothing, until an operator's live run of them completes.
- **New sites** get their first run at their next `full_sync_hour`, never at the next
  beat: a site added at 10:00 is not written live a minute later, before anyone could
  look at what its first run would change (`sites add` says when it runs; an operator
  may start one earlier). A site is due on a local date only if it existed at that
  date's hour.
- **Two beats at once.** Both may find the site due; the unique index
  `uq_sync_runs_full_per_day` on (site, local date) lets only one insert succeed. A
  nightly preview is held to one by the one-live-run-per-site index while it runs and
  by `due_sites` (which counts previews) once it has: two beats would need to straddle
  a whole preview to make two, which writes nothing either way.
- **A run already going** (an operator's, or one an ERP `collection` notice started):
  one live run per site, so the nightly run waits; the next beat after that run ends
  finds the site still due and starts it.

Runs start through `sync.runs.start_run`, the one way every trigger starts a run.

Limit: a beat down across local midnight skips that date's run (the next date's runs
normally); the webhooks and the next night catch up.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from models import RunStatus, Site, SyncRun
from sync.context import Context
from sync.errors import AlreadyRunning, Conflict
from sync.runs import RunKind, start_run

log = logging.getLogger(__name__)


def due_date(now: datetime, timezone: str, hour: int) -> date | None:
    """The site's local date if its local time is at or past `hour`:00, else None."""
    local = now.astimezone(ZoneInfo(timezone))
    return local.date() if local.hour >= hour else None


def existed_at_hour(created_at: datetime, timezone: str, hour: int, local_date: date) -> bool:
    """Whether a site added at `created_at` existed at `hour`:00 of `local_date` there.

    Compared as local (date, hour) pairs, so a DST night's missing or doubled hour
    needs no arithmetic: added at 01:30 on a spring-forward night, the site is due at
    03:00, the first local time past 02:00."""
    local = created_at.astimezone(ZoneInfo(timezone))
    return (local.date(), local.hour) < (local_date, hour)


def due_sites(session: Session, now: datetime) -> list[tuple[int, date]]:
    """(site id, local date) of every active site due and without its full run."""
    candidates: list[tuple[int, date]] = []
    for site_id, timezone, hour, created_at in session.execute(
        select(Site.id, Site.timezone, Site.full_sync_hour, Site.created_at)
        .where(Site.active)
        .order_by(Site.id)
    ):
        try:
            local_date = due_date(now, timezone, hour)
            if local_date is not None and not existed_at_hour(
                created_at, timezone, hour, local_date
            ):
                continue
        except (ZoneInfoNotFoundError, ValueError):
            # Zones are validated when a site is saved; one bad row must not stop the
            # other sites' runs, so it is logged and skipped.
            log.error("schedules.due.bad_timezone", extra={"site": site_id, "timezone": timezone})
            continue
        if local_date is not None:
            candidates.append((site_id, local_date))
    if not candidates:
        return []
    done = {
        (site_id, local_date)
        for site_id, local_date in session.execute(
            select(SyncRun.site_id, SyncRun.local_date).where(
                SyncRun.kind.in_((RunKind.FULL, RunKind.PREVIEW)),
                tuple_(SyncRun.site_id, SyncRun.local_date).in_(candidates),
            )
        )
    }
    return [candidate for candidate in candidates if candidate not in done]


def start_due_runs(ctx: Context, now: datetime) -> list[int]:
    """Start the due sites' full runs; return the ids of the runs started.

    A site refused (another beat started its run first, or a run is going) is logged
    and skipped. A broker outage raises `Unavailable` after failing that one run by
    name: the other due sites are still due at the next beat.
    """
    with ctx.sessions() as session:
        due = due_sites(session, now)
        previewed = set(
            session.scalars(
                select(Site.id).where(
                    Site.id.in_([site_id for site_id, _ in due]), Site.awaiting_first_sync
                )
            )
        )
    started: list[int] = []
    for site_id, local_date in due:
        kind = RunKind.PREVIEW if site_id in previewed else RunKind.FULL
        try:
            started.append(
                start_run(ctx, site_id, kind=kind, trigger="beat", local_date=local_date)
            )
        except Conflict as refusal:
            # Another beat's run, or a run going: the site stays due and the next beat
            # after that run ends starts tonight's. A paused run holds the nightly
            # until an operator resumes or cancels it, so that one is a warning.
            held = isinstance(refusal, AlreadyRunning) and refusal.status == RunStatus.PAUSED
            log.log(
                logging.WARNING if held else logging.INFO,
                "schedules.due.not_started",
                extra={"site": site_id, "date": str(local_date), "reason": refusal.message},
            )
    if started:
        log.info("schedules.full_sync.started", extra={"runs": started})
    return started
