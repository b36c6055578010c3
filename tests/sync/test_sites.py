"""Sites and sources (sync/sites.py, sync/sources.py, sync/accounts.py): what is
refused and why, names that race, and what may be shown of them."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models import (
    EventSubscription,
    Item,
    Order,
    Reservation,
    RunStatus,
    Site,
    SkuRule,
    Source,
    Subscription,
    SubscriptionState,
    SyncBatch,
    SyncRun,
    WebhookLog,
    WebhookStatus,
)
from models.crypto import Vault
from models.db import transaction
from sync.accounts import owner_id
from sync.context import Context
from sync.errors import Conflict, Invalid, NotFound
from sync.sites import add_site, describe_site, remove_site, toggle_webhooks, update_site
from sync.sources import add_source, delete_source, update_source
from tests.factories import add_row, make_site, make_source
from tests.factories.sync import make_batches, run_row
from tests.factories.webhook_log import log_row
from tests.support.locks import wait_until_blocked

BC_KEYS = {"tenant_id": "t", "client_id": "c", "client_secret": "s", "company_id": "co"}


def _source(service: Context, name: str = "erp") -> dict[str, Any]:
    return add_source(
        service,
        name=name,
        kind="businesscentral",
        base_url="https://api.businesscentral.dynamics.com",
        credentials=BC_KEYS,
        check=False,
    )


def _site(service: Context, name: str = "shop", **fields: Any) -> dict[str, Any]:
    fields = {
        "platform": "woocommerce",
        "base_url": "https://shop.example.com",
        "source": "erp",
        "credentials": {"consumer_key": "ck_secret_value", "consumer_secret": "cs_x"},
        **fields,
    }
    return add_site(service, name=name, check=False, **fields)


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
    generated = update_site(service, site["id"], {"rotate_webhook_secret": True})
    given = update_site(service, site["id"], {"webhook_secret": "given"})
    assert generated["webhook_secret"] and "webhook_secret" not in given
    rotated = update_site(service, site["id"], {"rotate_webhook_secret": True})
    assert rotated["webhook_secret"] not in (generated["webhook_secret"], "given")
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
    with pytest.raises(Conflict, match="source used still feeds sites shop: remove them"):
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


@pytest.mark.parametrize(
    ("fields", "refusal"),
    [
        (
            {"credentials": {}},
            re.escape(
                "credentials for woocommerce: missing consumer_key (REST API key (ck_...), "
                "Read/Write), missing consumer_secret (its secret (cs_...))"
            ),
        ),
        ({"credentials": ["ck", "cs"]}, "credentials for woocommerce must be a JSON object"),
        (
            {"credentials": {"consumer_key": "ck", "consumer_secret": "cs", "secret": "x"}},
            "unknown key 'secret'",
        ),
        ({"base_url": "notaurl"}, "base URL must look like https://shop.example.com$"),
        ({"base_url": "ftp://shop.example.com"}, "base URL must look like"),
        ({"base_url": "https://shop example.com"}, "base URL must look like"),
        ({"base_url": "https://"}, "base URL must look like"),
        ({"base_url": "https://shop.example.com:port"}, "base URL must look like"),
        ({"base_url": "https://ck:cs@shop.example.com"}, "must not carry a user or password"),
        ({"base_url": "https://shop.example.com/?consumer_key=ck"}, "no query or fragment"),
        ({"base_url": "https://shop.example.com/#x"}, "no query or fragment"),
        ({"base_url": "http://shop.example.com"}, "must use https .*; http only for localhost"),
        (
            {"platform": "shopify", "base_url": "x", "credentials": {"access_token": "t"}},
            "like https://<shop>.myshopify.com",
        ),
    ],
)
def test_keys_and_address_are_checked_at_add_time(
    service: Context, db: sessionmaker[Session], fields: dict[str, Any], refusal: str
) -> None:
    """Issue 21 item 1: what failed at the first sync is refused when added, in one
    line, naming keys and never a value (a URL may carry a pasted key)."""
    _source(service)
    with pytest.raises(Invalid, match=refusal) as refused:
        _site(service, **fields)
    assert "ck_secret_value" not in refused.value.message
    assert "?consumer_key" not in refused.value.message and "ck:cs" not in refused.value.message
    with db() as session:
        assert session.scalars(select(Site)).first() is None


@pytest.mark.parametrize(
    "url",
    [
        "https://shop.example.com",
        "https://example.com/wordpress/",
        "http://127.0.0.1:8123",
        "http://localhost:5000",
        "http://[::1]:8080",
    ],
)
def test_https_anywhere_and_http_on_this_machine_are_taken(service: Context, url: str) -> None:
    _source(service)
    assert _site(service, base_url=url)["base_url"] == url


def test_a_source_is_checked_for_its_kinds_keys_on_add_and_update(service: Context) -> None:
    with pytest.raises(Invalid, match="credentials for zoho: missing client_id") as refused:
        add_source(
            service,
            name="z",
            kind="zoho",
            base_url="https://www.zohoapis.com",
            credentials={"client_secret": "zs"},
        )
    assert "zs" not in refused.value.message
    source = _source(service)
    with pytest.raises(Invalid, match="missing company_id"):
        update_source(service, source["id"], {"credentials": {**BC_KEYS, "company_id": " "}})
    url = "base URL must look like https://api.businesscentral.dynamics.com$"
    with pytest.raises(Invalid, match=url):
        update_source(service, source["id"], {"base_url": "notaurl"})
    moved = update_source(service, source["id"], {"base_url": "http://localhost:9000"})
    assert moved["base_url"] == "http://localhost:9000"


def test_an_update_checks_keys_address_and_hour(service: Context) -> None:
    _source(service)
    site = _site(service)
    with pytest.raises(Invalid, match="missing consumer_secret"):
        update_site(service, site["id"], {"credentials": {"consumer_key": "ck"}})
    with pytest.raises(Invalid, match="base URL must look like"):
        update_site(service, site["id"], {"base_url": "notaurl"})
    with pytest.raises(Invalid, match="full_sync_hour must be 0-23"):
        update_site(service, site["id"], {"full_sync_hour": 24})


def test_a_site_moves_to_another_source_forgetting_the_old_erps_item_ids(
    service: Context, db: sessionmaker[Session]
) -> None:
    _source(service)
    site = _site(service)
    other = _source(service, "erp2")
    with transaction(db) as session:
        add_row(
            session,
            Item,
            {"site_id": site["id"], "sku": "A", "product_id": "1", "erp_item_id": "old-erp-7"},
        )
        run = run_row(session, site["id"])
    with pytest.raises(Conflict, match=f"site shop has a live run {run.id}: cancel it first"):
        update_site(service, site["id"], {"source": "erp2"})
    with transaction(db) as session:
        session.get_one(SyncRun, run.id).status = RunStatus.CANCELLED
    with pytest.raises(Invalid, match="no source 'nope'"):
        update_site(service, site["id"], {"source": "nope"})
    assert update_site(service, site["id"], {"source": "erp2"})["source_id"] == other["id"]
    with db() as session:
        assert session.scalars(select(Item.erp_item_id)).one() is None


def _belongings(session: Session, site_id: int) -> dict[str, int]:
    """How many rows of each table with a site_id name the site."""
    tables = (Item, SkuRule, Reservation, SyncRun, Order, EventSubscription, Subscription)
    counts = {
        table.__tablename__: len(
            session.scalars(select(table).where(table.site_id == site_id)).all()
        )
        for table in tables
    }
    counts["sync_batches"] = len(
        session.scalars(select(SyncBatch).join(SyncRun).where(SyncRun.site_id == site_id)).all()
    )
    return counts


def test_removing_a_site_deletes_what_is_only_its_own_and_frees_its_name(
    service: Context, db: sessionmaker[Session]
) -> None:
    source = _source(service)
    site = _site(service)
    keep = _site(service, "other")
    now = datetime.now(UTC)
    with transaction(db) as session:
        for owner in (site["id"], keep["id"]):
            add_row(session, Item, {"site_id": owner, "sku": "A", "product_id": "1"})
            add_row(session, SkuRule, {"site_id": owner, "sku": "A", "rule": "opt_out"})
            add_row(
                session,
                Reservation,
                {
                    "source_id": source["id"],
                    "site_id": owner,
                    "order_id": "9",
                    "order_number": "9",
                    "sku": "A",
                    "units": 1,
                    "store_applied": True,
                    "order_updated_at": now,
                },
            )
            make_batches(session, run_row(session, owner, status=RunStatus.COMPLETED), ["A"])
            add_row(
                session,
                Order,
                {"site_id": owner, "external_id": "9", "status": "pending", "total": 1, "raw": {}},
            )
            add_row(
                session,
                EventSubscription,
                {
                    "site_id": owner,
                    "url": "https://h.example",
                    "secret_sealed": "x",
                    "topics": ["t"],
                },
            )
            add_row(
                session,
                Subscription,
                {
                    "site_id": owner,
                    "platform": "woocommerce",
                    "topic": "product.updated",
                    "url": "https://p/x",
                    "state": SubscriptionState.ACTIVE,
                },
            )
        everyone = add_row(
            session,
            EventSubscription,
            {"site_id": None, "url": "https://all", "secret_sealed": "x", "topics": ["t"]},
        )
        logged = log_row(session, site_id=site["id"]).id
        live = run_row(session, site["id"])
    with db() as session:
        before = _belongings(session, site["id"])
        assert set(before.values()) == {1, 2} and before["sync_runs"] == 2

    with pytest.raises(Conflict, match=f"site shop has a live run {live.id}: cancel it first"):
        remove_site(service, site["id"])
    with transaction(db) as session:
        session.get_one(SyncRun, live.id).status = RunStatus.CANCELLED
    removed = remove_site(service, site["id"])
    assert (removed["id"], removed["name"]) == (site["id"], "shop")

    with db() as session:
        assert session.get(Site, site["id"]) is None
        assert set(_belongings(session, site["id"]).values()) == {0}
        assert set(_belongings(session, keep["id"]).values()) == {1}
        assert session.get(WebhookLog, logged) is not None  # no foreign key: kept
        assert session.get(EventSubscription, everyone.id) is not None  # all sites'
    with pytest.raises(NotFound, match=f"no site {site['id']}"):
        remove_site(service, site["id"])
    again = _site(service)  # the name is free at once
    assert again["name"] == "shop" and again["id"] != site["id"]
