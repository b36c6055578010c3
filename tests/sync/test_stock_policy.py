"""Setting a site's stock policy and SKU rules (sync/stock_policy.py): what is refused,
what is stored, and the run that brings the store to the new numbers."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from models import Site, SkuRule, SourceKind, SyncRun
from models.crypto import Vault
from models.db import transaction
from sync.context import Context
from sync.errors import Invalid, NotFound
from sync.runs import start_run
from sync.sites import show_site, update_site
from sync.stock_policy import TRIGGER, clear_rule, list_rules, set_policy, set_rule
from tests.factories import make_site, make_source
from tests.support.broker import RecordingBroker


def _runs(service: Context, site_id: int) -> list[SyncRun]:
    with service.sessions() as session:
        return list(session.scalars(select(SyncRun).where(SyncRun.site_id == site_id)))


def test_a_policy_change_is_stored_and_starts_one_run(
    service: Context, broker: RecordingBroker, site_id: int
) -> None:
    state = set_policy(service, site_id, {"stock_buffer": 2, "stock_floor": 3})

    assert (state["stock_buffer"], state["stock_buffer_unit"], state["stock_floor"]) == (
        2,
        "units",
        3,
    )
    (run,) = _runs(service, site_id)
    assert (state["resync"]["run_id"], run.trigger) == (run.id, TRIGGER)
    assert broker.sent("start_run") == [run.id]
    assert show_site(service, site_id)["stock_floor"] == 3
    # The same values again change nothing, so no second run.
    assert set_policy(service, site_id, {"stock_buffer": 2})["resync"] is None


def test_a_live_run_is_left_alone_and_the_answer_says_so(service: Context, site_id: int) -> None:
    going = start_run(service, site_id)
    state = update_site(service, site_id, {"stock_buffer": 10, "stock_buffer_unit": "percent"})
    assert state["resync"]["run_id"] == going
    assert "left alone" in state["resync"]["message"]
    assert [run.id for run in _runs(service, site_id)] == [going]


def test_the_policy_is_saved_even_when_no_run_can_start(
    service: Context, broker: RecordingBroker, site_id: int
) -> None:
    broker.fails_after = 0
    state = set_policy(service, site_id, {"stock_floor": 1})
    assert state["resync"]["run_id"] is None and "next run" in state["resync"]["message"]
    assert show_site(service, site_id)["stock_floor"] == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"stock_buffer": -1}, "stock_buffer must be a whole number"),
        ({"stock_floor": True}, "stock_floor must be a whole number"),
        ({"stock_buffer": "2"}, "stock_buffer must be a whole number"),
        ({"stock_buffer": 101, "stock_buffer_unit": "percent"}, "percent stock_buffer"),
        ({"stock_buffer_unit": "kilos"}, "'units' or 'percent'"),
        ({"stock_basis": "committed"}, "'on_hand' or 'available_for_sale'"),
        ({"stock": 1}, "not a stock policy field"),
        # Business Central (the fixture's ERP) reports no stock per location.
        ({"erp_location_ids": ["W1"]}, r"no stock per location \(docs/platforms.md section 7\)"),
    ],
)
def test_bad_policies_are_refused_and_nothing_changes(
    service: Context, site_id: int, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(Invalid, match=message):
        set_policy(service, site_id, changes)
    shown = show_site(service, site_id)
    assert (shown["stock_buffer"], shown["stock_buffer_unit"], shown["stock_floor"]) == (
        0,
        "units",
        0,
    )
    assert _runs(service, site_id) == []


def test_available_for_sale_is_refused_for_business_central_and_nothing_changes(
    service: Context, site_id: int
) -> None:
    """API v2.0 reports on hand only; the refusal says why and where to read more."""
    with pytest.raises(Invalid) as refused:
        set_policy(service, site_id, {"stock_basis": "available_for_sale", "stock_floor": 2})

    assert "Business Central reports only stock on hand" in refused.value.message
    assert "docs/platforms.md section 7" in refused.value.message
    shown = show_site(service, site_id)
    assert (shown["stock_basis"], shown["stock_floor"]) == ("on_hand", 0)
    assert _runs(service, site_id) == []


def test_available_for_sale_is_set_for_zoho_and_resyncs(
    service: Context, broker: RecordingBroker, vault: Vault
) -> None:
    site_id = _zoho_site(service, vault)

    state = set_policy(service, site_id, {"stock_basis": "available_for_sale"})

    assert state["stock_basis"] == "available_for_sale"
    assert broker.sent("start_run") == [state["resync"]["run_id"]]
    assert show_site(service, site_id)["stock_basis"] == "available_for_sale"
    assert set_policy(service, site_id, {"stock_basis": "on_hand"})["stock_basis"] == "on_hand"


def _zoho_site(service: Context, vault: Vault) -> int:
    with transaction(service.sessions) as session:
        source = make_source(session, vault, name="zoho", kind=SourceKind.ZOHO)
        return make_site(session, vault, source, name="zoho-shop").id


def test_a_location_mapping_is_set_for_zoho_resyncs_and_all_clears_it(
    service: Context, broker: RecordingBroker, vault: Vault
) -> None:
    site_id = _zoho_site(service, vault)

    state = set_policy(service, site_id, {"erp_location_ids": [" W1", "W3", "W1"]})

    assert state["erp_location_ids"] == ["W1", "W3"]
    assert broker.sent("start_run") == [state["resync"]["run_id"]]
    assert show_site(service, site_id)["erp_location_ids"] == ["W1", "W3"]
    assert set_policy(service, site_id, {"erp_location_ids": ["W1", "W3"]})["resync"] is None
    cleared = set_policy(service, site_id, {"erp_location_ids": None})
    assert cleared["erp_location_ids"] is None and cleared["resync"] is not None


@pytest.mark.parametrize(
    "ids",
    [[], [""], ["  "], [1], "W1", ["W1", None], [f"W{n}" for n in range(51)], ["x" * 101]],
)
def test_bad_location_mappings_are_refused(service: Context, vault: Vault, ids: Any) -> None:
    site_id = _zoho_site(service, vault)
    with pytest.raises(Invalid, match="location id"):
        set_policy(service, site_id, {"erp_location_ids": ids})
    assert show_site(service, site_id)["erp_location_ids"] is None
    assert _runs(service, site_id) == []


def test_a_percent_buffer_over_100_is_refused_when_the_unit_changes_too(
    service: Context, site_id: int
) -> None:
    set_policy(service, site_id, {"stock_buffer": 150})
    with pytest.raises(Invalid, match="percent"):
        set_policy(service, site_id, {"stock_buffer_unit": "percent"})


def test_sku_rules_are_normalised_one_per_sku_and_cleared(
    service: Context, broker: RecordingBroker, site_id: int
) -> None:
    assert set_rule(service, site_id, "  ab-1 ", override=5)["sku"] == "AB-1"
    set_rule(service, site_id, "AB-1", opt_out=True)
    set_rule(service, site_id, "zz-9", override=0)

    assert list_rules(service, site_id) == [
        {"site_id": site_id, "sku": "AB-1", "rule": "opt_out", "quantity": None},
        {"site_id": site_id, "sku": "ZZ-9", "rule": "override", "quantity": 0},
    ]
    assert clear_rule(service, site_id, "ab-1")["sku"] == "AB-1"
    assert [rule["sku"] for rule in list_rules(service, site_id)] == ["ZZ-9"]
    with pytest.raises(NotFound, match="no rule for SKU AB-1"):
        clear_rule(service, site_id, "AB-1")
    # The first change started a run; the others found it live and left it alone.
    assert len(broker.sent("start_run")) == 1


@pytest.mark.parametrize(
    ("sku", "kwargs", "message"),
    [
        ("A", {}, "either an override quantity or opt_out"),
        ("A", {"override": 1, "opt_out": True}, "either an override"),
        ("A", {"override": -1}, "override must be a whole number"),
        ("A", {"override": 10**12}, "override must be a whole number"),
        ("   ", {"opt_out": True}, "SKU is empty"),
        ("X" * 21, {"opt_out": True}, "longer than 20"),
        ("A\x00", {"opt_out": True}, "printable"),
        ("A\ud800", {"opt_out": True}, "printable"),
    ],
)
def test_bad_sku_rules_are_refused(
    service: Context, site_id: int, sku: str, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(Invalid, match=message):
        set_rule(service, site_id, sku, **kwargs)
    with service.sessions() as session:
        assert session.scalars(select(SkuRule)).all() == []


def test_rules_of_a_missing_site_are_not_found(service: Context) -> None:
    with pytest.raises(NotFound):
        set_rule(service, 999_999, "A", opt_out=True)
    with pytest.raises(NotFound):
        list_rules(service, 999_999)


def test_the_database_refuses_what_the_service_would(service: Context, site_id: int) -> None:
    with pytest.raises(IntegrityError, match="ck_sites_stock_buffer_unit"):
        with transaction(service.sessions) as session:
            site = session.get_one(Site, site_id)
            site.stock_buffer_unit, site.stock_buffer = "percent", 101
    with pytest.raises(IntegrityError, match="ck_sku_rules_rule"):
        with transaction(service.sessions) as session:
            session.add(SkuRule(site_id=site_id, sku="A", rule="opt_out", quantity=3))
    with pytest.raises(IntegrityError, match="ck_sites_stock_basis"):
        with transaction(service.sessions) as session:
            session.get_one(Site, site_id).stock_basis = "committed"
