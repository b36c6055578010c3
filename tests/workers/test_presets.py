"""Every task of ours takes one of the presets, exactly (docs/style.md rule 3).

Celery accepts any keyword as a task option and keeps it as a class attribute, so a
misspelt option (`acks_lates=True`) silently does nothing. This walks every task the
worker registers and checks that its options are one preset's, and that nothing was
set on it that Celery's `Task` does not know.
"""

from __future__ import annotations

from typing import Any

import pytest
from celery import Celery, Task

from settings import Settings
from workers import presets
from workers.app import TASK_MODULES, make_celery

#: What a task class may carry besides its preset: set by `@task` itself.
DECORATOR_ATTRIBUTES = {
    "name",
    "run",
    "bind",
    "typing",
    "_app",
    "_decorated",
    "_orig_run",
    "__module__",
    "__doc__",
    "__wrapped__",
    "__header__",
    "__qualname__",
    "__annotations__",
    "_exec_options",
    "_decorated_fun",
    "store_eager_result",
}
#: Read with getattr when publishing (`celery.app.task.extract_exec_options`), so not
#: declared on `Task`, but real options.
EXEC_OPTIONS = {"queue", "routing_key", "exchange", "priority", "expires", "serializer"}


@pytest.fixture(scope="module")
def app() -> Celery:
    app = make_celery(Settings(redis_url="redis://127.0.0.1:1/0"))
    app.loader.import_default_modules()
    return app


def _ours(app: Celery) -> dict[str, Task]:
    return {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}


def _preset_of(task: Task) -> str | None:
    for name, preset in presets.PRESETS.items():
        if all(getattr(task, option) == value for option, value in preset.items()):
            return name
    return None


def test_every_task_module_registers_tasks(app: Celery) -> None:
    modules = {task.__module__ for task in _ours(app).values()}
    assert set(TASK_MODULES) <= modules


def test_every_task_takes_a_preset(app: Celery) -> None:
    missing = {name: _preset_of(task) for name, task in _ours(app).items()}
    assert all(missing.values()), {name: p for name, p in missing.items() if p is None}


def test_no_task_carries_an_option_celery_does_not_know(app: Celery) -> None:
    known = set(dir(Task)) | DECORATOR_ATTRIBUTES | EXEC_OPTIONS
    unknown: dict[str, Any] = {}
    for name, task in _ours(app).items():
        extra = set(vars(type(task))) - known
        if extra:
            unknown[name] = sorted(extra)
    assert unknown == {}


def test_presets_name_real_queues_and_routes() -> None:
    import celeryconfig

    for preset in presets.PRESETS.values():
        assert preset["queue"] in celeryconfig.QUEUES
        assert preset["acks_late"] and preset["reject_on_worker_lost"]
