"""The beat schedule names real tasks, at the periods the design asks for."""

from __future__ import annotations

from celery.schedules import crontab

from schedules.beat import DUE_CHECK_SECONDS, LEASE_SWEEP_SECONDS, beat_schedule
from settings import Settings
from workers import presets
from workers.app import make_celery


def test_every_entry_names_a_registered_maintenance_task() -> None:
    """Beat names tasks by string (schedules/ never imports workers/): each name must
    be a task the worker registers, on the queue and priority beat sends it with."""
    app = make_celery(Settings(redis_url="redis://127.0.0.1:1/0"))
    app.loader.import_default_modules()
    for name, entry in beat_schedule().items():
        assert entry["task"] in app.tasks, name
        task = app.tasks[entry["task"]]
        assert task.queue == entry["options"]["queue"] == presets.MAINTENANCE["queue"], name
        assert entry["options"]["priority"] == presets.PRIORITY_MAINTENANCE, name


def test_periods() -> None:
    schedule = {entry["task"]: entry["schedule"] for entry in beat_schedule().values()}
    assert schedule["workers.maintenance.start_due_syncs"] == DUE_CHECK_SECONDS <= 300
    # A dead worker's batches come back within a couple of minutes of its last renewal.
    sweep = schedule["workers.maintenance.return_stuck_batches"]
    assert sweep == LEASE_SWEEP_SECONDS
    assert Settings().batch_lease_seconds + sweep <= 120
    assert schedule["workers.maintenance.outbox_sweep"] == 60
    purge = schedule["workers.maintenance.purge_webhook_log"]
    assert isinstance(purge, crontab)
    assert purge.hour == {3} and purge.minute == {0}


def test_a_backlog_of_beats_expires_instead_of_piling_up() -> None:
    for name, entry in beat_schedule().items():
        period = entry["schedule"]
        if isinstance(period, float):
            assert entry["options"]["expires"] <= period, name
        assert entry["options"]["queue"] == "maintenance", name
