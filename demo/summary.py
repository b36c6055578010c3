"""What the demo reports, gathered from where it is true: the run rows, the webhook log,
the sandboxes' own counters, and the stock the sandboxes hold once it is all over.

Nothing here is counted by the demo itself, so the summary checks the system rather
than repeating what the demo believes it did.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from demo.platforms import Sandbox
from demo.registration import Registered
from models import EventKind, SyncRun, WebhookLog, WebhookStatus


@dataclass(frozen=True)
class SiteSync:
    platform: str
    status: str
    checked: int
    changed: int
    unchanged: int
    failed: int
    #: Write requests the run made (its batches' count).
    write_calls: int
    #: Every request the store's sandbox answered during the run (catalog reads too).
    store_requests: int
    #: Of those, the ones it refused for its quota (429, Shopify's THROTTLED): none if
    #: the site's budget is what the store allows.
    store_refused: int
    seconds: float


@dataclass
class Webhooks:
    statuses: Counter[str] = field(default_factory=Counter)
    #: Duplicates by reason: coalesced into a window, or a delivery seen before.
    duplicates: Counter[str] = field(default_factory=Counter)
    #: Refusals by "provider: reason".
    refused: Counter[str] = field(default_factory=Counter)
    #: Seconds from receipt to processed (store written), ERP notifications only.
    to_store: list[float] = field(default_factory=list)

    @property
    def received(self) -> int:
        return sum(self.statuses.values())

    @property
    def pending(self) -> int:
        return self.statuses[WebhookStatus.RECEIVED] + self.statuses[WebhookStatus.QUEUED]


def site_syncs(
    sessions: sessionmaker[Session],
    runs: Mapping[str, int],
    requests: Mapping[str, tuple[int, int]],
) -> list[SiteSync]:
    """Each run's counts from its row; `requests` is each store's (requests answered,
    refused for its quota)."""
    out = []
    with sessions() as session:
        for platform, run_id in runs.items():
            run = session.get_one(SyncRun, run_id)
            answered, refused = requests.get(platform, (0, 0))
            seconds = 0.0
            if run.started_at and run.finished_at:
                seconds = (run.finished_at - run.started_at).total_seconds()
            out.append(
                SiteSync(
                    platform=platform,
                    status=str(run.status),
                    checked=run.total,
                    changed=run.synced,
                    unchanged=run.unchanged,
                    failed=run.failed,
                    write_calls=run.store_calls,
                    store_requests=answered,
                    store_refused=refused,
                    seconds=seconds,
                )
            )
    return out


def _owned(registered: Registered) -> ColumnElement[bool]:
    """The log rows of the demo's own source and sites (the database may hold others)."""
    return or_(
        WebhookLog.site_id.in_(registered.site_ids.values()),
        WebhookLog.source_id == registered.source_id,
    )


def webhooks(sessions: sessionmaker[Session], registered: Registered) -> Webhooks:
    owned = _owned(registered)
    found = Webhooks()
    with sessions() as session:
        for status, provider, error, count in session.execute(
            select(WebhookLog.status, WebhookLog.provider, WebhookLog.error, func.count())
            .where(owned)
            .group_by(WebhookLog.status, WebhookLog.provider, WebhookLog.error)
        ):
            found.statuses[str(status)] += count
            if status == WebhookStatus.DUPLICATE:
                found.duplicates[error or "duplicate"] += count
            elif status == WebhookStatus.REJECTED:
                found.refused[f"{provider}: {error}"] += count
        elapsed = func.extract("epoch", WebhookLog.processed_at - WebhookLog.received_at)
        found.to_store = [
            float(seconds)
            for seconds in session.scalars(
                select(elapsed).where(
                    owned,
                    WebhookLog.status == WebhookStatus.PROCESSED,
                    WebhookLog.kind == EventKind.ERP_ITEM_CHANGED,
                )
            )
        ]
    return found


def differences(erp: Sandbox, stores: Mapping[str, Sandbox]) -> dict[str, int]:
    """SKUs each store holds at a quantity other than the ERP's (or holds, or lacks)."""
    truth = erp.stock()
    out = {}
    for platform, store in stores.items():
        stock = store.stock()
        out[platform] = sum(
            1 for sku in truth.keys() | stock.keys() if truth.get(sku) != stock.get(sku)
        )
    return out


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile; None without values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]
