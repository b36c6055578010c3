"""Sources (ERP connections): add, describe, list, update, delete.

A source has no `active` flag of its own (its sites have): "deactivating" one means
deactivating its sites; deleting is refused while sites still use it, since a site
without its ERP cannot sync. Its real-time switch (`toggle_webhooks`) pauses its ERP's
webhooks alone. Credentials and secrets are write-only, as for sites.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Site, Source, SourceKind
from sync.accounts import (
    apply_changes,
    check_base_url,
    check_credentials,
    get,
    one_of,
    owner_id,
    saving,
    switch_webhooks,
)
from sync.change_feed import RESTART
from sync.context import Context
from sync.errors import Conflict, Invalid
from sync.subscriptions import (
    after_secret_change,
    check_connection,
    on_add,
    removing,
    secret_changed,
)

#: Plain columns an update may set as given; the budget's NULL is the ERP's default.
BUDGET_FIELDS = (
    "rate_limit_requests",
    "rate_limit_window_seconds",
    "rate_limit_concurrency",
    "rate_limit_daily",
)
SOURCE_FIELDS = ("name", "base_url", *BUDGET_FIELDS)


def describe_source(session: Session, source: Source) -> dict[str, Any]:
    """What may be shown of a source (never credentials or secrets) and its sites."""
    site_ids = session.scalars(select(Site.id).where(Site.source_id == source.id).order_by(Site.id))
    return {
        "id": source.id,
        "name": source.name,
        "kind": source.kind.value,
        "base_url": source.base_url,
        "has_webhook_secret": source.webhook_secret_sealed is not None,
        "webhooks_active": source.webhooks_active,
        "site_ids": list(site_ids),
        **{field: getattr(source, field) for field in BUDGET_FIELDS},
    }


def source_id(ctx: Context, ref: str | int) -> int:
    """The id of the source named or numbered `ref`; `NotFound` if none."""
    return owner_id(ctx, Source, ref)


def get_source(session: Session, source_id: int) -> Source:
    return get(session, Source, source_id)


def show_source(ctx: Context, source_id: int) -> dict[str, Any]:
    with ctx.sessions() as session:
        return describe_source(session, get_source(session, source_id))


def list_sources(ctx: Context, limit: int | None = None, offset: int = 0) -> list[dict[str, Any]]:
    with ctx.sessions() as session:
        rows = session.scalars(select(Source).order_by(Source.id).limit(limit).offset(offset))
        return [describe_source(session, source) for source in rows]


def add_source(
    ctx: Context,
    *,
    name: str,
    kind: str,
    base_url: str,
    credentials: Mapping[str, Any],
    webhook_secret: str | Mapping[str, str] | None = None,
    check: bool = True,
) -> dict[str, Any]:
    """Register an ERP; its address and credentials are checked first
    (sync/accounts.py), and with `check` the ERP is called with them, so a missing key
    or a refused secret is found now, not at its first read. Once saved, our webhooks
    are registered on it if PUBLIC_URL is set (sync/subscriptions.py `on_add`)."""
    source_kind = one_of(kind, SourceKind, "kind")
    base_url = check_base_url(base_url, source_kind.value)
    check_credentials(source_kind.value, credentials)
    if check:
        check_connection(ctx, source_kind.value, base_url, credentials)
    with saving(ctx) as session:
        if session.scalars(select(Source).where(Source.name == name)).first():
            raise Invalid(f"a source named {name!r} exists")
        source = Source(
            name=name,
            kind=source_kind,
            base_url=base_url,
            credentials_sealed=ctx.vault.seal(credentials),
            webhook_secret_sealed=ctx.vault.seal(webhook_secret) if webhook_secret else None,
        )
        session.add(source)
        session.flush()
        described = describe_source(session, source)
    return described | on_add(ctx, "source", described["id"])


def update_source(ctx: Context, source_id: int, changes: Mapping[str, Any]) -> dict[str, Any]:
    """Change a source's name, address, credentials or secret (see `update_site`):
    new credentials replace the old whole, so they must hold every key of its kind."""
    with saving(ctx) as session:
        source = get_source(session, source_id)
        if "base_url" in changes:
            changes = {
                **changes,
                "base_url": check_base_url(changes["base_url"], source.kind.value),
            }
        if "credentials" in changes:
            check_credentials(source.kind.value, changes["credentials"])
        generated = apply_changes(session, ctx.vault, source, changes, SOURCE_FIELDS)
        if "webhook_secret" in changes or changes.get("rotate_webhook_secret"):
            secret_changed(session, "source", source_id)
        # Another address or account may be another ERP (a BC company, a Zoho
        # organisation): its feed position means nothing there.
        moved = source.feed_cursor is not None and bool({"base_url", "credentials"} & set(changes))
        if moved:
            source.feed_cursor = RESTART
        session.flush()
        described = describe_source(session, source)
    if generated:
        described["webhook_secret"] = generated
    if moved:
        described["feed"] = (
            "the change feed starts again at its next read, from the ERP's newest entry, "
            "with full runs of the source's real-time sites"
        )
    if "webhook_secret" in changes or changes.get("rotate_webhook_secret"):
        described |= after_secret_change(ctx, "source", source_id)
    return described


def _refuse_used(session: Session, source: Source) -> None:
    names = list(
        session.scalars(select(Site.name).where(Site.source_id == source.id).order_by(Site.id))
    )
    if names:
        raise Conflict(
            f"source {source.name} still feeds sites {', '.join(names)}: "
            "remove them or move them to another source first"
        )


def delete_source(ctx: Context, source_id: int) -> dict[str, Any]:
    """Delete a source no site uses; `Conflict` naming the sites while some still do.
    Our webhooks leave its ERP first (sync/subscriptions.py `removing`), then its
    subscription rows go with it (ON DELETE CASCADE); its webhook log stays. Answers
    what it was; its name can be used again at once."""
    with ctx.sessions() as session:
        _refuse_used(session, get_source(session, source_id))
    with removing(ctx, "source", source_id), saving(ctx) as session:
        source = get_source(session, source_id)
        _refuse_used(session, source)
        described = describe_source(session, source)
        session.delete(source)
    return described


def toggle_webhooks(ctx: Context, source_id: int, active: bool | None) -> dict[str, Any]:
    """Set (or, with None, flip) the source's real-time switch: off, its ERP's webhooks
    are logged `ignored`; full syncs of its sites go on."""
    source = switch_webhooks(ctx, Source, source_id, active)
    return {"source_id": source.id, "webhooks_active": source.webhooks_active}
