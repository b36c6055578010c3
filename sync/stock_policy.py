"""A site's stock policy and per-SKU rules: read them for the write path, change them.

The numbers themselves are sync/sellable.py's; this module stores what it needs.
Every door (admin API, CLI, dashboard) calls these, so all validate alike.

After a change the site's stores must get the new numbers. This starts a manual full
sync of the site (`start_run`), which reads every SKU from the ERP and, through the
one write path, writes only those whose sellable number changed. Why not recompute
from the readings we hold (`items.erp_quantity`) without asking the ERP: those
readings may be hours old, and writing a number derived from one would be a write
from a stale reading, the very thing the write path refuses (sync/push.py); the run
costs ERP reads, but every number it writes is current and explained. With
`erp_quantity` recorded, an ERP-free recompute is possible later if the read cost
matters. If the site already has a run going, it is left alone and the answer says so:
its remaining batches read the policy as they go, and the next run applies it to all.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from connectors.registry import source_class
from models import Site, SkuRule
from models.db import transaction
from models.skus import InvalidSku, normalize_sku
from sync.accounts import get
from sync.context import Context
from sync.errors import AlreadyRunning, Conflict, Invalid, NotFound, Unavailable
from sync.runs import start_run
from sync.sellable import BufferUnit, RuleKind, StockBasis, StockPolicy
from sync.sellable import SkuRule as Rule

log = logging.getLogger(__name__)

#: The run trigger recorded for a run started by a policy change.
TRIGGER = "stock policy"
#: No sane stock count is larger; keeps a typo from reaching an INTEGER column.
MAX_QUANTITY = 1_000_000_000
#: The site columns the policy is made of, as the API and `describe_policy` name them.
POLICY_FIELDS = (
    "stock_buffer",
    "stock_buffer_unit",
    "stock_floor",
    "stock_basis",
    "erp_location_ids",
)
#: Most ERP locations one site may be mapped to, and the longest id: far above any
#: merchant's warehouses, low enough to keep a pasted list out of the row.
MAX_LOCATIONS = 50
MAX_LOCATION_ID = 100


def policy_of(site: Site) -> StockPolicy:
    return StockPolicy(
        site.stock_buffer,
        BufferUnit(site.stock_buffer_unit),
        site.stock_floor,
        StockBasis(site.stock_basis),
        None if site.erp_location_ids is None else tuple(site.erp_location_ids),
    )


def describe_policy(site: Site) -> dict[str, Any]:
    return {name: getattr(site, name) for name in POLICY_FIELDS}


def load_policy(
    session: Session, site_id: int, skus: Sequence[str]
) -> tuple[StockPolicy, dict[str, Rule]]:
    """The site's policy and the rules of `skus`, read in the write path's transaction."""
    site = get(session, Site, site_id)
    rows = session.execute(
        select(SkuRule.sku, SkuRule.rule, SkuRule.quantity).where(
            SkuRule.site_id == site_id, SkuRule.sku.in_(skus)
        )
    )
    return policy_of(site), {sku: Rule(RuleKind(kind), quantity) for sku, kind, quantity in rows}


def _count(name: str, value: object, maximum: int = MAX_QUANTITY) -> int:
    # bool is an int to Python, never a count to an operator.
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= maximum:
        raise Invalid(f"{name} must be a whole number from 0 to {maximum:,}")
    return value


def apply_policy(site: Site, changes: dict[str, Any]) -> bool:
    """Set the policy fields present in `changes` on `site`, checked; True if any
    changed. A percent buffer is at most 100 (the database's check says so too)."""
    before = describe_policy(site)
    if "stock_buffer_unit" in changes:
        try:
            site.stock_buffer_unit = BufferUnit(changes["stock_buffer_unit"]).value
        except ValueError:
            raise Invalid("stock_buffer_unit must be 'units' or 'percent'") from None
    if "stock_buffer" in changes:
        site.stock_buffer = _count("stock_buffer", changes["stock_buffer"])
    if "stock_floor" in changes:
        site.stock_floor = _count("stock_floor", changes["stock_floor"])
    if site.stock_buffer_unit == BufferUnit.PERCENT and site.stock_buffer > 100:
        raise Invalid(f"a percent stock_buffer must be 0-100, got {site.stock_buffer}")
    if "stock_basis" in changes:
        site.stock_basis = _basis(site, changes["stock_basis"]).value
    if "erp_location_ids" in changes:
        site.erp_location_ids = _locations(site, changes["erp_location_ids"])
    return describe_policy(site) != before


def _basis(site: Site, value: Any) -> StockBasis:
    """The basis asked for, if the site's ERP reports it. Known from the connector
    class (`offers_available_for_sale`), without calling the ERP."""
    try:
        basis = StockBasis(value)
    except ValueError:
        raise Invalid("stock_basis must be 'on_hand' or 'available_for_sale'") from None
    erp = source_class(site.source.kind)
    if basis is StockBasis.AVAILABLE_FOR_SALE and not erp.offers_available_for_sale:
        raise Invalid(
            f"stock_basis available_for_sale: {erp.label} reports only stock on hand, "
            f"nothing committed to its sales orders ({erp.facts})"
        )
    return basis


def _locations(site: Site, value: Any) -> list[str] | None:
    """The ERP location ids asked for (None: all locations), if the site's ERP reports
    stock per location: known from the connector class (`offers_locations`). Ids are
    kept as given, in order, once each; whether the ERP has them is not asked (an id
    it lacks counts 0, sync/sellable.py)."""
    if value is None:
        return None
    erp = source_class(site.source.kind)
    if not erp.offers_locations:
        raise Invalid(f"erp_location_ids: {erp.label} reports no stock per location ({erp.facts})")
    if (
        not isinstance(value, list)
        or not 0 < len(value) <= MAX_LOCATIONS
        or not all(isinstance(id_, str) and 0 < len(id_.strip()) for id_ in value)
    ):
        raise Invalid(
            f"erp_location_ids must be null (all locations) or a list of 1 to {MAX_LOCATIONS}"
            " location ids (non-empty strings)"
        )
    ids = list(dict.fromkeys(id_.strip() for id_ in value))
    if any(len(id_) > MAX_LOCATION_ID or not id_.isprintable() for id_ in ids):
        raise Invalid(f"an ERP location id is printable text of at most {MAX_LOCATION_ID}")
    return ids


def resync(ctx: Context, site_id: int) -> dict[str, Any]:
    """Start the run that brings the site's stores to the new numbers (module
    docstring): `{"run_id", "message"}`, run_id None if none was started."""
    try:
        run_id = start_run(ctx, site_id, trigger=TRIGGER)
    except AlreadyRunning as going:
        return {
            "run_id": going.run_id,
            "message": f"run {going.run_id} is live and was left alone: its remaining "
            "batches and the next run apply the change",
        }
    except (Conflict, Unavailable) as refused:
        log.warning(
            "stock_policy.resync_refused", extra={"site": site_id, "error": refused.message}
        )
        return {
            "run_id": None,
            "message": f"no run started ({refused.message}): the next run applies the change",
        }
    return {
        "run_id": run_id,
        "message": f"run {run_id} started: it writes the SKUs whose number changed",
    }


def set_policy(ctx: Context, site_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    """Change the site's buffer, its unit, floor, basis and ERP locations; resync if
    anything changed."""
    unknown = sorted(set(changes) - set(POLICY_FIELDS))
    if unknown:
        raise Invalid(f"not a stock policy field: {unknown[0]}")
    with transaction(ctx.sessions) as session:
        site = get(session, Site, site_id)
        changed = apply_policy(site, changes)
        described = {"site_id": site_id, **describe_policy(site)}
    return {**described, "resync": resync(ctx, site_id) if changed else None}


def _sku(raw: str) -> str:
    # Control characters (NUL among them, which PostgreSQL refuses) and lone surrogates
    # are no SKU: refused here, as every door's input.
    if not raw.isprintable():
        raise Invalid("SKU must be printable text")
    try:
        return normalize_sku(raw)
    except InvalidSku as bad:
        raise Invalid(str(bad)) from None


def describe_rule(site_id: int, sku: str, kind: str, quantity: int | None) -> dict[str, Any]:
    return {"site_id": site_id, "sku": sku, "rule": kind, "quantity": quantity}


def set_rule(
    ctx: Context, site_id: int, sku: str, *, override: int | None = None, opt_out: bool = False
) -> dict[str, Any]:
    """Give `sku` (normalised) an override quantity or opt it out; one rule per SKU,
    so setting one replaces the other. Resyncs the site."""
    if (override is None) == (not opt_out):
        raise Invalid("give either an override quantity or opt_out, not both or neither")
    kind = RuleKind.OPT_OUT if opt_out else RuleKind.OVERRIDE
    quantity = None if opt_out else _count("override", override)
    normal = _sku(sku)
    with transaction(ctx.sessions) as session:
        get(session, Site, site_id)
        values = {"site_id": site_id, "sku": normal, "rule": kind.value, "quantity": quantity}
        session.execute(
            insert(SkuRule)
            .values(values)
            .on_conflict_do_update(
                index_elements=["site_id", "sku"],
                set_={"rule": kind.value, "quantity": quantity, "updated_at": func.now()},
            )
        )
    return {**describe_rule(site_id, normal, kind.value, quantity), "resync": resync(ctx, site_id)}


def clear_rule(ctx: Context, site_id: int, sku: str) -> dict[str, Any]:
    """Remove `sku`'s rule: the site's policy applies to it again. Resyncs the site."""
    normal = _sku(sku)
    with transaction(ctx.sessions) as session:
        get(session, Site, site_id)
        gone = session.execute(
            delete(SkuRule)
            .where(SkuRule.site_id == site_id, SkuRule.sku == normal)
            .returning(SkuRule.id)
        ).all()
    if not gone:
        raise NotFound(f"site {site_id} has no rule for SKU {normal}")
    return {"site_id": site_id, "sku": normal, "resync": resync(ctx, site_id)}


def list_rules(ctx: Context, site_id: int) -> list[dict[str, Any]]:
    with ctx.sessions() as session:
        get(session, Site, site_id)
        rows = session.execute(
            select(SkuRule.sku, SkuRule.rule, SkuRule.quantity)
            .where(SkuRule.site_id == site_id)
            .order_by(SkuRule.sku)
        )
        return [describe_rule(site_id, *row) for row in rows]
