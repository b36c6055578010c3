"""A full sync through a storm: 20 % of the store's and the ERP's calls answer 429 or
503. The run completes, the store ends equal to the ERP, and the wait each 429 asked
for (`Retry-After: 1`) passed before the same request came again."""

from __future__ import annotations

import hashlib
import io
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from models import RunStatus
from models.crypto import Vault
from settings import Settings
from tests.support.stack import (
    FAST,
    finished,
    installed_context,
    prepared_run,
    run_row,
    sandbox_stack,
    wait_for,
    workers,
)
from workers.app import make_celery

ITEMS = 6000

Request = tuple[str, str, str, str]


class Recorder:
    """WSGI middleware logging (arrival time, request identity, status) of each call."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.log: list[tuple[float, Request, int]] = []
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        arrived = time.monotonic()
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        request = (
            environ["REQUEST_METHOD"],
            environ["PATH_INFO"],
            environ["QUERY_STRING"],
            hashlib.sha256(body).hexdigest(),
        )
        statuses: list[int] = []

        def recording(status: str, headers: Any, *args: Any) -> Any:
            statuses.append(int(status.split()[0]))
            return start_response(status, headers, *args)

        result = self.app(environ, recording)
        with self.lock:
            self.log.append((arrived, request, statuses[0]))
        return result

    def waits_after_429(self) -> list[float]:
        """For each 429, the seconds until the same request arrived again."""
        log = sorted(self.log)
        waits = []
        for i, (at, request, status) in enumerate(log):
            if status == 429:
                again = next(t for t, other, _ in log[i + 1 :] if other == request)
                waits.append(again - at)
        return waits


@pytest.mark.slow
def test_a_run_completes_through_429s_and_503s(
    db: sessionmaker[Session], vault: Vault, settings: Settings, redis_client: object
) -> None:
    app = make_celery(settings)
    # WooCommerce: the most write requests per batch (variations go per parent).
    with (
        sandbox_stack(db, vault, "woocommerce", items=ITEMS, drift=0.1) as stack,
        installed_context(settings, **FAST) as ctx,
    ):
        drifted = stack.differing()
        # The catalog is mirrored before the storm: the storm is about the batches.
        run_id, batch_ids = prepared_run(ctx, stack.site_id)
        recorders = [Recorder(stack.store_app.wsgi_app), Recorder(stack.erp_app.wsgi_app)]
        stack.store_app.wsgi_app, stack.erp_app.wsgi_app = recorders
        for sandbox in (stack.store, stack.erp):
            sandbox.set_faults(share_429=0.1, share_5xx=0.1)
        ctx.broker.queue_batches(batch_ids, "manual")
        with workers(app, concurrency=2):
            wait_for(lambda: finished(db, run_id), timeout=240, what="the run")

        assert stack.differing() == set()

    run = run_row(db, run_id)
    assert (run.status, run.synced, run.unchanged, run.failed) == (
        RunStatus.COMPLETED,
        len(drifted),
        ITEMS - len(drifted),
        0,
    )
    faults = [status for r in recorders for _, _, status in r.log if status in (429, 503)]
    assert len(faults) > 20
    waits = [wait for recorder in recorders for wait in recorder.waits_after_429()]
    assert waits and min(waits) >= 1.0
