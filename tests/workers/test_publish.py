"""Publishing by name (workers/publish.py): a broker outage is reported as one."""

from __future__ import annotations

from dataclasses import replace

import pytest
from kombu.exceptions import OperationalError

from embedded.ports import free_port
from settings import Settings
from workers.app import make_celery
from workers.publish import send
from workers.runs import START


def test_publishing_with_redis_down_raises_the_brokers_error(settings: Settings) -> None:
    """Not the result backend's RuntimeError ("must be restarted"), which callers
    cannot tell from a bug: no result subscription is attempted at all."""
    app = make_celery(replace(settings, redis_url=f"redis://127.0.0.1:{free_port()}/0"))
    with pytest.raises(OperationalError):
        send(app, START, [1], queue="sync")
