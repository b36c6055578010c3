"""What store plugins push to the unified endpoint: orders, customers, categories and
products (beside the catalog mirror, `items`, which holds what stock sync needs).

Each row belongs to one site and is keyed by the store's own id (`external_id`), unique
per site, so two stores using the same ids never collide and a replayed delivery is an
upsert, not a duplicate. `source_updated_at` is the store's own modification time: an
older delivery never overwrites a newer one (plugins retry and reorder).

Customers' e-mail addresses are never stored: only `email_hash`, a keyed HMAC, which
lets us match a customer by address without keeping it (see `hash_email`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import datetime
from decimal import Decimal
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
    and_,
    func,
    or_,
    tuple_,
)
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base, bigint_pk, created_at, updated_at
from models.json_strings import map_strings

#: Money as the store sends it; 4 places covers every ISO 4217 minor unit and unit prices.
MONEY = Numeric(18, 4)
#: The store's own ids: WooCommerce/BigCommerce integers, Shopify GIDs, all kept as text.
EXTERNAL_ID = String(100)


def _site_id() -> Mapped[int]:
    return mapped_column(BigInteger, ForeignKey("sites.id", ondelete="CASCADE"), nullable=False)


class Order(Base):
    """A store order as last reported by the site's plugin."""

    __tablename__ = "orders"
    __table_args__ = (UniqueConstraint("site_id", "external_id"),)

    id: Mapped[bigint_pk]
    site_id: Mapped[int] = _site_id()
    external_id: Mapped[str] = mapped_column(EXTERNAL_ID)
    number: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(40))
    currency: Mapped[str | None] = mapped_column(String(10))
    total: Mapped[Decimal] = mapped_column(MONEY)
    customer_external_id: Mapped[str | None] = mapped_column(EXTERNAL_ID)
    source_created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    source_updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: The plugin's record, minus every e-mail address (see `strip_emails`).
    raw: Mapped[Any] = mapped_column(JSONB)
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]


class OrderLine(Base):
    """A line of an order. An order's lines are replaced as a whole when it changes.

    `site_id` repeats the order's so that every query, deletes included, names the site.
    """

    __tablename__ = "order_lines"
    __table_args__ = (
        UniqueConstraint("order_id", "external_id"),
        Index("ix_order_lines_site_sku", "site_id", "sku"),
    )

    id: Mapped[bigint_pk]
    site_id: Mapped[int] = _site_id()
    order_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False
    )
    external_id: Mapped[str] = mapped_column(EXTERNAL_ID)
    #: Normalised like `items.sku`, so lines join to the catalog; NULL when unusable
    #: (the plugin's original stays in the order's `raw`).
    sku: Mapped[str | None] = mapped_column(String(20))
    quantity: Mapped[int] = mapped_column(Integer)
    #: The unit price where the plugin sends one; `total` the line's total after discounts.
    price: Mapped[Decimal | None] = mapped_column(MONEY)
    total: Mapped[Decimal | None] = mapped_column(MONEY)


class Customer(Base):
    """A store customer, identified by a keyed hash of the e-mail, never the address."""

    __tablename__ = "customers"
    __table_args__ = (
        UniqueConstraint("site_id", "external_id"),
        Index("ix_customers_site_email_hash", "site_id", "email_hash"),
    )

    id: Mapped[bigint_pk]
    site_id: Mapped[int] = _site_id()
    external_id: Mapped[str] = mapped_column(EXTERNAL_ID)
    email_hash: Mapped[str] = mapped_column(String(64))
    first_name: Mapped[str | None] = mapped_column(String(200))
    last_name: Mapped[str | None] = mapped_column(String(200))
    source_updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    raw: Mapped[Any] = mapped_column(JSONB)
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]


class Category(Base):
    """A store product category; the tree is kept by the parent's external id."""

    __tablename__ = "categories"
    __table_args__ = (UniqueConstraint("site_id", "external_id"),)

    id: Mapped[bigint_pk]
    site_id: Mapped[int] = _site_id()
    external_id: Mapped[str] = mapped_column(EXTERNAL_ID)
    name: Mapped[str] = mapped_column(String(200))
    parent_external_id: Mapped[str | None] = mapped_column(EXTERNAL_ID)
    slug: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]


class Product(Base):
    """A store product or variation as the plugin describes it: name, prices, status,
    category. Its stock side (SKU, ids, tracked or not) is the catalog mirror's (`items`),
    which this table does not replace; `sku` here is as the store sent it."""

    __tablename__ = "products"
    __table_args__ = (UniqueConstraint("site_id", "external_id"),)

    id: Mapped[bigint_pk]
    site_id: Mapped[int] = _site_id()
    external_id: Mapped[str] = mapped_column(EXTERNAL_ID)
    parent_external_id: Mapped[str | None] = mapped_column(EXTERNAL_ID)
    sku: Mapped[str | None] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(500))
    type: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str | None] = mapped_column(String(40))
    price: Mapped[Decimal | None] = mapped_column(MONEY)
    regular_price: Mapped[Decimal | None] = mapped_column(MONEY)
    sale_price: Mapped[Decimal | None] = mapped_column(MONEY)
    stock_status: Mapped[str | None] = mapped_column(String(40))
    category_external_id: Mapped[str | None] = mapped_column(EXTERNAL_ID)
    source_created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    source_updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    raw: Mapped[Any] = mapped_column(JSONB)
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]


_EMAIL_HASH_INFO = b"stocksync/customers.email_hash/v1"


def email_hash_key(encryption_key: str) -> bytes:
    """Derive the e-mail hashing key from the newest Fernet key (STOCKSYNC_ENCRYPTION_KEY).

    HKDF with its own label, so the hash key is independent of the encryption key in use
    (neither reveals the other). Keyed, because a plain hash of an e-mail address is
    reversed by hashing a list of addresses. Caveat: rotating the first encryption key
    changes this key; rows keep their old hash until the plugin pushes them again.
    """
    secret = base64.urlsafe_b64decode(encryption_key)
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_EMAIL_HASH_INFO)
    return hkdf.derive(secret)


def hash_email(key: bytes, email: str) -> str:
    """HMAC-SHA256 of the trimmed, lower-cased address, hex: the same person, the same hash.

    Lower-casing the local part is technically lossy (RFC 5321), but no store treats
    `Ann@x.com` and `ann@x.com` as two customers, and matching is what the hash is for.
    """
    canonical = email.strip().lower().encode("utf-8")
    return hmac.new(key, canonical, hashlib.sha256).hexdigest()


#: What replaces an e-mail address found in a record's text.
EMAIL_MASK = "[email]"
#: Anything shaped like an address: a run of characters that cannot end an address
#: on either side of `@` (or its URL encoding, `%40`). Broad on purpose: a false match
#: costs a few characters of a stored copy, a miss stores someone's address.
_ADDRESS = re.compile(r"[^\s@<>()\[\]{},;:\"'/\\]+(?:@|%40)[^\s@<>()\[\]{},;:\"'/\\]+", re.I)


def strip_emails(value: Any) -> Any:
    """A copy of a JSON value without any key naming an e-mail and with every address
    in any other string (values and keys, at any depth) replaced by EMAIL_MASK.

    Plugins send whole records, and addresses must not reach the database in clear, not
    even inside `raw`: not only under `email` keys (an order's `billing.email`) but under
    any name (`username`, `E-Mail`, a `billing_email` meta entry) and in free text (a
    `customer_note`).
    """
    return map_strings(
        value,
        lambda text: _ADDRESS.sub(EMAIL_MASK, text),
        drop_key=lambda key: "email" in key.lower(),
    )


def upsert_changed(
    session: Session, model: type[Base], rows: list[dict[str, Any]], key: str, *, versioned: bool
) -> dict[str, int]:
    """Insert or update one site's `rows` (all with the same columns, at most one per
    key); return `{key: id}` of the rows inserted or changed, not of rows left as they
    were.

    Only differing rows are written (`WHERE (cols) IS DISTINCT FROM (excluded cols)`),
    so a replayed delivery costs no write and counts as unchanged. With `versioned`, a
    row whose `source_updated_at` is older than the stored one is left alone too, and
    a row without one keeps the stored time. Unchanged rows are still locked by ON
    CONFLICT until commit, which serialises two requests touching the same record.
    """
    table = model.__table__
    stmt = insert(model)
    new = stmt.excluded
    columns = [c for c in rows[0] if c not in ("site_id", key, "source_updated_at")]
    changed = tuple_(*(table.c[c] for c in columns)).is_distinct_from(
        tuple_(*(new[c] for c in columns))
    )
    values: dict[str, Any] = {c: new[c] for c in columns}
    values["updated_at"] = func.now()  # Column.onupdate does not apply to ON CONFLICT
    if versioned:
        mine, theirs = table.c.source_updated_at, new.source_updated_at
        changed = and_(changed, or_(mine.is_(None), theirs.is_(None), theirs >= mine))
        values["source_updated_at"] = func.coalesce(theirs, mine)
    upsert = stmt.on_conflict_do_update(
        index_elements=["site_id", key], set_=values, where=changed
    ).returning(table.c.id, table.c[key])
    return {row[1]: row[0] for row in session.execute(upsert, rows)}
