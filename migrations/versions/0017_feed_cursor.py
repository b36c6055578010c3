"""sources.feed_cursor: where each ERP's stock-movement feed was last read

Issue 21, item 4: stock movements that fire no webhook (Business Central ledger
postings, Zoho documents) are polled from a change feed (sync/change_feed.py); the
cursor is the connector's own, opaque here. NULL: the feed is not watched yet; the
first poll takes the ERP's current position.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 21:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("sources", sa.Column("feed_cursor", sa.String(200), nullable=True))


def downgrade() -> None:
    op.drop_column("sources", "feed_cursor")
