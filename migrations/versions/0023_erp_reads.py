"""erp_reads, erp_readings, sync_runs.erp_read_id: each ERP read once per cycle

Issue 22, item 2: a full sync of several sites on one source read the ERP's items for
every site (and, on Zoho, the whole item list for every 500-SKU batch). A source's
runs now share one listing, read once by whichever run gets to it first, page by page
with its place saved; each run names the read its batches take their readings from.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    stamp = sa.DateTime(timezone=True)
    op.create_table(
        "erp_reads",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column(
            "source_id",
            sa.BigInteger(),
            sa.ForeignKey("sources.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "reading",
                "complete",
                "abandoned",
                name="erpreadstatus",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("started_at", stamp, server_default=sa.func.now(), nullable=False),
        sa.Column("settled_at", stamp, nullable=True),
        sa.Column("finished_at", stamp, nullable=True),
        sa.Column("resume", sa.Text(), nullable=True),
        sa.Column("pages", sa.Integer(), server_default="0", nullable=False),
        sa.Column("items", sa.Integer(), server_default="0", nullable=False),
        sa.Column("holder_run_id", sa.BigInteger(), nullable=True),
        sa.Column("token", sa.Integer(), server_default="0", nullable=False),
        sa.Column("lease_expires_at", stamp, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", stamp, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", stamp, server_default=sa.func.now(), nullable=False),
    )
    op.create_index(
        "uq_erp_reads_reading_per_source",
        "erp_reads",
        ["source_id"],
        unique=True,
        postgresql_where=sa.text("status = 'reading'"),
    )
    op.create_index("ix_erp_reads_source_started", "erp_reads", ["source_id", "started_at"])
    op.create_table(
        "erp_readings",
        sa.Column(
            "read_id",
            sa.BigInteger(),
            sa.ForeignKey("erp_reads.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("sku", sa.String(20), primary_key=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("available_for_sale", sa.Integer(), nullable=True),
        sa.Column("item_id", sa.String(100), nullable=False),
        sa.Column("read_at", stamp, nullable=False),
        sa.Column("locations", postgresql.JSONB(), nullable=True),
    )
    op.add_column(
        "sync_runs",
        sa.Column(
            "erp_read_id",
            sa.BigInteger(),
            sa.ForeignKey("erp_reads.id", ondelete="SET NULL"),
            nullable=True,
        ),
    )


def downgrade() -> None:
    op.drop_column("sync_runs", "erp_read_id")
    op.drop_table("erp_readings")
    op.drop_table("erp_reads")
