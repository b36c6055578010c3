"""Sites and sources (sync/sites.py, sync/sources.py, sync/accounts.py): what is
refused and why, names that race, and what may be shown of them."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models import Site, Source, WebhookLog, WebhookStatus
from models.crypto import Vault
from models.db import transaction
from sync.accounts import owner_id, set_owner_secret
from sync.context import Context
from sync.errors import Conflict, Invalid, NotFound
from sync.sites import add_site, describe_site, toggle_webhooks, update_site
from sync.sources import add_source, delete_source
from tests.factories import make_site, make_source
from tests.support.locks import wait_until_blocked


def _source(service: Context, name: str = "erp") -> dict[str, Any]:
    return add_source(
        service, name=name, kind="businesscentral", base_url="http://erp", credentials={"k": "v"}
    )


def _site(service: Context, name: str = "shop", **fields: Any) -> dict[str, Any]:
    fields = {
        "platform": "woocommerce",
        "base_url": "http://shop",
        "source": "erp",
        "credentials": {"consumer_key": "ck_secret_value"},
        **fields,
    }
    return add_site(service, name=name, **fields)


def test_a_site_names_its_source_by_id_or_name_and_shows_no_secret(service: Context) -> None:
    source = _source(service)
    by_name = _site(service, "a", webhook_secret="hush-hush")
    by_id = _site(service, "b", source=source["id"])
    assert by_name["source_id"] == by_id["source_id"] == source["id"]
    assert by_name["has_webhook_secret"] and not by_id["has_webhook_secret"]
    shown = repr([by_name, by_id])
    assert "hush-hush" not in shown and "ck_secret_value" not in shown


@pytest.mark.parametrize(
    ("fields", "refusal"),
    [
        ({"source": "nope"}, "no source 'nope'"),
        ({"source": 1.0}, "no source 1.0"),  # JSON lets 1.0 through as an integer
        ({"source": "9" * 30}, "no source"),  # past bigint: names no row, reaches no query
        ({"platform": "magento"}, "platform must be one of"),
        ({"timezone": "Mars/Olympus"}, "unknown IANA time zone"),
        ({"full_sync_hour": 24}, "full_sync_hour must be 0-23"),
    ],
)
def test_a_site_that_cannot_work_is_refused_saying_why(
    service: Context, fields: dict[str, Any], refusal: str
) -> None:
    _source(service)
    with pytest.raises(Invalid, match=refusal):
        _site(service, **fields)


def test_a_taken_name_is_refused_on_add_and_on_rename(service: Context) -> None:
    _source(service)
    _site(service, "a")
    other = _site(service, "b")
    with pytest.raises(Invalid, match="a site named 'a' exists"):
        _site(service, "a")
    with pytest.raises(Conflict, match="a site named 'a' exists"):
        update_site(service, other["id"], {"name": "a"})


def test_two_adds_racing_for_one_name_make_one_site_and_one_conflict(
    service: Context, db: sessionmaker[Session], vault: Vault
) -> None:
    """The check cannot see a name another transaction is inserting; the unique index
    decides, and the loser is told so, not answered with a database error."""
    _source(service)
    other = db()
    other.begin()
    source = other.scalars(select(Source)).one()
    make_site(other, vault, source, name="x")  # not committed: holds the name's index entry
    outcome: list[object] = []

    def add() -> None:
        try:
            outcome.append(_site(service, "x"))
        except Conflict as refusal:
            outcome.append(refusal)

    adding = threading.Thread(target=add, daemon=True)
    try:
        adding.start()
        wait_until_blocked(db)
        other.commit()
    finally:
        other.close()
    adding.join(timeout=10)
    assert len(outcome) == 1 and isinstance(outcome[0], Conflict)
    assert "created meanwhile" in str(outcome[0])


def test_webhooks_are_set_or_flipped(service: Context) -> None:
    _source(service)
    site = _site(service)
    assert toggle_webhooks(service, site["id"], None)["webhooks_active"] is False
    assert toggle_webhooks(service, site["id"], None)["webhooks_active"] is True
    assert toggle_webhooks(service, site["id"], False)["webhooks_active"] is False
    with pytest.raises(NotFound, match="no site 999"):
        toggle_webhooks(service, 999, True)


def test_a_generated_secret_is_returned_once_and_stored_sealed(
    service: Context, db: sessionmaker[Session]
) -> None:
    _source(service)
    site = _site(service)
    generated = set_owner_secret(service, Site, site["id"], None)
    assert generated and set_owner_secret(service, Site, site["id"], "given") is None
    rotated = update_site(service, site["id"], {"rotate_webhook_secret": True})
    assert rotated["webhook_secret"] not in (generated, "given")
    with db() as session:
        row = session.get_one(Site, site["id"])
        assert service.vault.open(row.webhook_secret_sealed) == rotated["webhook_secret"]
        assert "webhook_secret" not in describe_site(row)
    with pytest.raises(Invalid, match="not both"):
        update_site(service, site["id"], {"webhook_secret": "a", "rotate_webhook_secret": True})


def test_a_source_feeding_sites_is_not_deleted(
    service: Context, db: sessionmaker[Session], vault: Vault
) -> None:
    with transaction(db) as session:
        used = make_source(session, vault, name="used")
        make_site(session, vault, used)
        unused = make_source(session, vault, name="unused")
        used_id, unused_id = used.id, unused.id
    with pytest.raises(Conflict, match="still feeds sites"):
        delete_source(service, used_id)
    delete_source(service, unused_id)
    with pytest.raises(NotFound, match="no source 'unused'"):
        owner_id(service, Source, "unused")


def test_last_received_counts_only_accepted_deliveries(
    service: Context, db: sessionmaker[Session]
) -> None:
    """The webhook indicator says whether the platform still reaches us with genuine
    deliveries: refused (forged, unsigned) and ignored (switched off, unknown topic)
    requests prove nothing about that."""
    _source(service)
    site = _site(service)
    now = datetime.now(UTC)
    accepted = now - timedelta(minutes=10)
    with transaction(db) as session:
        for status, received in (
            (WebhookStatus.PROCESSED, accepted),
            (WebhookStatus.REJECTED, now - timedelta(minutes=2)),
            (WebhookStatus.IGNORED, now - timedelta(minutes=1)),
        ):
            session.add(
                WebhookLog(
                    provider="woocommerce", site_id=site["id"], status=status, received_at=received
                )
            )

    state = toggle_webhooks(service, site["id"], True)

    assert state["last_received_at"] == accepted
