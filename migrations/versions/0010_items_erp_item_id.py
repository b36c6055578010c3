"""items: the ERP's id of the item behind each row

A Business Central deletion notice names only the deleted item's GUID, and the item can
no longer be read, so the SKU it was must be remembered: the push path records the
ERP's item id with every reading it writes or confirms. The index serves that one
lookup, "which rows did this ERP item feed". Existing rows get the id at their next
push; until then a deletion notice finds no SKU, and the nightly run zeroes the item
(its rows have an `erp_read_at`, so the ERP had them).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 18:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("items", sa.Column("erp_item_id", sa.String(length=100), nullable=True))
    op.create_index("ix_items_erp_item_id", "items", ["erp_item_id"])


def downgrade() -> None:
    op.drop_index("ix_items_erp_item_id", table_name="items")
    op.drop_column("items", "erp_item_id")
