"""The constraints the rest of the system relies on, checked on real PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from models import Item, RunStatus, SyncRun, WebhookLog, WebhookStatus
from models.crypto import Vault
from models.sync import LIVE_RUN_STATUSES
from models.webhook_log import EARLIEST_OCCURRED_AT, LATEST_OCCURRED_AT
from tests.factories import make_site, make_source


def test_one_item_per_site_and_sku(db: sessionmaker[Session], vault: Vault) -> None:
    with db() as session:
        site = make_site(session, vault, make_source(session, vault))
        session.add(Item(site_id=site.id, sku="A-1", product_id="1"))
        session.commit()
        session.add(Item(site_id=site.id, sku="A-1", product_id="2"))
        with pytest.raises(IntegrityError, match="uq_items_site_id_sku"):
            session.commit()


def test_one_full_run_per_site_per_local_date(db: sessionmaker[Session], vault: Vault) -> None:
    with db() as session:
        site = make_site(session, vault, make_source(session, vault))
        day = date(2026, 11, 22)

        def run(kind: str) -> SyncRun:
            return SyncRun(
                site_id=site.id,
                kind=kind,
                trigger="beat",
                status=RunStatus.COMPLETED,
                local_date=day,
            )

        session.add_all([run("full"), run("manual"), run("manual")])
        session.commit()  # manual runs are not limited
        session.add(run("full"))
        with pytest.raises(IntegrityError, match="uq_sync_runs_full_per_day"):
            session.commit()


def test_one_live_run_per_site(db: sessionmaker[Session], vault: Vault) -> None:
    """Whatever started them: a second queued, running or paused run is refused."""
    with db() as session:
        site = make_site(session, vault, make_source(session, vault))
        finished = (RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED)
        for status in (RunStatus.RUNNING, *finished):
            session.add(SyncRun(site_id=site.id, kind="manual", trigger="api", status=status))
        session.commit()  # one live run and three finished ones
        for status in LIVE_RUN_STATUSES:
            session.add(SyncRun(site_id=site.id, kind="full", trigger="beat", status=status))
            with pytest.raises(IntegrityError, match="uq_sync_runs_live_per_site"):
                session.commit()
            session.rollback()


@pytest.mark.parametrize(
    ("table", "column", "bad"),
    [
        ("sync_runs", "status", "exploded"),
        ("sync_batches", "status", "nearly"),
        ("webhook_log", "status", "meh"),
        ("sites", "platform", "magento"),
    ],
)
def test_statuses_are_checked_by_the_database(
    db: sessionmaker[Session], vault: Vault, table: str, column: str, bad: str
) -> None:
    with db() as session:
        site = make_site(session, vault, make_source(session, vault))
        run = SyncRun(site_id=site.id, kind="manual", trigger="cli", status=RunStatus.QUEUED)
        session.add(run)
        session.commit()
        rows = {
            "sync_runs": f"INSERT INTO sync_runs (site_id, kind, trigger, status) "
            f"VALUES ({site.id}, 'manual', 'cli', :bad)",
            "sync_batches": f"INSERT INTO sync_batches (run_id, seq, skus, status) "
            f"VALUES ({run.id}, 1, '[]', :bad)",
            "webhook_log": "INSERT INTO webhook_log (provider, status) VALUES ('shopify', :bad)",
            "sites": "INSERT INTO sites (name, platform, base_url, credentials_sealed, source_id) "
            f"VALUES ('x', :bad, 'http://x', 'x', {site.source_id})",
        }
        with pytest.raises(IntegrityError, match="ck_"):
            session.execute(text(rows[table]), {"bad": bad})


def test_full_sync_hour_is_an_hour(db: sessionmaker[Session], vault: Vault) -> None:
    with db() as session:
        source = make_source(session, vault)
        with pytest.raises(IntegrityError, match="ck_sites_full_sync_hour"):
            make_site(session, vault, source, full_sync_hour=24)


def test_credentials_are_not_stored_in_clear(db: sessionmaker[Session], vault: Vault) -> None:
    with db() as session:
        site = make_site(
            session,
            vault,
            make_source(session, vault),
            credentials_sealed=vault.seal({"consumer_secret": "cs_very_secret"}),
        )
        session.commit()
        raw = session.execute(
            text("SELECT credentials_sealed FROM sites WHERE id = :id"), {"id": site.id}
        ).scalar_one()
    assert "cs_very_secret" not in raw
    assert vault.open(raw) == {"consumer_secret": "cs_very_secret"}


def test_migrations_match_the_models(engine: object) -> None:
    """The head migration creates every table and index the models declare."""
    from sqlalchemy import Engine

    from models import Base

    assert isinstance(engine, Engine)
    inspector = inspect(engine)
    for table in Base.metadata.sorted_tables:
        assert inspector.has_table(table.name), table.name
        db_columns = {c["name"] for c in inspector.get_columns(table.name)}
        assert db_columns == {c.name for c in table.columns}, table.name
        db_indexes = {i["name"] for i in inspector.get_indexes(table.name)}
        assert {i.name for i in table.indexes} <= db_indexes, table.name


@pytest.mark.parametrize(
    "occurred_at", ["0001-01-01 00:00:00+01:00", "0001-01-01 12:00:00+00", "9999-12-31 12:00+00"]
)
def test_the_log_holds_no_event_time_a_reader_cannot_read(
    db: sessionmaker[Session], occurred_at: str
) -> None:
    """A year-0 time made every reader of its page fail (issue 18, item 12); the
    receiver refuses such times, and the table would too."""
    with db() as session, pytest.raises(IntegrityError, match="occurred_at_in_calendar"):
        session.execute(
            text(
                "INSERT INTO webhook_log (provider, status, occurred_at)"
                " VALUES ('shopify', 'received', :at)"
            ),
            {"at": occurred_at},
        )


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Etc/GMT+12", "UTC"])
def test_the_log_s_earliest_and_latest_event_times_read_in_any_zone(
    db: sessionmaker[Session], zone: str
) -> None:
    """PostgreSQL hands times over in the session's zone: the margin of a day keeps the
    calendar's edges readable by Python at offsets of +14 h and -12 h. The zone is set
    per transaction (SET LOCAL): a session-wide one stays on the pooled connection and
    hands later tests their times at -12:00."""
    edges = [EARLIEST_OCCURRED_AT, LATEST_OCCURRED_AT - timedelta(microseconds=1)]
    with db() as session:
        usual = session.scalar(text("SHOW TIME ZONE"))
        session.execute(text(f"SET LOCAL TIME ZONE '{zone}'"))
        session.add_all(
            WebhookLog(provider="shopify", status=WebhookStatus.RECEIVED, occurred_at=at)
            for at in edges
        )
        session.commit()
        session.execute(text(f"SET LOCAL TIME ZONE '{zone}'"))
        read = session.scalars(select(WebhookLog.occurred_at).order_by(WebhookLog.id)).all()
    assert read == edges
    with db() as session:
        assert session.scalar(text("SHOW TIME ZONE")) == usual
