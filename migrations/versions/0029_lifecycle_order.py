"""Lifecycle events in order per entity, and when a site first connected

- `event_deliveries.entity` (`run:<id>`, `site:<id>`, `subscription:<id>`): a delivery
  waits while an earlier one of the same subscriber and entity is pending, so a
  retried `STARTED` can no longer arrive after its `COMPLETED`. Existing rows are all
  run events (the only kind there was): their entity is their payload's run id.
- `sites.connected_at`: when a connection test first passed, the `MERCHANT_CONNECTED`
  moment. Existing sites were tested when added (unless `--no-check`), so they count as
  connected since they were created: no event is sent for them now.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("event_deliveries", sa.Column("entity", sa.String(64)))
    op.execute(
        "UPDATE event_deliveries SET entity = 'run:' || coalesce(payload->'data'->>'run_id', id::text)"
    )
    op.alter_column("event_deliveries", "entity", nullable=False)
    op.create_index(
        "ix_event_deliveries_pending_line",
        "event_deliveries",
        ["subscription_id", "entity", "id"],
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.add_column("sites", sa.Column("connected_at", sa.DateTime(timezone=True)))
    op.execute("UPDATE sites SET connected_at = created_at")


def downgrade() -> None:
    op.drop_column("sites", "connected_at")
    op.drop_index("ix_event_deliveries_pending_line", table_name="event_deliveries")
    op.drop_column("event_deliveries", "entity")
