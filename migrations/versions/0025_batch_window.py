"""sync_batches.published_at: a run's batches queued a few at a time

Issue 22, item 4: a run published all its batches as they were cut, so runs started
together were served one after another. Now a run keeps `BATCHES_IN_FLIGHT` batches
published and publishes the next as one finishes (sync/runs.py `fill_window`).
`published_at` is NULL while a batch waits for its turn; the sweep of lost messages
(sync/recovery.py) looks only at published ones. Batches cut before this were all
published when cut.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06 02:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("sync_batches", sa.Column("published_at", sa.DateTime(timezone=True)))
    op.execute("UPDATE sync_batches SET published_at = created_at")


def downgrade() -> None:
    op.drop_column("sync_batches", "published_at")
