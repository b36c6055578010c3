"""sync_batches.changes: what a preview run would write

Issue 21, item 6: a new site can be previewed (a run of kind `preview` that reads the
store and the ERP and writes nothing); each batch keeps the writes it would make,
SKU -> [what the store shows, what a sync would write].

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("sync_batches", sa.Column("changes", JSONB(), nullable=True))


def downgrade() -> None:
    op.drop_column("sync_batches", "changes")
