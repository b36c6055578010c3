"""`python -m demo` end to end, as `make demo` runs it, with a smaller catalog: sandbox
processes on their platforms' profiles at the default speed, the stack's processes, a
full sync, the real-time path, the summary.

It runs on the test session's PostgreSQL and Redis (DATABASE_URL / REDIS_URL), which
is also the demo's path for an operator with servers of their own."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from demo.pace import Pace
from models import Site, Source
from settings import Settings

ROOT = Path(__file__).resolve().parents[2]
ITEMS = 1000
CHANGES = 60


@pytest.fixture
def demo_run(
    settings: Settings, db: sessionmaker[Session], redis_client: object, tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    assert settings.database_url and settings.redis_url
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "STOCKSYNC_ENCRYPTION_KEY": settings.encryption_keys[0],
        "STOCKSYNC_HOME": str(tmp_path),
    }
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "demo",
            "--items",
            str(ITEMS),
            "--changes",
            str(CHANGES),
        ],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=280,
    )


@pytest.mark.slow
def test_the_demo_ends_with_every_store_equal_to_the_erp(
    demo_run: subprocess.CompletedProcess[str], db: sessionmaker[Session]
) -> None:
    out = demo_run.stdout
    assert demo_run.returncode == 0, out + demo_run.stderr[-3000:]
    assert "stores equal to ERP: yes" in out
    # On the platforms' limits sped up, and within them: the budgets registered are the
    # sandboxes' quotas, so no store refused a request (the column before the duration).
    for line in Pace().describe(["woocommerce", "shopify"]):
        assert line in out  # "woocommerce: 300 requests / 5 s, 2 at once, ..."
    for platform in ("woocommerce", "bigcommerce", "shopify"):
        row = rf"demo-{platform}\s+completed\s+{ITEMS:,}(\s+[\d,]+){{5}}\s+0\s+[\d.]+ s\n"
        assert re.search(row, out), out
    assert f"sent: {CHANGES} SKUs changed in the ERP" in out
    assert re.search(r"webhooks received\s+[1-9]", out)
    assert re.search(r"still pending\s+0\n", out)
    assert re.search(r"failed\s+0\n", out)
    # The platform retry, the forgery and the malformed body, answered and counted.
    assert "200 accepted, 200 duplicate, 200 duplicate" in out
    assert "a WooCommerce delivery with a forged signature: 401 rejected" in out
    assert "a WooCommerce delivery with a malformed body: 400 rejected" in out
    assert re.search(r"refused\s+2\n", out)
    assert "woocommerce: signature does not match: the secret expected is the Secret" in out
    assert "woocommerce: body is not JSON: 1" in out
    assert re.search(r"duplicates dropped\s+\d+\s+\(.*coalesced into the open window", out)
    assert re.search(r"ERP change to store write confirmed, (\d+) of \1 store values", out)
    # Removed at the end, so beat never syncs sandboxes that are gone and the names are free.
    with db() as session:
        assert session.scalars(select(Site.name)).all() == []
        assert session.scalars(select(Source.name)).all() == []
