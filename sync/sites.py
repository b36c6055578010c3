"""Sites (storefronts): add, describe, list, update, deactivate, remove; webhooks on
and off.

The admin API, the CLI and the demo call these, so all validate alike and describe a
site the same way. Deactivating (`active` false) keeps its history and stops its syncs
and webhooks; removing (`remove_site`) deletes it and what belongs only to it, so its
name can be used again. `webhooks_active` is its real-time switch: off, its webhooks
are logged `ignored` and no real-time write reaches its store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from models import Item, Platform, Site, Source, SyncRun, WebhookLog, WebhookStatus
from models.sync import LIVE_RUN_STATUSES
from sync import lifecycle, merchant_events
from sync.accounts import (
    apply_changes,
    check_base_url,
    check_credentials,
    find,
    get,
    one_of,
    owner_id,
    saving,
    switch_webhooks,
)
from sync.context import Context
from sync.errors import Conflict, Invalid, NotFound
from sync.limits import describe_usage
from sync.stock_policy import POLICY_FIELDS, apply_policy, describe_policy, resync
from sync.subscriptions import (
    after_secret_change,
    check_connection,
    on_add,
    removing,
    secret_changed,
)

#: Plain columns an update may set as given (secrets and the zone are checked apart).
SITE_FIELDS = (
    "name",
    "base_url",
    "full_sync_hour",
    "active",
    "webhooks_active",
    "rate_limit_requests",
    "rate_limit_window_seconds",
    "rate_limit_concurrency",
)


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(f"unknown IANA time zone {name!r}") from None
    return name


def describe_site(site: Site) -> dict[str, Any]:
    """What may be shown of a site: never credentials or secrets."""
    return {
        "id": site.id,
        "name": site.name,
        "platform": site.platform.value,
        "base_url": site.base_url,
        "source_id": site.source_id,
        "timezone": site.timezone,
        "full_sync_hour": site.full_sync_hour,
        "active": site.active,
        "connected_at": site.connected_at,
        "webhooks_active": site.webhooks_active,
        "has_webhook_secret": site.webhook_secret_sealed is not None,
        "has_api_key": site.api_key_hash is not None,
        "rate_limit_requests": site.rate_limit_requests,
        "rate_limit_window_seconds": site.rate_limit_window_seconds,
        "rate_limit_concurrency": site.rate_limit_concurrency,
        "awaiting_first_sync": site.awaiting_first_sync,
        **describe_policy(site),
    }


def site_id(ctx: Context, ref: str | int) -> int:
    """The id of the site named or numbered `ref`; `NotFound` if none."""
    return owner_id(ctx, Site, ref)


def get_site(session: Session, site_id: int) -> Site:
    return get(session, Site, site_id)


def show_site(ctx: Context, site_id: int) -> dict[str, Any]:
    """The site as `describe_site` shows it, and the store's and ERP's budgets now."""
    with ctx.sessions() as session:
        site = get_site(session, site_id)
        return {**describe_site(site), "budgets": site_budgets(ctx, site)}


def site_budgets(ctx: Context, site: Site) -> dict[str, Any]:
    """The store's and the ERP's shared budgets now, each with its line of text:
    "ERP budget: 3 of 100 requests in 60 s; today 1,840 of 7,500 used". A shop limited
    by cost points (Shopify) shows its bucket too."""
    store = ctx.limit(site).usage()
    points = ctx.points(site)
    if points is not None:
        store = replace(store, points=points.usage())
    return {
        "store": describe_usage(store, "store"),
        "erp": describe_usage(ctx.limit(site.source).usage(), "ERP"),
    }


def list_sites(ctx: Context, limit: int | None = None, offset: int = 0) -> list[dict[str, Any]]:
    with ctx.sessions() as session:
        rows = session.scalars(select(Site).order_by(Site.id).limit(limit).offset(offset))
        return [describe_site(site) for site in rows]


def add_site(
    ctx: Context,
    *,
    name: str,
    platform: str,
    base_url: str,
    source: str | int,
    credentials: Mapping[str, Any],
    webhook_secret: str | Mapping[str, str] | None = None,
    timezone: str = "UTC",
    full_sync_hour: int = 2,
    check: bool = True,
    initial_sync: bool = True,
) -> dict[str, Any]:
    """Register a store fed by `source` (its id or name). Its address and credentials
    are checked first (`check_base_url`, `check_credentials`), and with `check` the
    store is called with them (sync/subscriptions.py `check_connection`), so a wrong
    key is refused now rather than failing at its first sync. Once saved, our webhooks
    are registered on it if PUBLIC_URL is set (`on_add`), and the answer says when its
    first full sync runs. Without `initial_sync`, its nightly runs are previews until
    an operator's live run of it completes (schedules/due.py)."""
    if not 0 <= full_sync_hour <= 23:
        raise Invalid(f"full_sync_hour must be 0-23, got {full_sync_hour}")
    kind = one_of(platform, Platform, "platform")
    base_url = check_base_url(base_url, kind.value)
    check_credentials(kind.value, credentials)
    zone = check_timezone(timezone)
    with ctx.sessions() as session:
        if session.scalars(select(Site).where(Site.name == name)).first():
            raise Invalid(f"a site named {name!r} exists")
    if check:
        check_connection(ctx, kind.value, base_url, credentials)
    with saving(ctx) as session:
        if session.scalars(select(Site).where(Site.name == name)).first():
            raise Invalid(f"a site named {name!r} exists")
        try:
            source_id = find(session, Source, source).id
        except NotFound as missing:
            raise Invalid(missing.message) from None
        site = Site(
            name=name,
            platform=kind,
            base_url=base_url,
            source_id=source_id,
            timezone=zone,
            full_sync_hour=full_sync_hour,
            credentials_sealed=ctx.vault.seal(credentials),
            webhook_secret_sealed=ctx.vault.seal(webhook_secret) if webhook_secret else None,
            awaiting_first_sync=not initial_sync,
        )
        session.add(site)
        session.flush()
        # The check above was its first passing connection test.
        deliveries = merchant_events.connected(session, site.id) if check else []
        described = describe_site(site)
    lifecycle.publish(ctx.broker, deliveries)
    described["first_full_sync"] = first_full_sync(
        ctx.clock(), zone, full_sync_hour, live=initial_sync
    )
    return described | on_add(ctx, "site", described["id"])


def first_full_sync(now: datetime, timezone: str, hour: int, *, live: bool) -> str:
    """When a site added `now` gets its first nightly run (schedules/due.py: the next
    `hour`:00 it lives through), in words for the answer to `sites add`."""
    local = now.astimezone(ZoneInfo(timezone))
    day = local.date() if local.hour < hour else local.date() + timedelta(days=1)
    when = f"{day.isoformat()} at {hour:02d}:00 {timezone}"
    if not live:
        return (
            f"none until you start one (`stocksync sync <site>`): a preview each night from "
            f"{when}, writing nothing (`stocksync sync <site> --preview` for one now)"
        )
    return (
        f"{when}; start one now with `stocksync sync <site>`, or see what it would "
        "change first with `stocksync sync <site> --preview`"
    )


def update_site(ctx: Context, site_id: int, changes: Mapping[str, Any]) -> dict[str, Any]:
    """Change a site's fields, credentials or secret; a secret generated here (with
    `rotate_webhook_secret`) is in the answer's `webhook_secret`, once. A change of its
    stock policy resyncs its store; the answer's `resync` says how (sync/stock_policy.py).
    Deactivating or re-activating it sends `MERCHANT_DISABLED` / `MERCHANT_ENABLED`.

    New credentials must hold every key of the site's platform: they replace the old
    ones whole. `source` (an id or name) moves the site to another ERP (see `_move`).
    """
    with saving(ctx) as session:
        # Locked first: two changes of `active` at once are one after the other, so
        # each sees the state the other left and only a real change sends its event.
        session.execute(select(Site.id).where(Site.id == site_id).with_for_update())
        site = get_site(session, site_id)
        if "base_url" in changes:
            changes = {
                **changes,
                "base_url": check_base_url(changes["base_url"], site.platform.value),
            }
        if "credentials" in changes:
            check_credentials(site.platform.value, changes["credentials"])
        if "full_sync_hour" in changes and not 0 <= changes["full_sync_hour"] <= 23:
            raise Invalid(f"full_sync_hour must be 0-23, got {changes['full_sync_hour']}")
        if "timezone" in changes:
            site.timezone = check_timezone(changes["timezone"])
        if "source" in changes:
            _move(session, site, changes["source"])
        policy = {name: changes[name] for name in POLICY_FIELDS if name in changes}
        rest = {name: value for name, value in changes.items() if name not in POLICY_FIELDS}
        policy_changed = apply_policy(site, policy)
        was_active = site.active
        generated = apply_changes(session, ctx.vault, site, rest, SITE_FIELDS)
        if "webhook_secret" in changes or changes.get("rotate_webhook_secret"):
            secret_changed(session, "site", site_id)
        session.flush()
        deliveries = merchant_events.switched(session, site) if site.active != was_active else []
        described = describe_site(site)
    lifecycle.publish(ctx.broker, deliveries)
    if generated:
        described["webhook_secret"] = generated
    if "webhook_secret" in changes or changes.get("rotate_webhook_secret"):
        described |= after_secret_change(ctx, "site", site_id)
    if policy_changed:
        described["resync"] = resync(ctx, site_id)
    return described


def _move(session: Session, site: Site, source: str | int) -> None:
    """Feed `site` from another source. Refused while it has a live run (its batches
    read the old ERP). The ERP item ids its catalog mirror remembers belong to the old
    ERP: forgotten, so a deletion notice of the new one never zeroes a SKU by a
    colliding id; the next read fills them again. Open reservations stay with the
    source whose stock they hold."""
    try:
        new_id = find(session, Source, source).id
    except NotFound as missing:
        raise Invalid(missing.message) from None
    if new_id == site.source_id:
        return
    # As in remove_site: wait for a run being started to commit, then see it.
    session.execute(select(Site.id).where(Site.id == site.id).with_for_update())
    _refuse_live_run(session, site)
    site.source_id = new_id
    session.execute(update(Item).where(Item.site_id == site.id).values(erp_item_id=None))


def _refuse_live_run(session: Session, site: Site) -> None:
    live = session.scalar(
        select(SyncRun.id).where(SyncRun.site_id == site.id, SyncRun.status.in_(LIVE_RUN_STATUSES))
    )
    if live is not None:
        raise Conflict(f"site {site.name} has a live run {live}: cancel it first")


def remove_site(ctx: Context, site_id: int) -> dict[str, Any]:
    """Delete a site and everything that belongs only to it, in one transaction:
    catalog mirror (`items`), SKU rules, reservations, runs and their batches, plugin
    records (orders, customers, categories, products), lifecycle subscribers of this site
    alone, webhook subscriptions, and its API key and secrets (columns of the row). The
    database's foreign keys cascade these (every `site_id` is ON DELETE CASCADE). The
    webhook log keeps its rows (no foreign key: what arrived stays searchable), and so
    does the delivery-id memory, purged by retention. Refused while a run is live:
    its batches would write a store we no longer know. Answers what it was.
    """
    with ctx.sessions() as session:
        _refuse_live_run(session, get_site(session, site_id))
    # Our webhooks leave the platform first, outside the transaction (platform calls
    # hold no row lock): removed after, their rows would be gone with their ids. A run
    # started between here and the lock below refuses the removal; the keeper's next
    # pass then registers the site's webhooks again.
    with removing(ctx, "site", site_id), saving(ctx) as session:
        # FOR UPDATE: a run started meanwhile inserts a row referencing the site, which
        # takes a key-share lock on it; we wait for that insert, then see its run.
        site = session.scalars(select(Site).where(Site.id == site_id).with_for_update()).first()
        if site is None:
            raise NotFound(f"no site {site_id}")
        _refuse_live_run(session, site)
        described = describe_site(site)
        session.delete(site)
    return described


#: Deliveries that were accepted, whatever became of them after: refused (forged,
#: unsigned) and ignored (switched off, unknown topic) requests do not show that the
#: platform still reaches us with genuine deliveries.
_NOT_ACCEPTED = (WebhookStatus.REJECTED, WebhookStatus.IGNORED)


def last_received(session: Session, site_id: int) -> Any:
    """When the site's last accepted webhook arrived (None if never)."""
    return session.scalar(
        select(func.max(WebhookLog.received_at)).where(
            WebhookLog.site_id == site_id, WebhookLog.status.not_in(_NOT_ACCEPTED)
        )
    )


def toggle_webhooks(ctx: Context, site_id: int, active: bool | None) -> dict[str, Any]:
    """Set (or, with None, flip) the site's real-time switch: off, no real-time write
    reaches its store; its full sync still follows `active` and the schedule."""
    site = switch_webhooks(ctx, Site, site_id, active)
    with ctx.sessions() as session:
        return {
            "site_id": site.id,
            "webhooks_active": site.webhooks_active,
            "last_received_at": last_received(session, site.id),
        }
