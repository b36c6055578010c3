"""`make demo` as a merchant meets it (python -m demo on the test's PostgreSQL and
Redis): plain site names, no internal target judged, what to do next at the end, and
no demo site or source left in the database afterwards."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from models import Site, Source
from models.crypto import Vault
from settings import Settings
from sync.context import Context
from tests.factories import make_site, make_source
from workers.context import client_context

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_demo_ends_with_what_next_and_leaves_no_demo_site(
    settings: Settings,
    db: sessionmaker[Session],
    vault: Vault,
    redis_client: redis.Redis,
    tmp_path: Path,
) -> None:
    assert settings.database_url and settings.redis_url
    with db.begin() as session:  # the merchant's own site, which the demo must not touch
        make_site(session, vault, make_source(session, vault, name="my-erp"), name="my-shop")
    env = {k: v for k, v in os.environ.items() if k != "ADMIN_TOKEN"} | {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "STOCKSYNC_ENCRYPTION_KEY": settings.encryption_keys[0],
        "STOCKSYNC_HOME": str(tmp_path / "home"),
    }
    result = subprocess.run(
        [sys.executable, "-m", "demo", "--items", "300", "--changes", "20", "--workers", "1"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert (
        "registered source demo-erp and sites demo-woocommerce, demo-bigcommerce, demo-shopify"
        in out
    )
    assert "NOT met" not in out and "target" not in out
    tail = out.rstrip().splitlines()[-4:]
    assert tail[0] == "what next:"
    assert "make demo ARGS=--keep" in tail[1] and "README, Getting started" in tail[2]
    with db() as session:
        assert list(session.scalars(select(Site.name))) == ["my-shop"]
        assert list(session.scalars(select(Source.name))) == ["my-erp"]


def test_a_taken_demo_name_moves_the_demo_to_the_next_prefix(
    settings: Settings, db: sessionmaker[Session], vault: Vault, redis_client: redis.Redis
) -> None:
    from demo.registration import free_prefix

    ctx: Context = client_context(settings, redis_client=redis_client)
    try:
        assert free_prefix(ctx, ["erp", "shopify"]) == "demo"
        with db.begin() as session:
            make_site(session, vault, make_source(session, vault, name="x"), name="demo-shopify")
        assert free_prefix(ctx, ["erp", "shopify"]) == "demo-2"
        with db() as session:
            assert session.scalar(select(func.count()).select_from(Site)) == 1
    finally:
        ctx.dispose()
