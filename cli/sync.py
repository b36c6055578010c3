"""`stocksync sync <site>|--all`: start manual full syncs and follow them to the end.

The progress is read from the database every half second (sync.progress.run_progress,
the same numbers as the API and the dashboard), so following can stop and start again
without touching the run: Ctrl-C stops following, not the run.

On a terminal, each run is a bar and its counts, redrawn in place by `rich` within the
terminal's width (80 columns fit); otherwise (a pipe, a CI log) a plain line is printed
when a run's numbers change, at most once a second, and always at the end. `--json`
prints one JSON object per run per change instead. The exit code is 0 when every run
completed, 1 if one failed or was cancelled, or if no worker is running to take it.

A run that ends failed, or with failed SKUs, is explained: the run's error, then its
batches' errors and the SKUs' reasons, most frequent first (sync_runs.error,
sync_batches.error and .failures; sync/batches.py records them). A bar is as full as
the SKUs the run finished, so a failed or cancelled run never looks complete.

Whether a worker runs is read from the heartbeats every consuming worker writes every
5 s, of one that reads the sync queue (an events-only worker runs no sync;
workers/heartbeat.py, sync/consumers.py). With none newer than
`sync.consumers.STALL_SECONDS`, a run would sit `queued` forever: after
`NO_WORKER_GRACE_SECONDS` (long enough for a worker that just started to write its
first heartbeat) `sync` stops following, says so and how to start one, and exits 1;
the run stays queued and starts when a worker does.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import TextIO

import click
from rich.console import Console, Group
from rich.live import Live
from rich.text import Text
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cli.context import Context
from cli.services import echo_json, services
from cli.tables import print_table
from models import Site, SyncBatch, SyncRun
from sync.consumers import worker_running
from sync.context import Context as ServiceContext
from sync.encoding import dumps
from sync.preview import preview_changes, start_preview
from sync.progress import Progress, run_progress
from sync.runs import start_all, start_run
from sync.sites import site_id

FINISHED = ("completed", "failed", "cancelled")
#: Finished without doing their work: never drawn as complete.
POLL_SECONDS = 0.5
#: Plain (non-terminal) output prints a changed run at most this often.
PLAIN_EVERY_SECONDS = 1.0
#: How long a run may wait queued with no worker heartbeat before `sync` says so
#: (workers/heartbeat.py writes the first one 5 s after a worker starts).
NO_WORKER_GRACE_SECONDS = 12.0
#: The bar's width on a terminal; with the name (at most `NAME_WIDTH`), the figures and
#: the status a run's first line is at most 74 columns.
BAR_WIDTH = 20
NAME_WIDTH = 18
#: Distinct failure reasons shown for a run.
REASONS_SHOWN = 5
START_A_WORKER = (
    "start one with `stocksync up` (or `celery -A workers worker -Q events,sync,maintenance`)"
)


def _eta(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def _done(progress: Progress) -> int:
    return progress.synced + progress.unchanged + progress.failed + progress.opted_out


def render(progress: Progress, site: str) -> str:
    """One plain line: done/total and percent, the counts, rate, ETA and status."""
    rate = "-" if progress.rate is None else f"{progress.rate:,.0f}/s"
    return (
        f"run {progress.run_id} {site}: {_done(progress):,}/{progress.total:,} "
        f"({progress.percent:.1f}%) "
        f"synced {progress.synced:,} unchanged {progress.unchanged:,} "
        f"failed {progress.failed:,} opted out {progress.opted_out:,} "
        f"pending {progress.pending:,} rate {rate} ETA {_eta(progress.eta_seconds)} "
        f"{_status(progress)}{_held(progress)}"
        + (f" | plan: {progress.plan_warning}" if progress.plan_warning else "")
    )


def _held(progress: Progress) -> str:
    """What a nightly run left at the night's end, if anything (sync/runs.py `hold_over`)."""
    if not progress.held_over:
        return ""
    return f" (night ended: {progress.held_over:,} SKUs held over, first next night)"


def _status(progress: Progress) -> str:
    """The status, and what a live run is doing where it says."""
    return f"{progress.status}: {progress.activity}" if progress.activity else progress.status


def _style(status: str) -> str:
    return {"completed": "green", "failed": "red", "cancelled": "yellow"}.get(status, "cyan")


def bars(runs: Sequence[tuple[Progress, str]]) -> Group:
    """What the terminal shows: per run a bar line (name, bar, done/total, percent,
    status) and a line of counts, each within 80 columns (the counts fold if the
    terminal is narrower). The bar fills with the SKUs finished, so a run that failed
    early stays short, in red."""
    width = min(NAME_WIDTH, max((len(site) for _, site in runs), default=0))
    lines: list[Text] = []
    for progress, site in runs:
        name = site if len(site) <= width else site[: width - 1] + "…"
        filled = int(BAR_WIDTH * min(progress.percent, 100.0) / 100)
        style = _style(progress.status)
        line = Text(f"{name:<{width}} ")
        line.append("━" * filled, style=style)
        line.append("─" * (BAR_WIDTH - filled), style="dim")
        line.append(f" {_done(progress):,}/{progress.total:,} {progress.percent:5.1f}% ")
        line.append(progress.status, style=style)
        rate = "-" if progress.rate is None else f"{progress.rate:,.0f}/s"
        counts = Text(
            f"  {progress.activity}"
            if progress.activity
            else f"  synced {progress.synced:,} unchanged {progress.unchanged:,} "
            f"failed {progress.failed:,} opted out {progress.opted_out:,} "
            f"pending {progress.pending:,} {rate} ETA {_eta(progress.eta_seconds)}"
            f"{_held(progress)}",
            style="dim",
        )
        lines += [line, counts]
        if progress.plan_warning:
            lines.append(Text(f"  plan: {progress.plan_warning}", style="yellow"))
    return Group(*lines)


def _key(progress: Progress) -> tuple[object, ...]:
    """What makes a line worth printing again (rate and ETA move with the clock)."""
    return (
        progress.status,
        progress.activity,
        progress.plan_warning,
        progress.total,
        progress.synced,
        progress.unchanged,
        progress.failed,
        progress.opted_out,
        progress.skipped,
        progress.held_over,
        progress.pending,
    )


def follow(
    sessions: sessionmaker[Session],
    runs: Sequence[tuple[int, str]],
    out: TextIO,
    *,
    tty: bool,
    as_json: bool,
    poll_seconds: float = POLL_SECONDS,
    give_up: Callable[[dict[int, Progress]], bool] | None = None,
) -> dict[int, Progress]:
    """Report `runs` ((run id, site name) pairs) until each has finished, or until
    `give_up` (asked at each poll) says to stop; return the last progress of each."""
    if tty and not as_json:
        console = Console(file=out, highlight=False)
        with Live(console=console, auto_refresh=False, transient=False) as live:
            return _poll(
                sessions, runs, poll_seconds, give_up, lambda now: _redraw(live, runs, now)
            )
    printed: dict[int, tuple[float, tuple[object, ...]]] = {}

    def show(now: dict[int, Progress]) -> None:
        for run_id, site in runs:
            progress = now[run_id]
            at, key = printed.get(run_id, (float("-inf"), ()))
            finished = progress.status in FINISHED
            if key == _key(progress) or (
                not finished and time.monotonic() - at < PLAIN_EVERY_SECONDS
            ):
                continue
            if as_json:
                out.write(dumps({**asdict(progress), "site": site}) + "\n")
            else:
                out.write(render(progress, site) + "\n")
            printed[run_id] = (time.monotonic(), _key(progress))
        out.flush()

    return _poll(sessions, runs, poll_seconds, give_up, show)


def _redraw(live: Live, runs: Sequence[tuple[int, str]], now: dict[int, Progress]) -> None:
    live.update(bars([(now[run_id], site) for run_id, site in runs]), refresh=True)


def _poll(
    sessions: sessionmaker[Session],
    runs: Sequence[tuple[int, str]],
    poll_seconds: float,
    give_up: Callable[[dict[int, Progress]], bool] | None,
    show: Callable[[dict[int, Progress]], None],
) -> dict[int, Progress]:
    while True:
        with sessions() as session:
            now = {run_id: run_progress(session, run_id) for run_id, _ in runs}
        show(now)
        if all(p.status in FINISHED for p in now.values()):
            return now
        if give_up is not None and give_up(now):
            return now
        time.sleep(poll_seconds)


def exit_code(final: dict[int, Progress]) -> int:
    return 0 if all(p.status == "completed" for p in final.values()) else 1


def explain(session: Session, run_id: int) -> list[str]:
    """Why a run failed or which SKUs failed: its error, then its batches' errors and its
    SKUs' reasons, most frequent first (at most `REASONS_SHOWN` of each)."""
    run = session.get(SyncRun, run_id)
    if run is None:
        return []
    lines = [f"  error: {run.error}"] if run.error else []
    batches = session.scalars(select(SyncBatch).where(SyncBatch.run_id == run_id)).all()
    errors = Counter(batch.error for batch in batches if batch.error)
    reasons: Counter[str] = Counter()
    for batch in batches:
        if isinstance(batch.failures, dict):
            reasons.update(str(reason) for reason in batch.failures.values())
    for error, count in errors.most_common(REASONS_SHOWN):
        lines.append(f"  {count:,} batch{'es' if count > 1 else ''}: {error}")
    for reason, count in reasons.most_common(REASONS_SHOWN):
        lines.append(f"  {count:,} SKU{'s' if count > 1 else ''}: {reason}")
    hidden = len(reasons) - REASONS_SHOWN
    if hidden > 0:
        lines.append(f"  and {hidden:,} other reason{'s' if hidden > 1 else ''}")
    return lines


def _outcome_lines(session: Session, progress: Progress, site: str) -> list[str]:
    """What to say after a run ended: nothing for a clean completion."""
    if progress.status == "completed" and not progress.failed:
        return []
    if progress.status == "completed":
        head = f"run {progress.run_id} {site} completed; {progress.failed:,} SKUs failed:"
    else:
        head = f"run {progress.run_id} {site} {progress.status}"
    return [head, *explain(session, progress.run_id)]


@click.command("sync")
@click.argument("site", required=False)
@click.option("--all", "every", is_flag=True, help="Every active site without a run going.")
@click.option("--no-wait", is_flag=True, help="Start the run(s) and return at once.")
@click.option("--json", "as_json", is_flag=True, help="JSON lines instead of text.")
@click.option(
    "--preview",
    is_flag=True,
    help="Write nothing: list what a full sync of SITE would change (store -> new number).",
)
@click.pass_obj
def sync(
    obj: Context, site: str | None, every: bool, no_wait: bool, as_json: bool, preview: bool
) -> None:
    """Start a manual full sync of SITE (id or name), or of --all sites, and follow it.

    With --preview, a run that writes nothing and then lists each SKU a sync would
    change. Exits 1 if a run fails or is cancelled, or if no worker is running to take
    it. Ctrl-C stops following; a worker goes on with the run.
    """
    if bool(site) == every:
        raise click.UsageError("give a SITE or --all")
    if preview and every:
        raise click.UsageError("--preview takes one SITE")
    with services(obj) as ctx:
        if every:
            outcome = start_all(ctx, trigger="cli")
        else:
            assert site is not None
            chosen = site_id(ctx, site)
            start = start_preview if preview else start_run
            run_id = start(ctx, chosen, trigger="cli")
            outcome = {"started": [{"site_id": chosen, "run_id": run_id}], "skipped": []}
        names = _site_names(ctx.sessions, [s["site_id"] for s in outcome["started"]])
        if as_json and no_wait:
            echo_json(outcome)
        elif not as_json:
            for started in outcome["started"]:
                click.echo(f"run {started['run_id']} started for {names[started['site_id']]}")
            for skipped in outcome["skipped"]:
                click.echo(f"skipped site {skipped['site_id']}: {skipped['reason']}", err=True)
        if not outcome["started"]:
            return
        if no_wait:
            if not as_json and not worker_running(ctx.redis):
                click.echo(
                    f"no worker is running: the run waits queued until one starts; "
                    f"{START_A_WORKER}",
                    err=True,
                )
            return
        runs = [(s["run_id"], names[s["site_id"]]) for s in outcome["started"]]
        started_at = time.monotonic()

        def no_worker(now: dict[int, Progress]) -> bool:
            waiting = all(p.status == "queued" for p in now.values())
            return (
                waiting
                and time.monotonic() - started_at >= NO_WORKER_GRACE_SECONDS
                and not worker_running(ctx.redis)
            )

        out = sys.stdout
        try:
            final = follow(
                ctx.sessions, runs, out, tty=out.isatty(), as_json=as_json, give_up=no_worker
            )
        except KeyboardInterrupt:
            click.echo(
                "\n" + interrupted([r for r, _ in runs], worker_running(ctx.redis)), err=True
            )
            sys.exit(130)
        if not all(p.status in FINISHED for p in final.values()):
            ids = " ".join(str(p.run_id) for p in final.values())
            raise click.ClickException(
                f"no worker is running: {START_A_WORKER}. The run stays queued and starts "
                f"when a worker does (cancel it with `stocksync runs cancel {ids}`)"
            )
        with ctx.sessions() as session:
            for run_id, name in [] if as_json else runs:
                for line in _outcome_lines(session, final[run_id], name):
                    click.echo(line, err=True)
        if preview and final[runs[0][0]].status == "completed":
            _print_changes(ctx, runs[0][0], as_json)
    sys.exit(exit_code(final))


#: Changes a preview prints at most (the rest: `GET /api/sync/runs/<id>/changes`).
PREVIEW_LINES = 1000


def _print_changes(ctx: ServiceContext, run_id: int, as_json: bool) -> None:
    found = preview_changes(ctx, run_id, limit=PREVIEW_LINES, offset=0)
    if as_json:
        echo_json(found)
        return
    click.echo(f"a full sync would change {found['total']} SKU(s); nothing was written")
    print_table(
        ["SKU", "store shows", "a sync would write"],
        [[row["sku"], row["store"], row["would_write"]] for row in found["items"]],
        numeric=("store shows", "a sync would write"),
    )
    if found["total"] > len(found["items"]):
        click.echo(f"(first {len(found['items'])}; all: GET /api/sync/runs/{run_id}/changes)")


def interrupted(run_ids: Sequence[int], worker: bool) -> str:
    """What Ctrl-C says: the run goes on only if a worker is running to take it."""
    ids = " ".join(str(run_id) for run_id in run_ids)
    if worker:
        return f"stopped following; the run goes on (stop it with `stocksync runs cancel {ids}`)"
    return (
        f"stopped following; no worker is running, so the run waits queued until one "
        f"starts ({START_A_WORKER}); cancel it with `stocksync runs cancel {ids}`"
    )


def _site_names(sessions: sessionmaker[Session], site_ids: Sequence[int]) -> dict[int, str]:
    with sessions() as session:
        return {site_id: session.get_one(Site, site_id).name for site_id in site_ids}
