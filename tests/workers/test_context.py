"""The worker context: built once per process and settings, connectors gated, tokens
shared through Redis."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
import redis
from sqlalchemy.orm import Session, sessionmaker

from models.crypto import Vault
from settings import Settings
from sync.context import build_context
from sync.limits import Quota
from sync.pacing import calls_made
from sync.tokens import RedisTokenCache
from tests.support.broker import RecordingBroker
from tests.support.stack import load_site, sandbox_stack
from workers import context as worker_context
from workers.app import make_celery
from workers.context import client_context, get_context


def test_one_context_per_process_and_settings(settings: Settings, redis_client: object) -> None:
    try:
        first = get_context(make_celery(settings))
        assert get_context(make_celery(settings)) is first
        other = get_context(make_celery(replace(settings, batch_size=7)))
        assert other is not first and other.settings.batch_size == 7
    finally:
        worker_context.reset()


def test_an_installed_context_is_the_one_tasks_get(settings: Settings) -> None:
    context = client_context(settings, backoff_base_seconds=0.5)
    try:
        worker_context.install(context)
        assert get_context(make_celery(settings)) is context
    finally:
        worker_context.reset()


def test_unresolved_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="resolved"):
        build_context(Settings(), RecordingBroker())


def test_connectors_come_decrypted_and_gated(
    settings: Settings, db: sessionmaker[Session], vault: Vault, redis_client: object
) -> None:
    context = client_context(settings)
    try:
        with sandbox_stack(db, vault, "shopify", items=5, site={"rate_limit_requests": 9}) as stack:
            site = load_site(db, stack.site_id)
            store = context.storefront(site)
            assert len(list(store.iter_catalog())) == 5
            assert calls_made(store) == 2  # the variant count (shopify_bulk), then a page
            assert context.limit(site).quota == Quota(9, 1.0, 2)  # window: the stack's
            erp = context.source(site.source)
            assert len(erp.get_quantities(["SKU-000001"])) == 1
            assert calls_made(erp) == 2  # the token, then the read
    finally:
        context.dispose()


def test_tokens_are_shared_through_redis_and_expire(redis_client: redis.Redis) -> None:
    one, two = RedisTokenCache(redis_client), RedisTokenCache(redis_client)
    one.set("oauth:zoho:abc", "token-1", ttl_seconds=1)
    assert two.get("oauth:zoho:abc") == "token-1"
    assert two.get("oauth:zoho:other") is None
    time.sleep(1.1)
    assert two.get("oauth:zoho:abc") is None
