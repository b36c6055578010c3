"""sites' stock policy, per-SKU rules, and the ERP reading behind each pushed number

Issue 20, first slice: what a store may sell is the ERP's reading less a buffer (units
or percent), shown as 0 below a floor, with per-SKU overrides and opt-outs
(sync/sellable.py). `items.erp_quantity` is the reading the last pushed number came
from, so every number written can be explained and recomputed from the policy.
Runs and batches count the readings of opted-out SKUs apart (`opted_out`): they are
neither written nor failed.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 14:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "sites", sa.Column("stock_buffer", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column(
        "sites",
        sa.Column(
            "stock_buffer_unit", sa.String(length=10), server_default="units", nullable=False
        ),
    )
    op.add_column(
        "sites", sa.Column("stock_floor", sa.Integer(), server_default="0", nullable=False)
    )
    op.create_check_constraint("stock_buffer", "sites", "stock_buffer >= 0")
    op.create_check_constraint(
        "stock_buffer_unit",
        "sites",
        "stock_buffer_unit = 'units' "
            "OR (stock_buffer_unit = 'percent' AND stock_buffer <= 100)",
    )
    op.create_check_constraint("stock_floor", "sites", "stock_floor >= 0")
    op.create_table(
        "sku_rules",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("site_id", sa.BigInteger(), nullable=False),
        sa.Column("sku", sa.String(length=20), nullable=False),
        sa.Column("rule", sa.String(length=10), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "(rule = 'override' AND quantity >= 0) OR (rule = 'opt_out' AND quantity IS NULL)",
            name=op.f("ck_sku_rules_rule"),
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_sku_rules_site_id_sites"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sku_rules")),
        sa.UniqueConstraint("site_id", "sku", name=op.f("uq_sku_rules_site_id_sku")),
    )
    op.add_column("items", sa.Column("erp_quantity", sa.Integer(), nullable=True))
    for table in ("sync_runs", "sync_batches"):
        op.add_column(
            table, sa.Column("opted_out", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    for table in ("sync_batches", "sync_runs"):
        op.drop_column(table, "opted_out")
    op.drop_column("items", "erp_quantity")
    op.drop_table("sku_rules")
    op.drop_constraint(op.f("ck_sites_stock_floor"), "sites", type_="check")
    op.drop_constraint(op.f("ck_sites_stock_buffer_unit"), "sites", type_="check")
    op.drop_constraint(op.f("ck_sites_stock_buffer"), "sites", type_="check")
    op.drop_column("sites", "stock_floor")
    op.drop_column("sites", "stock_buffer_unit")
    op.drop_column("sites", "stock_buffer")
