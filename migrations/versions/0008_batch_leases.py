"""sync_batches: a claim is a lease its worker renews

A batch's claim used to last until the stuck-batch sweep returned it after
STUCK_BATCH_MINUTES (30): a whole worker killed mid-run stalled its batches that long.
Now a claim holds a lease, `lease_expires_at`, on the database's clock, renewed by
the holding worker while it works; the sweep returns a batch whose lease lapsed. A
batch waiting for its retry holds a lease too, until its retry is due and a lease
more: a retry message lost with its worker is published again then. `claimed_by` is
the Celery task id of the delivery that holds the claim: a message Redis hands out
again takes over only from its own earlier delivery, never from another live one.

Batches `processing` when this runs keep the 30 minutes they had: their lease ends
30 minutes after their claim. The index the sweep used on `claimed_at` moves to the
lease.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 18:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "sync_batches", sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("sync_batches", sa.Column("claimed_by", sa.String(64), nullable=True))
    op.execute(
        """
        UPDATE sync_batches SET lease_expires_at = claimed_at + interval '30 minutes'
        WHERE status = 'processing'
        """
    )
    op.drop_index("ix_sync_batches_status_claimed", table_name="sync_batches")
    op.create_index(
        "ix_sync_batches_status_lease", "sync_batches", ["status", "lease_expires_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_sync_batches_status_lease", table_name="sync_batches")
    op.create_index("ix_sync_batches_status_claimed", "sync_batches", ["status", "claimed_at"])
    op.drop_column("sync_batches", "claimed_by")
    op.drop_column("sync_batches", "lease_expires_at")
