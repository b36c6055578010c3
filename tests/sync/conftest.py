"""Fixtures of the sync tests: contexts and small sandbox stacks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from sqlalchemy.orm import Session, sessionmaker

from models.crypto import Vault
from models.db import transaction
from settings import Settings
from sync.context import Context, build_context
from sync.subscribers import subscribe
from tests.factories import make_site, make_source
from tests.support.broker import RecordingBroker
from tests.support.stack import FAST, Stack, sandbox_stack
from workers.context import client_context


@pytest.fixture
def ctx(settings: Settings, redis_client: redis.Redis) -> Iterator[Context]:
    context = client_context(settings, **FAST)
    yield context
    context.dispose()


@pytest.fixture
def broker() -> RecordingBroker:
    return RecordingBroker()


@pytest.fixture
def service(
    settings: Settings,
    db: sessionmaker[Session],
    redis_client: redis.Redis,
    broker: RecordingBroker,
) -> Iterator[Context]:
    """A context whose broker only records, so a test asserts exactly what was queued;
    on an emptied schema and keyspace."""
    with build_context(settings, broker, **FAST) as context:
        yield context


@pytest.fixture
def woo(db: sessionmaker[Session], vault: Vault) -> Iterator[Stack]:
    """A 300-SKU WooCommerce store (with variations) and its ERP, 20 % drifted."""
    with sandbox_stack(db, vault, "woocommerce", items=300, drift=0.2) as stack:
        yield stack


@pytest.fixture
def site_id(db: sessionmaker[Session], vault: Vault) -> int:
    """An active site and its source, for tests that never call the store."""
    with transaction(db) as session:
        return make_site(session, vault, make_source(session, vault)).id


@pytest.fixture
def subscriber(service: Context) -> None:
    """A subscriber to every lifecycle topic, so closing a run records a delivery."""
    subscribe(service, "http://127.0.0.1:9/hook")
