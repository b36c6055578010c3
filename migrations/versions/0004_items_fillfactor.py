"""items: fillfactor 50, so a sync's row updates stay on their page (HOT)

A full sync updates every row of a site's `items` (the quantity and `erp_read_at` it
confirmed or wrote). With pages packed full, 97 % of those updates had to move the
row to another page and add an entry to each of the table's three indexes (measured
on bench/fullsync.py, 100,000 SKUs); with free room on the page PostgreSQL updates
in place (a heap-only tuple) and the indexes are left alone.

Applies to pages written from now on; `VACUUM FULL items` repacks an existing table.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 17:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE items SET (fillfactor = 50)")


def downgrade() -> None:
    op.execute("ALTER TABLE items RESET (fillfactor)")
