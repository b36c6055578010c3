"""Builders for rows, with sensible defaults so each test states only what matters."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from models import BatchStatus, Platform, RunStatus, Site, Source, SourceKind, SyncBatch, SyncRun
from models.crypto import Vault


def make_source(session: Session, vault: Vault, **overrides: Any) -> Source:
    fields: dict[str, Any] = {
        "name": "erp",
        "kind": SourceKind.BUSINESSCENTRAL,
        "base_url": "http://127.0.0.1:1",
        "credentials_sealed": vault.seal({"client_id": "c", "client_secret": "s"}),
    }
    fields.update(overrides)
    source = Source(**fields)
    session.add(source)
    session.flush()
    return source


def make_site(session: Session, vault: Vault, source: Source, **overrides: Any) -> Site:
    fields: dict[str, Any] = {
        "name": "shop",
        "platform": Platform.WOOCOMMERCE,
        "base_url": "http://127.0.0.1:1",
        "credentials_sealed": vault.seal({"consumer_key": "ck", "consumer_secret": "cs"}),
        "webhook_secret_sealed": vault.seal("secret"),
        "source_id": source.id,
        "timezone": "UTC",
    }
    fields.update(overrides)
    site = Site(**fields)
    session.add(site)
    session.flush()
    return site


def make_run(
    session: Session,
    site_id: int,
    kind: str = "manual",
    trigger: str = "test",
    status: RunStatus = RunStatus.QUEUED,
    **overrides: Any,
) -> SyncRun:
    """A run row as `sync.runs.start_run` inserts it, without publishing anything."""
    run = SyncRun(site_id=site_id, kind=kind, trigger=trigger, status=status, **overrides)
    session.add(run)
    session.flush()
    return run


def make_batches(
    session: Session, run: SyncRun, *skus: list[str], status: BatchStatus = BatchStatus.QUEUED
) -> list[int]:
    """One batch of `run` per SKU list, in order, with the run's totals set as
    `sync.runs.cut_batches` sets them; returns the batch ids."""
    batches = [
        SyncBatch(run_id=run.id, seq=seq, skus=list(batch), status=status)
        for seq, batch in enumerate(skus)
    ]
    session.add_all(batches)
    run.total = sum(len(batch) for batch in skus)
    run.batches_total = run.batches_pending = len(batches)
    session.flush()
    return [batch.id for batch in batches]
