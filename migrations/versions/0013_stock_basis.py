"""sites' stock basis: the ERP's on hand, or its available-for-sale

Issue 20, second slice: a site sells from the ERP's stock on hand (the default, what
every site did before) or from its available-for-sale figure, on hand less what the
ERP committed to its own sales orders (sync/sellable.py). Only ERPs whose API reports
that figure allow the second (sync/stock_policy.py).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "sites",
        sa.Column("stock_basis", sa.String(length=20), server_default="on_hand", nullable=False),
    )
    op.create_check_constraint(
        "stock_basis", "sites", "stock_basis IN ('on_hand', 'available_for_sale')"
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_sites_stock_basis"), "sites", type_="check")
    op.drop_column("sites", "stock_basis")
