"""reservations: units sold on a store and not yet absorbed by the ERP

Issue 20, third slice: store orders become reservations per (site, order, SKU), which
every store of the source subtracts from its sellable number until the ERP has absorbed
the order, the store cancels or refunds it, or it expires (models/reservations.py,
sync/reservations.py).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reservations",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("source_id", sa.BigInteger(), nullable=False),
        sa.Column("site_id", sa.BigInteger(), nullable=False),
        sa.Column("order_id", sa.String(length=100), nullable=False),
        sa.Column("order_number", sa.String(length=100), nullable=False),
        sa.Column("sku", sa.String(length=20), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("store_applied", sa.Boolean(), nullable=False),
        sa.Column("order_updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("committed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=10), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint("units >= 0", name=op.f("ck_reservations_units")),
        sa.CheckConstraint(
            "(ended_at IS NULL) = (end_reason IS NULL)", name=op.f("ck_reservations_ended")
        ),
        sa.CheckConstraint(
            "end_reason IN ('absorbed', 'cancelled', 'refunded', 'removed', 'expired')",
            name=op.f("ck_reservations_end_reason"),
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_reservations_site_id_sites"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_reservations_source_id_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reservations")),
        sa.UniqueConstraint(
            "site_id", "order_id", "sku", name=op.f("uq_reservations_site_id_order_id_sku")
        ),
    )
    op.create_index(
        "ix_reservations_open",
        "reservations",
        ["source_id", "sku"],
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    op.create_index(
        "ix_reservations_source_id_sku_ended_at",
        "reservations",
        ["source_id", "sku", "ended_at"],
    )


def downgrade() -> None:
    op.drop_table("reservations")
