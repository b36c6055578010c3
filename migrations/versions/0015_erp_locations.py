"""sites' ERP locations: the warehouses whose stock a store sells

Issue 20: a site sells the basis figure summed over the ERP locations mapped to it
(sync/sellable.py), a JSON array of the ERP's location ids; NULL, what every site had
before, is every location: the item-level figure. Only ERPs whose API reports stock per
location allow a mapping (sync/stock_policy.py).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("sites", sa.Column("erp_location_ids", JSONB(), nullable=True))


def downgrade() -> None:
    op.drop_column("sites", "erp_location_ids")
