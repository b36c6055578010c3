"""A sandbox stack behind the whole real-time path, for end-to-end tests: the store and
its ERP mirrored (or fully synced), the receiver over HTTP, the relay and a real worker,
each platform sandbox sending its signed webhooks to the receiver as the test asks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from celery import Celery
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from models import RunStatus
from models.crypto import Vault
from sandbox.server import running
from settings import Settings
from sync.context import Context
from tests.support.relaying import relaying
from tests.support.stack import (
    FAST,
    Stack,
    installed_context,
    mirror,
    sandbox_stack,
    sync_to_end,
    workers,
)
from workers.app import make_celery

#: The webhook providers addressed by source id; stores are addressed by site id.
ERPS = ("businesscentral", "zoho")


@dataclass
class LiveStack:
    stack: Stack
    context: Context
    receiver_url: str
    celery: Celery

    def url(self, provider: str) -> str:
        """Where `provider`'s webhooks for this stack's site or source go."""
        owner = self.stack.source_id if provider in ERPS else self.stack.site_id
        return f"{self.receiver_url}/webhooks/{provider}/{owner}"


@contextmanager
def live_stack(
    settings: Settings,
    db: sessionmaker[Session],
    vault: Vault,
    platform: str,
    *,
    synced: bool = False,
    **options: Any,
) -> Iterator[LiveStack]:
    """`sandbox_stack(..., platform, **options)`, mirrored, with the receiver, the relay
    and a worker running; no sandbox sends a webhook until the test sets its URL.

    With `synced`, a full sync on the worker takes the mirror's place, so the store also
    starts in step with its ERP whatever the stack's `drift`: a test of what the ERP's
    notices do must not see a difference the ERP never announced."""
    with (
        sandbox_stack(db, vault, platform, **options) as stack,
        installed_context(settings, **FAST) as context,
    ):
        if not synced:
            mirror(context, stack.site_id)
        app = make_celery(settings)
        with running(create_app(settings)) as base, relaying(settings), workers(app):
            if synced:
                run = sync_to_end(app, db, stack.site_id)
                assert run.status == RunStatus.COMPLETED, (run.status, run.error)
            yield LiveStack(stack, context, base, app)
