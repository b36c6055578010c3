"""Real-time switches: sources get one; the never-written sites.last_webhook_at goes

A site's `webhooks_active` already existed; a source had no switch, so an ERP's
webhooks could not be paused without pausing every site. `sites.last_webhook_at` was
never written: the webhook indicator reads the last accepted delivery from
`webhook_log` (sync/sites.py `last_received`), so the column is dropped rather than
kept in step on every request.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "sources",
        sa.Column("webhooks_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
    )
    op.drop_column("sites", "last_webhook_at")


def downgrade() -> None:
    op.add_column("sites", sa.Column("last_webhook_at", sa.DateTime(timezone=True)))
    op.drop_column("sources", "webhooks_active")
