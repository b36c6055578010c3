"""A hung PostgreSQL does not hang the receiver (issue 19 item 14).

The database is frozen, not stopped (SIGSTOP of the server and its backends): its
sockets stay open and nothing answers, as with a stuck disk or a hung host. The web
process, gunicorn with gevent workers as deployed, must answer every door promptly
with its outage status and recover by itself once the server thaws.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import requests
from sqlalchemy.orm import Session, sessionmaker

from models import Platform
from models.crypto import Vault
from settings import Settings
from tests.factories import make_site, make_source, signed
from tests.support.gunicorn_web import gunicorn_web
from tests.support.receiver import post
from tests.support.stoppable_postgres import StoppablePostgres, private_postgres

#: Generous against the bounds (about 1 s for webhooks, 3 s for admin and /metrics):
#: the point is an answer instead of a hang of 45 s and more.
ANSWER_WITHIN = 15


@pytest.fixture
def frozen_able() -> Iterator[tuple[StoppablePostgres, sessionmaker[Session]]]:
    with private_postgres() as server_and_sessions:
        yield server_and_sessions


def _deliver(url: str) -> requests.Response:
    return post(url, signed.standard(msg_id=uuid.uuid4().hex))


def test_a_frozen_database_gets_prompt_503s_and_the_receiver_recovers(
    settings: Settings,
    frozen_able: tuple[StoppablePostgres, sessionmaker[Session]],
    vault: Vault,
    tmp_path: Path,
) -> None:
    server, sessions = frozen_able
    with sessions.begin() as session:
        source = make_source(session, vault, name="erp")
        site = make_site(
            session,
            vault,
            source,
            name="std",
            platform=Platform.WOOCOMMERCE,
            webhook_secret_sealed=vault.seal(signed.STANDARD_SECRET),
        )
        site_id = site.id
    settings = replace(settings, database_url=server.url)
    admin = {"Authorization": f"Bearer {settings.admin_token}"}
    with gunicorn_web(settings, tmp_path) as base:
        url = f"{base}/webhooks/standard/{site_id}"
        assert _deliver(url).status_code == 200  # the owner is cached now
        server.freeze()
        try:
            answer = _deliver(url)
            assert answer.status_code == 503
            assert answer.headers["Stocksync-Outcome"] == "unavailable"
            assert "Retry-After" in answer.headers
            # An owner not cached needs the database too.
            assert _deliver(f"{base}/webhooks/standard/{site_id + 1000}").status_code == 503
            ready = requests.get(f"{base}/readyz", timeout=ANSWER_WITHIN)
            assert ready.status_code == 503
            assert "postgresql" in ready.json()["failing"]
            sites = requests.get(f"{base}/api/sites", headers=admin, timeout=ANSWER_WITHIN)
            assert sites.status_code == 503
            metrics = requests.get(f"{base}/metrics", headers=admin, timeout=ANSWER_WITHIN)
            assert metrics.status_code == 200
            assert 'stocksync_metrics_source_up{source="postgresql"} 0.0' in metrics.text
        finally:
            server.thaw()
        deadline = time.monotonic() + 30
        while (status := _deliver(url).status_code) != 200:
            assert status == 503
            assert time.monotonic() < deadline, "the receiver did not recover"
            time.sleep(0.5)
        assert requests.get(f"{base}/readyz", timeout=ANSWER_WITHIN).status_code == 200
        assert requests.get(f"{base}/api/sites", headers=admin, timeout=10).status_code == 200
