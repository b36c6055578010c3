"""The webhook subscriptions stocksync registers on each platform, and what became of them.

One row per (owner, topic): a site's store topics, or a source's ERP resources. The
platforms give up on subscriptions (WooCommerce disables one after repeated failed
deliveries, BigCommerce deactivates one 48 h after its first failure, Shopify deletes one
after 8 failures in a row, Business Central lets one expire after 3 days: docs/
platforms.md, cross-cutting notes), so the row says what the platform last showed
(`state`, `expires_at`), when we last looked (`last_checked_at`) and heard from it
(`last_delivery_at`), and what the keeper last did about it (`last_action`, sync/
subscriptions.py). The secret a subscription carries is its owner's sealed webhook
secret; no secret is stored here.
"""

from __future__ import annotations

import enum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, bigint_pk, created_at, enum_column, timestamp, updated_at


class SubscriptionState(enum.StrEnum):
    #: The platform lists it, active, pointing at our URL.
    ACTIVE = "active"
    #: The platform lists it but stopped delivering (WooCommerce `disabled`, BigCommerce
    #: `is_active=false`): the keeper re-activates it.
    DISABLED = "disabled"
    #: Not on the platform (deleted by it, expired, or not made yet): the keeper makes it.
    MISSING = "missing"
    #: The platform has no API for subscriptions (Zoho Inventory): a person made it by
    #: the steps we printed; we can only watch its deliveries.
    MANUAL = "manual"
    #: The last attempt to make or mend it failed (`last_error` says why).
    FAILED = "failed"


class Subscription(Base):
    __tablename__ = "subscriptions"
    __table_args__ = (
        CheckConstraint("(site_id IS NULL) <> (source_id IS NULL)", name="one_owner"),
        Index("uq_subscriptions_site_topic", "site_id", "topic", unique=True),
        Index("uq_subscriptions_source_topic", "source_id", "topic", unique=True),
    )

    id: Mapped[bigint_pk]
    site_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("sites.id", ondelete="CASCADE")
    )
    source_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("sources.id", ondelete="CASCADE")
    )
    #: The platform's name (`woocommerce`, `businesscentral`...), as in `/webhooks/<it>/`.
    platform: Mapped[str] = mapped_column(String(32))
    #: The topic, scope or resource in the platform's own words.
    topic: Mapped[str] = mapped_column(String(200))
    #: The URL it delivers to: `{PUBLIC_URL}/webhooks/<platform>/<owner id>`.
    url: Mapped[str] = mapped_column(String(500))
    #: The platform's id for it; None until made, and for manual ones.
    remote_id: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[SubscriptionState] = enum_column(SubscriptionState)
    expires_at: Mapped[timestamp]
    last_delivery_at: Mapped[timestamp]
    last_checked_at: Mapped[timestamp]
    #: What the keeper last did, in words ("re-activated: the platform had disabled it").
    last_action: Mapped[str | None] = mapped_column(Text)
    last_action_at: Mapped[timestamp]
    last_error: Mapped[str | None] = mapped_column(Text)
    #: When the keeper found it lapsed, until the reconciliation of what it missed is
    #: under way: set in the commit that records the mend, so a keeper killed (or
    #: refused by the broker) before it starts heals at its next pass.
    heal_due_at: Mapped[timestamp]
    #: When the owner's webhook secret changed, until this subscription was given it:
    #: set in the commit that changes the secret, so a process killed before it reached
    #: the platform leaves the keeper's next pass to send it.
    secret_due_at: Mapped[timestamp]
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]
