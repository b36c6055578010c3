"""`stocksync sync <site>|--all`: start manual full syncs and follow them to the end.

The progress is read from the database every half second (sync.progress.run_progress,
the same numbers as the API and the dashboard), so following can stop and start again
without touching the run: Ctrl-C stops following, not the run.

On a terminal, one line per run is redrawn in place; otherwise (a pipe, a CI log) a
plain line is printed when a run's numbers change, at most once a second, and always
at the end. `--json` prints one JSON object per run per change instead. The exit code
is 0 when every run completed, 1 if one failed or was cancelled.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from typing import TextIO

import click
from sqlalchemy.orm import Session, sessionmaker

from cli.context import Context
from cli.services import echo_json, services
from models import Site
from sync.encoding import dumps
from sync.progress import Progress, run_progress
from sync.runs import start_all, start_run
from sync.sites import site_id

FINISHED = ("completed", "failed", "cancelled")
POLL_SECONDS = 0.5
#: Plain (non-terminal) output prints a changed run at most this often.
PLAIN_EVERY_SECONDS = 1.0
BAR_WIDTH = 24


def _eta(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def render(progress: Progress, site: str, bar: bool) -> str:
    """One line: done/total and percent, the counts, rate, ETA and status."""
    done = progress.synced + progress.unchanged + progress.failed + progress.opted_out
    rate = "-" if progress.rate is None else f"{progress.rate:,.0f}/s"
    line = (
        f"run {progress.run_id} {site}: {done:,}/{progress.total:,} ({progress.percent:.1f}%) "
        f"synced {progress.synced:,} unchanged {progress.unchanged:,} "
        f"failed {progress.failed:,} opted out {progress.opted_out:,} pending {progress.pending:,} "
        f"rate {rate} ETA {_eta(progress.eta_seconds)} {progress.status}"
    )
    if not bar:
        return line
    filled = int(BAR_WIDTH * min(progress.percent, 100.0) / 100)
    return f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {line}"


def _key(progress: Progress) -> tuple[object, ...]:
    """What makes a line worth printing again (rate and ETA move with the clock)."""
    return (
        progress.status,
        progress.total,
        progress.synced,
        progress.unchanged,
        progress.failed,
        progress.opted_out,
        progress.skipped,
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
) -> dict[int, Progress]:
    """Report `runs` ((run id, site name) pairs) until each has finished; return the
    last progress of each."""
    redraw = tty and not as_json
    printed: dict[int, tuple[float, tuple[object, ...]]] = {}
    while True:
        with sessions() as session:
            now = {run_id: run_progress(session, run_id) for run_id, _ in runs}
        if redraw and printed:
            out.write(f"\x1b[{len(runs)}F")  # back to the first line of the block
        for run_id, site in runs:
            progress = now[run_id]
            at, key = printed.get(run_id, (float("-inf"), ()))
            finished = progress.status in FINISHED
            if not redraw and (
                key == _key(progress)
                or (not finished and time.monotonic() - at < PLAIN_EVERY_SECONDS)
            ):
                continue
            if as_json:
                out.write(dumps({**asdict(progress), "site": site}) + "\n")
            else:
                out.write(render(progress, site, bar=redraw) + ("\x1b[K\n" if redraw else "\n"))
            printed[run_id] = (time.monotonic(), _key(progress))
        out.flush()
        if all(p.status in FINISHED for p in now.values()):
            return now
        time.sleep(poll_seconds)


def exit_code(final: dict[int, Progress]) -> int:
    return 0 if all(p.status == "completed" for p in final.values()) else 1


@click.command("sync")
@click.argument("site", required=False)
@click.option("--all", "every", is_flag=True, help="Every active site without a run going.")
@click.option("--no-wait", is_flag=True, help="Start the run(s) and return at once.")
@click.option("--json", "as_json", is_flag=True, help="JSON lines instead of text.")
@click.pass_obj
def sync(obj: Context, site: str | None, every: bool, no_wait: bool, as_json: bool) -> None:
    """Start a manual full sync of SITE (id or name), or of --all sites, and follow it.

    Exits 1 if a run fails or is cancelled. Ctrl-C stops following; the run goes on.
    """
    if bool(site) == every:
        raise click.UsageError("give a SITE or --all")
    with services(obj) as ctx:
        if every:
            outcome = start_all(ctx, trigger="cli")
        else:
            assert site is not None
            chosen = site_id(ctx, site)
            run_id = start_run(ctx, chosen, trigger="cli")
            outcome = {"started": [{"site_id": chosen, "run_id": run_id}], "skipped": []}
        names = _site_names(ctx.sessions, [s["site_id"] for s in outcome["started"]])
        if as_json and no_wait:
            echo_json(outcome)
        elif not as_json:
            for started in outcome["started"]:
                click.echo(f"run {started['run_id']} started for {names[started['site_id']]}")
            for skipped in outcome["skipped"]:
                click.echo(f"skipped site {skipped['site_id']}: {skipped['reason']}", err=True)
        if no_wait or not outcome["started"]:
            return
        runs = [(s["run_id"], names[s["site_id"]]) for s in outcome["started"]]
        out = sys.stdout
        try:
            final = follow(ctx.sessions, runs, out, tty=out.isatty(), as_json=as_json)
        except KeyboardInterrupt:
            click.echo("\nstopped following; the run goes on (stocksync runs cancel ID)", err=True)
            sys.exit(130)
    for progress in final.values():
        if progress.status != "completed" and not as_json:
            click.echo(f"run {progress.run_id} {progress.status}", err=True)
    sys.exit(exit_code(final))


def _site_names(sessions: sessionmaker[Session], site_ids: Sequence[int]) -> dict[int, str]:
    with sessions() as session:
        return {site_id: session.get_one(Site, site_id).name for site_id in site_ids}
