"""sync_runs.catalog_*: a catalog refresh resumes where it stopped

Issue 22, items 1 and 3: a refresh cut short (a worker killed, a task's time used up,
a transient error past its in-place retries) listed the store's catalog again from
page 1. Each chunk the refresh writes now commits, with it, where the listing resumes
and when it began; the start task's next attempt goes on from there. `catalog_listed_at`
is set with the end of the listing: an attempt after it (settling orders or cutting
batches failed) does not list again.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05 10:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("sync_runs", sa.Column("catalog_resume", sa.Text()))
    op.add_column("sync_runs", sa.Column("catalog_started_at", sa.DateTime(timezone=True)))
    op.add_column(
        "sync_runs",
        sa.Column("catalog_pages", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column("sync_runs", sa.Column("catalog_pages_of", sa.Integer()))
    op.add_column("sync_runs", sa.Column("catalog_listed_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    for column in ("catalog_listed_at", "catalog_pages_of", "catalog_pages", "catalog_started_at", "catalog_resume"):
        op.drop_column("sync_runs", column)
