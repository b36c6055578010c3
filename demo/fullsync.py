"""Start the full sync of the demo's sites and follow it with live progress.

The runs are the sites' nightly runs (`kind = full`, today's local date), started
now: beat asks every few minutes which sites are past their hour without a run for
the day (schedules/due.py), and would otherwise start a second 20,000-SKU run of each
new site in the middle of the demo. If beat got there first, its run is the one
followed.

Progress is `stocksync sync`'s own display (cli/sync.py `follow`), read from the
run rows like the API and the dashboard. It runs in a thread so that this one can
watch the stack: a dead worker would otherwise leave the bars waiting forever.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cli.sync import follow
from demo.processes import LoggedSupervisor
from models import Site, SyncRun
from sync.context import Context
from sync.errors import Conflict
from sync.progress import Progress
from sync.runs import RunKind, start_run


class RunsTimedOut(RuntimeError):
    """The runs did not finish in the time the demo allows them."""


def start_full_syncs(ctx: Context, site_ids: Mapping[str, int]) -> dict[str, int]:
    """Tonight's full run of each site, started now; run id by platform."""
    runs = {}
    for platform, site_id in site_ids.items():
        with ctx.sessions() as session:
            zone = session.get_one(Site, site_id).timezone
        today = datetime.now(UTC).astimezone(ZoneInfo(zone)).date()
        try:
            runs[platform] = start_run(
                ctx, site_id, kind=RunKind.FULL, trigger="demo", local_date=today
            )
        except Conflict:
            # Beat started today's run of the site first: follow that one.
            with ctx.sessions() as session:
                runs[platform] = session.scalars(
                    select(SyncRun.id).where(
                        SyncRun.site_id == site_id,
                        SyncRun.kind == RunKind.FULL,
                        SyncRun.local_date == today,
                    )
                ).one()
    return runs


def follow_runs(
    sessions: sessionmaker[Session],
    runs: Mapping[str, int],
    names: Mapping[str, str],
    supervisor: LoggedSupervisor,
    timeout: float,
) -> dict[int, Progress]:
    """Show the runs' progress until all have finished; their last progress by run id.

    Raises `StackDied` if a stack process exits, `RunsTimedOut` after `timeout` s.
    """
    outcome: dict[int, Progress] = {}
    failure: list[BaseException] = []

    def show() -> None:
        try:
            pairs = [(run_id, names[platform]) for platform, run_id in runs.items()]
            outcome.update(
                follow(sessions, pairs, sys.stdout, tty=sys.stdout.isatty(), as_json=False)
            )
        except Exception as exc:  # handed to the main thread, which raises it
            failure.append(exc)

    # A daemon: if the stack dies the main thread raises, and nothing may keep the
    # process alive waiting for runs that cannot finish.
    thread = threading.Thread(target=show, name="demo-progress", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while thread.is_alive():
        supervisor.check()
        if time.monotonic() > deadline:
            raise RunsTimedOut(f"the full syncs did not finish within {timeout:.0f} s")
        thread.join(timeout=0.5)
    if failure:
        raise failure[0]
    return outcome
