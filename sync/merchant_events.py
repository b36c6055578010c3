"""A site's lifecycle events (sync/lifecycle.py): `MERCHANT_CONNECTED` the first time a
connection test with its credentials passes (at `sites add`, or a later `sites test`
of a site added with `--no-check`), `MERCHANT_DISABLED` and `MERCHANT_ENABLED` when it
is deactivated and re-activated.

Each is recorded in the transaction of the change it reports, and the caller publishes
the returned delivery ids after commit, as for a run's events.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, update
from sqlalchemy.orm import Session

from models import Site
from sync.lifecycle import MERCHANT_CONNECTED, MERCHANT_DISABLED, MERCHANT_ENABLED, record_event


def site_data(site: Site) -> dict[str, Any]:
    """The event's `data`: which site, on which platform, in which state."""
    return {
        "site_id": site.id,
        "name": site.name,
        "platform": str(site.platform),
        "active": site.active,
        "connected_at": site.connected_at.isoformat() if site.connected_at else None,
    }


def connected(session: Session, site_id: int) -> list[int]:
    """The site's connection test passed: if it is the first, the site is connected now
    and its `MERCHANT_CONNECTED` is recorded. One conditional UPDATE, so two tests
    passing at once on two hosts send one event."""
    site = session.scalars(
        update(Site)
        .where(Site.id == site_id, Site.connected_at.is_(None))
        .values(connected_at=func.now())
        .returning(Site)
        .execution_options(populate_existing=True)
    ).first()
    if site is None:
        return []
    return record_event(session, MERCHANT_CONNECTED, f"site:{site.id}", site.id, site_data(site))


def switched(session: Session, site: Site) -> list[int]:
    """The site's `active` has just changed (and is flushed): `MERCHANT_ENABLED` or
    `MERCHANT_DISABLED`."""
    topic = MERCHANT_ENABLED if site.active else MERCHANT_DISABLED
    return record_event(session, topic, f"site:{site.id}", site.id, site_data(site))
