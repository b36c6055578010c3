"""Our webhook subscriptions on the platforms: registered by us, kept alive by the keeper.

Real time works only while every platform keeps calling us, and each gives up on a
subscription in its own way (docs/platforms.md, cross-cutting notes; models/
subscriptions.py). With `PUBLIC_URL` set (where the platforms reach our receiver), `keep`
makes a site's or source's subscriptions match what stocksync needs:

- a topic with no subscription on the platform is created (re-created, if Shopify
  deleted it or Business Central let it expire);
- one the platform disabled is re-activated (WooCommerce `status=active`, BigCommerce
  `is_active=true`), one pointing at an old URL is pointed at ours, one expiring within
  `RENEW_BEFORE` is renewed (Business Central: PATCH with `If-Match`, handshake again);
- where the platform has no API for it (Zoho Inventory), the row is `manual` and
  `manual_steps` says what a person does.

A subscription that was disabled, deleted or expired lost deliveries meanwhile: `keep`
then reconciles its owner (`sync.healing`: a store's site with a full run, an ERP's
items modified since the last notice pushed to the stores), and the row's
`last_action` says why and how. The lapse is recorded as a due heal (`heal_due_at`) in
the commit that records the mend, so a keeper killed before the heal starts, or one
whose heal the broker refused, heals at its next pass. An ERP's subscription that the
platform lists as active but that stopped delivering (items changed with no notice
since, `healing.silence`) is re-created and healed the same way. It runs when a site
or source is added (`register`, which also generates the secret the platform will sign
with), every `KEEPER_INTERVAL` from beat (`keep_all`), and on demand (`stocksync sites
subscriptions`).

Platform calls are made outside any transaction, under a per-owner Redis lock so two
keepers never register one topic twice. Killed at any line, the next pass finds what the
platform holds by URL and topic, so nothing is made twice or forgotten.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from connectors.errors import ConnectionProblem, ConnectorError
from connectors.interfaces import Connection, ModifiedSince
from connectors.registry import build_connection
from connectors.types import RemoteSubscription, SubscriptionSpec
from models import (
    EventKind,
    Site,
    Source,
    Subscription,
    SubscriptionState,
    WebhookLog,
    WebhookStatus,
)
from models.db import transaction
from sync import healing, lifecycle, merchant_events
from sync.accounts import get
from sync.context import Context
from sync.errors import Conflict, Invalid, ServiceError

log = logging.getLogger(__name__)

#: Beat runs `keep_all` this often: well inside every platform's grace (WooCommerce
#: disables after a handful of failures, so the heal matters more than the period).
KEEPER_INTERVAL = timedelta(minutes=10)
#: Renew a subscription this long before it expires: Business Central's last 3 days,
#: so a keeper down for a day still renews in time.
RENEW_BEFORE = timedelta(days=2)
#: How long a keeper pass may hold an owner's lock before another may take it.
LOCK_SECONDS = 300
#: How long the beat's pass over every owner goes on (its task may run 240 s): the
#: owners it did not reach are first in the next pass.
PASS_SECONDS = 180.0


@dataclass(frozen=True)
class Owner:
    """A site or a source as the keeper needs it: whose subscriptions, on which platform."""

    kind: str  # "site" or "source"
    id: int
    platform: str
    base_url: str
    credentials: Mapping[str, Any]
    secret: str | Mapping[str, str] | None


def receiver_url(public_url: str, platform: str, owner_id: int) -> str:
    """Where `platform` delivers an owner's webhooks (api/receiver.py's route)."""
    return f"{public_url.rstrip('/')}/webhooks/{platform}/{owner_id}"


def connection_of(
    ctx: Context, platform: str, base_url: str, credentials: Mapping[str, Any]
) -> Connection:
    return build_connection(platform, base_url, credentials, token_cache=ctx.token_cache)


def check_connection(
    ctx: Context, platform: str, base_url: str, credentials: Mapping[str, Any]
) -> None:
    """Call the platform with these credentials; `Invalid` with one line if they fail.

    Run before a site or source is saved and by `stocksync sites test`: a wrong key is
    found while its owner is at the keyboard, not at 02:00.
    """
    try:
        connection_of(ctx, platform, base_url, credentials).check()
    except ConnectionProblem as problem:
        raise Invalid(str(problem)) from None
    except ConnectorError as error:
        raise Invalid(f"{platform} could not be reached: {error}") from None


def check_owner(ctx: Context, kind: str, owner_id: int) -> dict[str, Any]:
    """`check_connection` of a saved site or source (`stocksync sites test`). A site's
    first passing test connects it (`MERCHANT_CONNECTED`, sync/merchant_events.py)."""
    owner = _owner(ctx, kind, owner_id)
    check_connection(ctx, owner.platform, owner.base_url, owner.credentials)
    if kind == "site":
        with transaction(ctx.sessions) as session:
            deliveries = merchant_events.connected(session, owner_id)
        lifecycle.publish(ctx.broker, deliveries)
    return {kind: owner_id, "platform": owner.platform, "ok": True}


def subscription_secret(platform: str, stored: str | Mapping[str, str] | None) -> str | None:
    """The secret a subscription carries, from its owner's webhook secret: WooCommerce's
    webhook secret, BigCommerce's header secret, Business Central's `clientState`, the
    Zoho token. Shopify signs with the app's client secret, which no subscription holds."""
    if platform == "shopify" or stored is None:
        return None
    if isinstance(stored, Mapping):
        return stored.get("header_secret") or stored.get("token")
    return stored


def _row(session: Session, kind: str, owner_id: int) -> Site | Source:
    return get(session, Site, owner_id) if kind == "site" else get(session, Source, owner_id)


def _owner(ctx: Context, kind: str, owner_id: int) -> Owner:
    with ctx.sessions() as session:
        row = _row(session, kind, owner_id)
        platform = str(row.platform if isinstance(row, Site) else row.kind)
        sealed = row.webhook_secret_sealed
        return Owner(
            kind=kind,
            id=row.id,
            platform=platform,
            base_url=row.base_url,
            credentials=ctx.vault.open(row.credentials_sealed),
            secret=ctx.vault.open(sealed) if sealed else None,
        )


def _ensure_secret(ctx: Context, owner: Owner) -> Owner:
    """Generate the owner's webhook secret if it has none (stored sealed, never shown:
    the platform gets it through its API). Shopify's is the app's client secret, which
    only its owner can give."""
    if owner.secret is not None:
        return owner
    if owner.platform == "shopify":
        raise Invalid(
            "Shopify signs webhooks with the app's client secret: set it first "
            f"(stocksync sites set-secret {owner.id} --secret <client secret>)"
        )
    secret = secrets.token_urlsafe(32)
    with transaction(ctx.sessions) as session:
        row = _row(session, owner.kind, owner.id)
        if row.webhook_secret_sealed is None:
            row.webhook_secret_sealed = ctx.vault.seal(secret)
        else:  # set meanwhile by someone else: theirs wins
            secret = ctx.vault.open(row.webhook_secret_sealed)
    return Owner(owner.kind, owner.id, owner.platform, owner.base_url, owner.credentials, secret)


@dataclass
class Outcome:
    """What one pass did for one topic."""

    topic: str
    state: SubscriptionState
    remote: RemoteSubscription | None = None
    action: str | None = None
    error: str | None = None
    #: The subscription had lapsed (disabled, deleted, expired): deliveries were lost.
    lapsed: bool = False


def _mend(
    connection: Connection,
    spec: SubscriptionSpec,
    row: Subscription | None,
    remote: list[RemoteSubscription],
    now: datetime,
    silent: str | None = None,
    resend: bool = False,
) -> Outcome:
    """Make the platform hold `spec`: find ours, then create, re-activate, re-point or
    renew it as needed, replace it when it is `silent` (why it looks so), or, with
    `resend`, give it the owner's new secret whatever its state. Ours is
    the one the row recorded, else one with our URL and topic (made by a pass killed
    before it could record it)."""
    known = row.remote_id if row is not None else None
    mine = next((r for r in remote if known and r.remote_id == known), None) or next(
        (r for r in remote if r.topic == spec.topic and r.url == spec.url), None
    )
    try:
        if mine is None:
            made = connection.create_subscription(spec)
            if row is None or row.remote_id is None:
                return Outcome(spec.topic, SubscriptionState.ACTIVE, made, "created")
            return Outcome(
                spec.topic,
                SubscriptionState.ACTIVE,
                made,
                "re-created: the platform no longer had it (deleted or expired)",
                lapsed=True,
            )
        if silent is not None and mine.active:
            connection.delete_subscription(mine)
            made = connection.create_subscription(spec)
            return Outcome(
                spec.topic, SubscriptionState.ACTIVE, made, f"re-created: {silent}", lapsed=True
            )
        if not mine.active:
            made = connection.update_subscription(mine, spec)
            action = "re-activated: the platform had disabled it"
            return Outcome(spec.topic, SubscriptionState.ACTIVE, made, action, lapsed=True)
        if mine.url != spec.url:
            made = connection.update_subscription(mine, spec)
            action = f"re-pointed from {mine.url}"
            return Outcome(spec.topic, SubscriptionState.ACTIVE, made, action)
        if resend:
            made = connection.update_subscription(mine, spec)
            return Outcome(spec.topic, SubscriptionState.ACTIVE, made, "given the new secret")
        if mine.expires_at is not None and mine.expires_at - now < RENEW_BEFORE:
            made = connection.update_subscription(mine, spec)
            action = f"renewed: it was to expire at {mine.expires_at.isoformat()}"
            return Outcome(spec.topic, SubscriptionState.ACTIVE, made, action)
        return Outcome(spec.topic, SubscriptionState.ACTIVE, mine)
    except ConnectorError as error:
        # Not healed yet: a reconciliation now would be followed by more lost
        # deliveries; the pass that mends it finds it lapsed and heals then.
        disabled = mine is not None and not mine.active
        state = SubscriptionState.DISABLED if disabled else SubscriptionState.FAILED
        return Outcome(spec.topic, state, mine, error=str(error))


def keep(ctx: Context, kind: str, owner_id: int, *, heal: bool = True) -> list[dict[str, Any]]:
    """One keeper pass over a site's or source's subscriptions; their descriptions.

    Nothing to do without `PUBLIC_URL`. With `heal`, a lapsed subscription's owner is
    reconciled at once (`reconcile`, under the same lock: a heal another pass started
    cannot clear a lapse this one found). Each subscription is given the owner's current
    secret where a change of it is due (`secret_due_at`, set with the new secret):
    deliveries signed with an old one would all be refused.
    """
    public_url = ctx.settings.public_url
    if public_url is None:
        return describe(ctx, kind, owner_id)
    with _owner_lock(ctx, kind, owner_id):
        _pass(ctx, _owner(ctx, kind, owner_id), public_url)
        if heal:
            reconcile(ctx, kind, owner_id)
    return describe(ctx, kind, owner_id)


@contextmanager
def _owner_lock(ctx: Context, kind: str, owner_id: int) -> Iterator[None]:
    """Serialise what changes an owner's subscriptions (keeper passes, removal) on
    every host; `Conflict` if another holds it for longer than a pass may take."""
    lock = ctx.redis.lock(f"stocksync:keeper:{kind}:{owner_id}", timeout=LOCK_SECONDS)
    if not lock.acquire(blocking_timeout=LOCK_SECONDS):
        raise Conflict(f"another keeper pass over {kind} {owner_id} is running")
    try:
        yield
    finally:
        try:
            lock.release()
        except Exception:  # expired meanwhile: another pass may hold it now
            log.warning("subscriptions.lock_lost", extra={"owner": f"{kind}:{owner_id}"})


def on_add(ctx: Context, kind: str, owner_id: int) -> dict[str, Any]:
    """What adding a site or source registers, for its answer: the subscriptions made
    (`subscriptions`), where the platform has no API the steps to take by hand
    (`manual_steps`, which carry the generated secret: shown this once), and what
    failed (`subscriptions_error`; the keeper tries again). Without PUBLIC_URL a note
    says webhooks are set up by hand."""
    if ctx.settings.public_url is None:
        platform = _owner(ctx, kind, owner_id).platform
        return {
            "subscriptions": [],
            "subscriptions_note": "PUBLIC_URL is not set: set up this platform's webhooks "
            f"by hand, pointing at /webhooks/{platform}/{owner_id}",
        }
    try:
        made = register(ctx, kind, owner_id)
        steps = manual_steps(ctx, kind, owner_id)
    except (ServiceError, ConnectorError) as error:
        message = error.message if isinstance(error, ServiceError) else str(error)
        return {"subscriptions": describe(ctx, kind, owner_id), "subscriptions_error": message}
    return {"subscriptions": made, **({"manual_steps": steps} if steps else {})}


def register(ctx: Context, kind: str, owner_id: int) -> list[dict[str, Any]]:
    """Register a new site's or source's subscriptions (a keeper pass without healing:
    nothing was lost yet). Failures stay on the rows for the keeper to retry."""
    return keep(ctx, kind, owner_id, heal=False)


def secret_changed(session: Session, kind: str, owner_id: int) -> None:
    """Mark the owner's subscriptions due for its new secret, in the transaction that
    sets it: killed before `after_secret_change` gives it to them, the keeper's next
    pass does."""
    session.execute(
        update(Subscription)
        .where(_owner_column(kind) == owner_id)
        .values(secret_due_at=func.clock_timestamp())
    )


def after_secret_change(ctx: Context, kind: str, owner_id: int) -> dict[str, Any]:
    """Give the owner's subscriptions its new secret (`secret_changed` marked them), for
    the answer of the change that set it: `subscriptions`, or `subscriptions_error`
    (the rows say the rest; a platform without a subscriptions API is told by hand,
    `manual_steps`)."""
    try:
        return {"subscriptions": keep(ctx, kind, owner_id, heal=False)}
    except (ServiceError, ConnectorError) as error:
        message = error.message if isinstance(error, ServiceError) else str(error)
        return {"subscriptions_error": message}


def _pass(ctx: Context, owner: Owner, public_url: str) -> None:
    """Mend each topic's subscription and record the outcomes (lapses as due heals)."""
    url = receiver_url(public_url, owner.platform, owner.id)
    connection = connection_of(ctx, owner.platform, owner.base_url, owner.credentials)
    owner = _ensure_secret(ctx, owner)
    secret = subscription_secret(owner.platform, owner.secret)
    now = ctx.clock()
    rows = _rows(ctx, owner)
    resend = any(row.secret_due_at is not None for row in rows.values())
    if not connection.topics:
        outcomes = [Outcome(MANUAL_TOPIC, SubscriptionState.MANUAL)]
    elif secret is None and owner.platform != "shopify":
        # A secret object without the key this platform's subscriptions carry.
        wrong = (
            f"the stored webhook secret holds no secret a {owner.platform} subscription "
            f"carries: set it again (stocksync {owner.kind}s set-secret {owner.id})"
        )
        outcomes = [Outcome(t, SubscriptionState.FAILED, error=wrong) for t in connection.topics]
    else:
        try:
            remote = connection.list_subscriptions()
        except ConnectorError as error:
            outcomes = [
                Outcome(topic, SubscriptionState.FAILED, error=f"listing failed: {error}")
                for topic in connection.topics
            ]
        else:
            silent = _silence(ctx, owner, rows, now)
            outcomes = [
                _mend(
                    connection,
                    SubscriptionSpec(topic, url, secret),
                    rows.get(topic),
                    remote,
                    now,
                    silent,
                    resend,
                )
                for topic in connection.topics
            ]
    _record(ctx, owner, url, outcomes, now)
    for outcome in outcomes:
        if outcome.action or outcome.error:
            log.info(
                "subscriptions.kept",
                extra={
                    "owner": f"{owner.kind}:{owner.id}",
                    "topic": outcome.topic,
                    "action": outcome.action,
                    "error": outcome.error,
                },
            )


def _silence(
    ctx: Context, owner: Owner, rows: Mapping[str, Subscription], now: datetime
) -> str | None:
    """Why a source's active subscriptions look silent (`healing.silence`), or None.

    Quiet since the latest of: the last notice, the rows' making and a (re-)creation by
    the keeper (a subscription made anew owes nothing from before; a renewal or a new
    secret is no such mark). One ERP read at most; a store's subscriptions are not
    checked (nothing lists what they owe).
    """
    active = [r for r in rows.values() if r.state is SubscriptionState.ACTIVE and r.remote_id]
    if owner.kind != "source" or not active:
        return None
    with ctx.sessions() as session:
        marks = [_last_delivery(session, owner)]
        for row in active:
            marks.append(row.created_at)
            if (row.last_action or "").startswith(MADE_ACTIONS):
                marks.append(row.last_action_at)
        source = session.get_one(Source, owner.id)
    try:
        erp = ctx.source(source)
        if not isinstance(erp, ModifiedSince):
            return None  # nothing lists what its subscriptions owe
        return healing.silence(erp, max(m for m in marks if m is not None), now)
    except ConnectorError as error:
        log.warning("subscriptions.silence_unknown", extra={"owner": owner.id, "error": str(error)})
        return None


#: How `_mend`'s actions that make a subscription anew begin.
MADE_ACTIONS = ("created", "re-created")
#: The topics the receiver logs for Business Central's validation handshake and
#: WooCommerce's creation ping (api/receiver.py): unsigned, so no proof of a delivery.
HANDSHAKE_TOPIC = "handshake"
PING_TOPIC = "ping"

#: The one row of an owner whose platform has no subscriptions API (Zoho Inventory).
MANUAL_TOPIC = "manual"


def _owner_column(kind: str) -> Any:
    return Subscription.site_id if kind == "site" else Subscription.source_id


def _rows(ctx: Context, owner: Owner) -> dict[str, Subscription]:
    with ctx.sessions() as session:
        rows = session.scalars(
            select(Subscription).where(_owner_column(owner.kind) == owner.id)
        ).all()
        session.expunge_all()
        return {row.topic: row for row in rows}


def _record(ctx: Context, owner: Owner, url: str, outcomes: list[Outcome], now: datetime) -> None:
    """Write what the pass found and did, one row per topic, in one transaction."""
    with transaction(ctx.sessions) as session:
        rows = {
            row.topic: row
            for row in session.scalars(
                select(Subscription).where(_owner_column(owner.kind) == owner.id).with_for_update()
            )
        }
        last_delivery = _last_delivery(session, owner)
        # The secret now stored is the one the pass sent: a change committed meanwhile
        # (it locks these rows to mark them, so it is seen here) stays due.
        sealed = _row(session, owner.kind, owner.id).webhook_secret_sealed
        sent_current = sealed is not None and ctx.vault.open(sealed) == owner.secret
        for outcome in outcomes:
            row = rows.get(outcome.topic)
            if row is None:
                row = Subscription(
                    site_id=owner.id if owner.kind == "site" else None,
                    source_id=owner.id if owner.kind == "source" else None,
                    platform=owner.platform,
                    topic=outcome.topic,
                    url=url,
                    state=outcome.state,
                )
                session.add(row)
            row.state = outcome.state
            row.last_checked_at = now
            row.last_delivery_at = last_delivery or row.last_delivery_at
            if outcome.remote is not None:
                row.remote_id = outcome.remote.remote_id
                row.url = outcome.remote.url
                row.expires_at = outcome.remote.expires_at
            elif outcome.state is not SubscriptionState.MANUAL:
                row.url = url
            if outcome.action:
                row.last_action, row.last_action_at = outcome.action, now
            if outcome.lapsed and row.heal_due_at is None:
                row.heal_due_at = now
            if outcome.state is SubscriptionState.ACTIVE and outcome.error is None:
                if sent_current:
                    row.secret_due_at = None
            row.last_error = outcome.error


def _last_delivery(
    session: Session, owner: Owner, before: datetime | None = None
) -> datetime | None:
    """The latest request logged for the owner (before `before`, if given): platforms
    do not all say which of an owner's subscriptions a delivery came from, so this is
    per owner. Left out: the rows the change feed and heals log for a source (ours, not
    the platform's), refused requests and the unsigned handshakes and pings (anyone can
    send those: counted, they would keep a silent subscription looking alive)."""
    column = WebhookLog.site_id if owner.kind == "site" else WebhookLog.source_id
    query = select(func.max(WebhookLog.received_at)).where(
        column == owner.id,
        WebhookLog.provider == owner.platform,
        WebhookLog.kind.is_distinct_from(EventKind.ERP_STOCK_MOVED),
        WebhookLog.status != WebhookStatus.REJECTED,
        WebhookLog.topic.is_distinct_from(HANDSHAKE_TOPIC),
        WebhookLog.topic.is_distinct_from(PING_TOPIC),
    )
    if before is not None:
        query = query.where(WebhookLog.received_at < before)
    stamp: datetime | None = session.scalar(query)
    return stamp


def reconcile(ctx: Context, kind: str, owner_id: int) -> str | None:
    """Catch up on what the owner's lapsed subscriptions missed (rows with
    `heal_due_at`) through `sync.healing`: a site's full run, or the items its ERP
    changed since the last notice before the lapse was found. The rows say how, and
    are no longer due; the note, or None with nothing due. A heal that cannot start
    raises and stays due for the next pass."""
    with ctx.sessions() as session:
        due = session.scalars(
            select(Subscription).where(
                _owner_column(kind) == owner_id, Subscription.heal_due_at.is_not(None)
            )
        ).all()
        if not due:
            return None
        found = min(row.heal_due_at for row in due if row.heal_due_at is not None)
        if kind == "source":
            since = _last_delivery(session, _owner(ctx, kind, owner_id), before=found)
    if kind == "site":
        note = healing.heal_sites(ctx, [owner_id])
    else:
        note = healing.heal_source(ctx, owner_id, since)
    read = {row.id: row.heal_due_at for row in due}
    with transaction(ctx.sessions) as session:
        for row in session.scalars(select(Subscription).where(Subscription.id.in_(list(read)))):
            if row.heal_due_at == read[row.id]:  # else healed and found lapsed again
                row.last_action = f"{row.last_action}; {note}"
                row.heal_due_at = None
    log.warning(
        "subscriptions.healed",
        extra={"owner": f"{kind}:{owner_id}", "lapsed": [r.topic for r in due], "note": note},
    )
    return note


@contextmanager
def removing(ctx: Context, kind: str, owner_id: int) -> Iterator[None]:
    """Delete an owner's subscriptions from its platform, then hold its keeper lock
    while the caller deletes the owner: a keeper pass in between would register them
    again, or record rows for an owner that is gone.

    Best effort: a platform that cannot be reached keeps hooks pointing at a URL that
    then answers 404, which every platform gives up on by itself.
    """
    with _owner_lock(ctx, kind, owner_id):
        _unregister(ctx, kind, owner_id)
        yield


def _unregister(ctx: Context, kind: str, owner_id: int) -> None:
    owner = _owner(ctx, kind, owner_id)
    rows = [r for r in _rows(ctx, owner).values() if r.remote_id is not None]
    if not rows:
        return
    connection = connection_of(ctx, owner.platform, owner.base_url, owner.credentials)
    for row in rows:
        remote = RemoteSubscription(row.remote_id or "", row.topic, row.url, True, row.expires_at)
        try:
            connection.delete_subscription(remote)
        except ConnectorError as error:
            log.warning(
                "subscriptions.unregister_failed",
                extra={"owner": f"{kind}:{owner_id}", "topic": row.topic, "error": str(error)},
            )


def manual_steps(ctx: Context, kind: str, owner_id: int) -> list[str]:
    """What a person does where the platform has no subscriptions API (Zoho); empty
    elsewhere. Carries the owner's secret: shown once, when the owner is added."""
    public_url = ctx.settings.public_url
    if public_url is None:
        return []
    owner = _ensure_secret(ctx, _owner(ctx, kind, owner_id))
    connection = connection_of(ctx, owner.platform, owner.base_url, owner.credentials)
    if connection.topics:
        return []
    spec = SubscriptionSpec(
        MANUAL_TOPIC,
        receiver_url(public_url, owner.platform, owner.id),
        subscription_secret(owner.platform, owner.secret),
    )
    return connection.manual_steps(spec)


def keep_all(
    ctx: Context,
    budget_seconds: float = PASS_SECONDS,
    monotonic: Callable[[], float] = time.monotonic,
) -> dict[str, int]:
    """The beat task's pass over every active site and every source, the longest
    unchecked first, until `budget_seconds` have gone: owners left (`deferred`) go
    first next time, so a few platforms that hang until their timeouts cannot starve
    the owners after them pass after pass."""
    owners = _by_oldest_check(ctx)
    stop = monotonic() + budget_seconds
    failed = kept = 0
    for kind, owner_id in owners:
        if monotonic() >= stop:
            break
        kept += 1
        try:
            keep(ctx, kind, owner_id)
        except (ServiceError, ConnectorError) as error:
            failed += 1
            log.warning(
                "subscriptions.keep_failed",
                extra={"owner": f"{kind}:{owner_id}", "error": str(error)},
            )
        except Exception as error:  # a bug for one owner must not starve the rest
            failed += 1
            log.error(
                "subscriptions.keep_crashed",
                extra={"owner": f"{kind}:{owner_id}", "error": type(error).__name__},
            )
    sites = sum(1 for kind, _ in owners if kind == "site")
    return {
        "sites": sites,
        "sources": len(owners) - sites,
        "failed": failed,
        "deferred": len(owners) - kept,
    }


def _by_oldest_check(ctx: Context) -> list[tuple[str, int]]:
    """Every source and active site, those never checked first, then by their rows'
    oldest check (sources before sites on a tie: their heals feed every site)."""
    with ctx.sessions() as session:
        sources = session.scalars(select(Source.id).order_by(Source.id)).all()
        sites = session.scalars(
            select(Site.id).where(Site.active.is_(True)).order_by(Site.id)
        ).all()
        checked: dict[tuple[str, int], datetime] = {}
        for site_id, source_id, at in session.execute(
            select(
                Subscription.site_id,
                Subscription.source_id,
                func.min(Subscription.last_checked_at),
            ).group_by(Subscription.site_id, Subscription.source_id)
        ):
            owner = ("site", site_id) if site_id is not None else ("source", source_id)
            if at is not None and owner[1] is not None:
                checked[(owner[0], owner[1])] = at
    owners = [("source", i) for i in sources] + [("site", i) for i in sites]
    never = datetime.min.replace(tzinfo=UTC)
    return sorted(owners, key=lambda owner: checked.get(owner, never))


def describe(ctx: Context, kind: str, owner_id: int) -> list[dict[str, Any]]:
    """An owner's subscriptions as the API, CLI and dashboard show them (no secret)."""
    with ctx.sessions() as session:
        _row(session, kind, owner_id)  # NotFound for no such owner
        return describe_rows(session, kind, owner_id)


def describe_rows(session: Session, kind: str, owner_id: int) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(Subscription).where(_owner_column(kind) == owner_id).order_by(Subscription.topic)
    ).all()
    return [
        {
            "owner": kind,
            "topic": row.topic,
            "state": row.state.value,
            "url": row.url,
            "remote_id": row.remote_id,
            "expires_at": _iso(row.expires_at),
            "last_delivery_at": _iso(row.last_delivery_at),
            "last_checked_at": _iso(row.last_checked_at),
            "last_action": row.last_action,
            "last_action_at": _iso(row.last_action_at),
            "last_error": row.last_error,
        }
        for row in rows
    ]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
