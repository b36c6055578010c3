"""ERP connections (`sources`) and the storefronts they feed (`sites`)."""

from __future__ import annotations

import enum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import (
    Base,
    bigint_pk,
    bool_true,
    created_at,
    enum_column,
    timestamp,
    updated_at,
)


class SourceKind(enum.StrEnum):
    BUSINESSCENTRAL = "businesscentral"
    ZOHO = "zoho"


class Platform(enum.StrEnum):
    WOOCOMMERCE = "woocommerce"
    BIGCOMMERCE = "bigcommerce"
    SHOPIFY = "shopify"


def _rate_limit_checks() -> tuple[CheckConstraint, ...]:
    """A site's or source's own budget (sync/limits.py): each setting positive or NULL."""
    return tuple(
        CheckConstraint(f"{column} IS NULL OR {column} > 0", name=name)
        for column, name in (
            ("rate_limit_requests", "rate_limit_requests"),
            ("rate_limit_window_seconds", "rate_limit_window"),
            ("rate_limit_concurrency", "rate_limit_concurrency"),
            ("rate_limit_daily", "rate_limit_daily"),
        )
    )


class Source(Base):
    """An ERP connection: the truth for stock."""

    __tablename__ = "sources"
    __table_args__ = _rate_limit_checks()

    id: Mapped[bigint_pk]
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[SourceKind] = enum_column(SourceKind)
    base_url: Mapped[str] = mapped_column(String(500))
    #: Fernet token of the credentials mapping (models/crypto.py).
    credentials_sealed: Mapped[str] = mapped_column(Text)
    #: Fernet token of the secret its webhooks carry (Zoho token, BC clientState).
    webhook_secret_sealed: Mapped[str | None] = mapped_column(Text)
    #: The source's real-time switch: off, its ERP's webhooks are logged `ignored`.
    webhooks_active: Mapped[bool_true]
    #: Where its ERP's stock-movement feed was last read (sync/change_feed.py); opaque,
    #: the connector's. NULL: not watching yet.
    feed_cursor: Mapped[str | None] = mapped_column(String(200))
    #: The ERP's request budget shared by all workers (sync/limits.py); NULL means the
    #: ERP's default. `rate_limit_daily`: requests per 24 h (Zoho's plan cap).
    rate_limit_requests: Mapped[int | None]
    rate_limit_window_seconds: Mapped[int | None]
    rate_limit_concurrency: Mapped[int | None]
    rate_limit_daily: Mapped[int | None]
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]

    sites: Mapped[list[Site]] = relationship(back_populates="source")


class Site(Base):
    """A storefront whose stock follows its source."""

    __tablename__ = "sites"
    __table_args__ = (
        CheckConstraint("full_sync_hour BETWEEN 0 AND 23", name="full_sync_hour"),
        *_rate_limit_checks()[:3],
        CheckConstraint("stock_buffer >= 0", name="stock_buffer"),
        CheckConstraint(
            "stock_buffer_unit = 'units' "
            "OR (stock_buffer_unit = 'percent' AND stock_buffer <= 100)",
            name="stock_buffer_unit",
        ),
        CheckConstraint("stock_floor >= 0", name="stock_floor"),
        CheckConstraint("stock_basis IN ('on_hand', 'available_for_sale')", name="stock_basis"),
        # A plugin's key names its site: one indexed lookup authenticates and identifies.
        Index("uq_sites_api_key_hash", "api_key_hash", unique=True),
    )

    id: Mapped[bigint_pk]
    name: Mapped[str] = mapped_column(String(100), unique=True)
    platform: Mapped[Platform] = enum_column(Platform)
    base_url: Mapped[str] = mapped_column(String(500))
    credentials_sealed: Mapped[str] = mapped_column(Text)
    webhook_secret_sealed: Mapped[str | None] = mapped_column(Text)
    #: SHA-256 of the per-site API key a store plugin sends to the unified endpoint.
    api_key_hash: Mapped[str | None] = mapped_column(String(64))
    source_id: Mapped[int] = mapped_column(
        ForeignKey("sources.id", ondelete="RESTRICT"), index=True
    )
    #: IANA zone name, validated on write; the 2 AM run is 2 AM here.
    timezone: Mapped[str] = mapped_column(String(64), server_default="UTC")
    full_sync_hour: Mapped[int] = mapped_column(Integer, server_default="2")
    active: Mapped[bool_true]
    #: When a connection test with its credentials first passed (at `sites add`, or
    #: `sites test` later): the moment of its `MERCHANT_CONNECTED` event.
    connected_at: Mapped[timestamp]
    #: The site's real-time switch: off, nothing real-time writes its store (its own
    #: webhooks are logged `ignored`, its source's changes skip it); the full sync
    #: still follows `active` and the schedule (docs/architecture.md).
    webhooks_active: Mapped[bool_true]
    #: Added with `--no-initial-sync`: its nightly run is a preview (sync/preview.py),
    #: writing nothing, until a live run of it completes (sync/runs.py `close_run`).
    awaiting_first_sync: Mapped[bool] = mapped_column(Boolean, server_default=false())
    #: Store write quota shared by all workers; NULL means the platform's default.
    rate_limit_requests: Mapped[int | None]
    rate_limit_window_seconds: Mapped[int | None]
    rate_limit_concurrency: Mapped[int | None]
    #: The stock policy (sync/sellable.py): what the store may sell is the ERP's reading
    #: less the buffer (`units`, or `percent` of the reading), shown as 0 below the floor.
    stock_buffer: Mapped[int] = mapped_column(Integer, server_default="0")
    stock_buffer_unit: Mapped[str] = mapped_column(String(10), server_default="units")
    stock_floor: Mapped[int] = mapped_column(Integer, server_default="0")
    #: Which ERP figure the policy starts from: `on_hand`, or `available_for_sale` (on
    #: hand less what the ERP committed to its own sales orders), if the ERP has it.
    stock_basis: Mapped[str] = mapped_column(String(20), server_default="on_hand")
    #: The ERP locations (ids, strings) whose figures the basis sums: the warehouses
    #: that serve this store. NULL: all of them, the item-level figure.
    erp_location_ids: Mapped[list[str] | None] = mapped_column(JSONB)
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]

    source: Mapped[Source] = relationship(back_populates="sites")

    def __repr__(self) -> str:
        return f"<Site {self.id} {self.name!r} {self.platform}>"


class SkuRule(Base):
    """A per-SKU exception to the site's stock policy: `override` writes `quantity` as
    given; `opt_out` means the SKU is never written to the store (sync/sellable.py)."""

    __tablename__ = "sku_rules"
    __table_args__ = (
        UniqueConstraint("site_id", "sku"),
        CheckConstraint(
            "(rule = 'override' AND quantity >= 0) OR (rule = 'opt_out' AND quantity IS NULL)",
            name="rule",
        ),
    )

    id: Mapped[bigint_pk]
    site_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("sites.id", ondelete="CASCADE"), nullable=False
    )
    #: Normalised (models/skus.py), as `items.sku` is.
    sku: Mapped[str] = mapped_column(String(20))
    rule: Mapped[str] = mapped_column(String(10))
    quantity: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]
