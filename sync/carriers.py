"""Pushing to every store of a source that carries some SKUs: the real-time fan-out.

An ERP change, a store order and the ERP's handover of an order all end the same way:
each active site of the source with its real-time switch on, and carrying the SKUs,
gets its sellable numbers through the one write path (sync/push.py). One store refusing
must not keep the others stale, so every site is tried and the failures are raised
together at the end.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select

from connectors.errors import PermanentError
from connectors.types import SourceItem
from models import Item, Site
from sync.context import Context
from sync.push import PushOutcome, push_readings

#: The sites a real-time change, or a run automation starts (a heal, a lost feed, an
#: ERP `collection`), may write to: active, real-time switch on, and not added with
#: `--no-initial-sync` and waiting for an operator's first live run (which nothing
#: may pre-empt with a write; a site's own events skip it too, sync/events.py).
REAL_TIME_SITES = (Site.active, Site.webhooks_active, Site.awaiting_first_sync.is_(False))


class PushFailed(Exception):
    """Some SKUs of some sites were refused; the message names them."""


def require_pushed(site: Site, outcome: PushOutcome) -> str:
    """A one-line summary of `outcome`, or PushFailed naming the first refusals."""
    if outcome.failures:
        sample = "; ".join(f"{sku}: {why}" for sku, why in list(outcome.failures.items())[:5])
        raise PushFailed(f"site {site.id}: {outcome.failed} SKU(s) failed ({sample})")
    return f"site {site.id}: {_counts(outcome)}"


def _counts(outcome: PushOutcome) -> str:
    return f"{outcome.synced} pushed, {outcome.unchanged} unchanged" + (
        f", {outcome.opted_out} opted out" if outcome.opted_out else ""
    )


def carriers(ctx: Context, source_id: int, skus: Sequence[str]) -> list[Site]:
    """The source's real-time sites carrying any of `skus`, by id."""
    with ctx.sessions() as session:
        return list(
            session.scalars(
                select(Site)
                .where(
                    *REAL_TIME_SITES,
                    Site.source_id == source_id,
                    Site.id.in_(
                        select(Item.site_id).where(Item.sku.in_(sorted(skus)), Item.active)
                    ),
                )
                .order_by(Site.id)
            )
        )


def carried(ctx: Context, sites: Sequence[Site], skus: Sequence[str]) -> dict[int, set[str]]:
    """Which of `skus` each of `sites` sells (active catalog rows), by site id: a
    change naming many SKUs goes to each store for the ones it has, not as unknown
    SKUs for the rest."""
    found: dict[int, set[str]] = {site.id: set() for site in sites}
    with ctx.sessions() as session:
        rows = session.execute(
            select(Item.site_id, Item.sku).where(
                Item.site_id.in_(list(found)), Item.sku.in_(sorted(skus)), Item.active
            )
        )
        for site_id, sku in rows:
            found[site_id].add(sku)
    return found


@dataclass
class FanOut:
    """What `fan_out` did: a line per site, and the refusals by SKU (each naming its
    site), so each of a group's events ends on its own SKU's outcome."""

    summaries: list[str] = field(default_factory=list)
    failures: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    @property
    def summary(self) -> str:
        return "; ".join(self.summaries)


def fan_out(ctx: Context, source_id: int, readings: Sequence[SourceItem]) -> FanOut:
    """Push ERP readings to every real-time site of the source, each site only the
    SKUs it sells (one store write for all of them); one store refusing does not keep
    the others stale."""
    skus = sorted({reading.sku for reading in readings})
    sites = carriers(ctx, source_id, skus)
    sells = carried(ctx, sites, skus) if len(skus) > 1 else {site.id: set(skus) for site in sites}
    done = FanOut()
    for site in sites:
        mine = [reading for reading in readings if reading.sku in sells[site.id]]
        try:
            outcome = push_readings(ctx, site, mine, ctx.storefront(site))
        except PermanentError as exc:
            for reading in mine:
                done.failures[reading.sku].append(f"site {site.id}: {exc}")
            continue
        for sku, why in outcome.failures.items():
            done.failures[sku].append(f"site {site.id}: {why}")
        done.summaries.append(f"site {site.id}: {_counts(outcome)}")
    return done


def push_to_carriers(
    ctx: Context,
    sites: Sequence[Site],
    readings_of: Callable[[Site], Sequence[SourceItem]],
    *,
    read_back_site: int | None = None,
) -> str:
    """Push `readings_of(site)` to each of `sites`; the site `read_back_site` (the
    store that took an order) is read back first (sync/push.py `read_back`)."""
    summaries, failures = [], []
    for site in sites:
        try:
            outcome = push_readings(
                ctx,
                site,
                readings_of(site),
                ctx.storefront(site),
                read_back=site.id == read_back_site,
            )
            summaries.append(require_pushed(site, outcome))
        except (PushFailed, PermanentError) as exc:
            failures.append(str(exc))
    if failures:
        raise PushFailed("; ".join(failures))
    return "; ".join(summaries)
