"""The plugin endpoint's contract: a run's public UUID, stored products, line totals

- `sync_runs.log_id`: the UUID `POST /api/sync/webhook` answers as `syncLogId` (the
  contract shows a UUID, and a counter would tell a store how busy the others are).
  Filled for existing rows by the default: a volatile default rewrites the table under
  an exclusive lock, so on a large `sync_runs` run it in a quiet hour.
- `products`: what the plugin says of a product beyond its stock (name, prices, status,
  categories), kept beside the catalog mirror (`items`), whose rows stay narrow.
- `order_lines.total`, `order_lines.price` nullable: the plugin sends each line's
  total, not always a unit price.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07 16:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(18, 4)


def upgrade() -> None:
    op.add_column(
        "sync_runs",
        sa.Column(
            "log_id",
            postgresql.UUID(as_uuid=True),
            server_default=sa.text("gen_random_uuid()"),
            nullable=False,
        ),
    )
    op.create_unique_constraint("uq_sync_runs_log_id", "sync_runs", ["log_id"])
    op.alter_column("order_lines", "price", existing_type=MONEY, nullable=True)
    op.add_column("order_lines", sa.Column("total", MONEY))
    op.create_table(
        "products",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("site_id", sa.BigInteger(), nullable=False),
        sa.Column("external_id", sa.String(100), nullable=False),
        sa.Column("parent_external_id", sa.String(100)),
        sa.Column("sku", sa.String(200)),
        sa.Column("name", sa.String(500)),
        sa.Column("type", sa.String(40)),
        sa.Column("status", sa.String(40)),
        sa.Column("price", MONEY),
        sa.Column("regular_price", MONEY),
        sa.Column("sale_price", MONEY),
        sa.Column("stock_status", sa.String(40)),
        sa.Column("category_external_id", sa.String(100)),
        sa.Column("source_created_at", sa.DateTime(timezone=True)),
        sa.Column("source_updated_at", sa.DateTime(timezone=True)),
        sa.Column("raw", postgresql.JSONB()),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_products_site_id_sites"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
        sa.UniqueConstraint(
            "site_id", "external_id", name=op.f("uq_products_site_id_external_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("products")
    # Lines sent without a unit price (the WooCommerce plugin sends totals): the
    # total's share of each unit, or 0, as the older schema cannot hold none.
    op.execute(
        "UPDATE order_lines SET price = coalesce(round(total / nullif(quantity, 0), 4), 0) "
        "WHERE price IS NULL"
    )
    op.drop_column("order_lines", "total")
    op.alter_column("order_lines", "price", existing_type=MONEY, nullable=False)
    op.drop_constraint("uq_sync_runs_log_id", "sync_runs")
    op.drop_column("sync_runs", "log_id")
