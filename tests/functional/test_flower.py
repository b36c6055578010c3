"""Flower, as `stocksync up` and the Procfile run it, behind basic auth, lists our
worker and the tasks of a real run, with their arguments: ids only, no secrets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy.orm import Session, sessionmaker

from embedded.ports import free_port
from models.crypto import Vault
from sandbox.accounts import DEFAULTS
from settings import Settings
from sync.runs import start_run
from tests.support.stack import finished, run_row, sandbox_stack, wait_for
from workers.context import client_context

AUTH = ("ops", "flower-pass")
ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def _process(argv: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _get(url: str, **kwargs: Any) -> requests.Response | None:
    try:
        return requests.get(url, timeout=5, **kwargs)
    except requests.RequestException:
        return None  # not listening yet


@pytest.mark.slow
def test_flower_lists_our_worker_and_the_run_tasks(
    settings: Settings,
    db: sessionmaker[Session],
    vault: Vault,
    redis_client: object,
    tmp_path: Path,
) -> None:
    assert settings.database_url and settings.redis_url
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))}
    env |= {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "STOCKSYNC_ENCRYPTION_KEY": settings.encryption_keys[0],
        "STOCKSYNC_HOME": str(tmp_path),
        "FLOWER_BASIC_AUTH": "ops:flower-pass",  # as deployed: never on a command line
    }
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    celery = [sys.executable, "-m", "celery", "-A", "workers"]
    worker = [*celery, "worker", "-Q", "events,sync,maintenance", "-c", "1", "-n", "flowertest@%h"]
    flower = [
        *celery,
        "flower",
        f"--port={port}",
        "--address=127.0.0.1",
    ]
    with (
        sandbox_stack(db, vault, "bigcommerce", items=2000, store={"latency_ms": 10}) as stack,
        _process(worker, env, tmp_path / "worker.log"),
        _process(flower, env, tmp_path / "flower.log"),
    ):

        def workers_listed() -> bool:
            answer = _get(f"{base}/api/workers", auth=AUTH, params={"refresh": "1"})
            return answer is not None and any(n.startswith("flowertest@") for n in answer.json())

        wait_for(workers_listed, 60, "Flower to list the worker")
        refused = _get(f"{base}/api/workers")
        assert refused is not None and refused.status_code == 401

        ctx = client_context(settings)
        try:
            run_id = start_run(ctx, stack.site_id, trigger="test")
        finally:
            ctx.dispose()
        wait_for(lambda: finished(db, run_id), 120, "the run")
        expected = run_row(db, run_id).batches_total + 1  # the start task and each batch

        def tasks() -> dict[str, Any]:
            answer = _get(f"{base}/api/tasks", auth=AUTH)
            assert answer is not None and answer.status_code == 200
            return {k: v for k, v in answer.json().items() if v.get("state") == "SUCCESS"}

        wait_for(lambda: len(tasks()) >= expected, 30, "Flower to see every task succeed")
        found = list(tasks().values())

    names = {task["name"] for task in found}
    assert {"workers.runs.start", "workers.batches.process"} <= names
    start = next(task for task in found if task["name"] == "workers.runs.start")
    assert start["args"] in (f"({run_id},)", f"[{run_id}]")  # readable, and only an id
    assert all(task["worker"].startswith("flowertest@") for task in found)
    erp, store = DEFAULTS["businesscentral"].sandbox, DEFAULTS["bigcommerce"].sandbox
    secrets = (store["access_token"], erp["client_secret"], settings.encryption_keys[0])
    assert not any(secret in str(task) for task in found for secret in secrets)
    # The worker process logs JSON lines (logconfig.py), the start task's with its run.
    # (Its start-up banner, printed before logging is set up, is plain text.)
    output = (tmp_path / "worker.log").read_text().splitlines()
    lines = [json.loads(line) for line in output if line.startswith("{")]
    assert {"task": "workers.runs.start", "run": run_id, "process_role": "worker"}.items() <= (
        next(line for line in lines if line["message"] == "task.started" and "run" in line).items()
    )
