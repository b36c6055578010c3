"""Fixtures of the sync tests: a worker context and small sandbox stacks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from sqlalchemy.orm import Session, sessionmaker

from models.crypto import Vault
from settings import Settings
from sync.context import Context
from tests.support.stack import FAST, Stack, sandbox_stack
from workers.context import client_context


@pytest.fixture
def ctx(settings: Settings, redis_client: redis.Redis) -> Iterator[Context]:
    context = client_context(settings, **FAST)
    yield context
    context.dispose()


@pytest.fixture
def woo(db: sessionmaker[Session], vault: Vault) -> Iterator[Stack]:
    """A 300-SKU WooCommerce store (with variations) and its ERP, 20 % drifted."""
    with sandbox_stack(db, vault, "woocommerce", items=300, drift=0.2) as stack:
        yield stack
