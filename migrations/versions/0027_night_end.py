"""sync_runs.ends_by, held_over: a nightly run stops at the night's end, the rest first next night

A nightly run longer than the night went on into the day at full-sync priority. Now it
publishes no batch past `ends_by` (its start plus NIGHT_HOURS), counts the SKUs it
leaves in `held_over`, and the next night's cut takes the SKUs least recently
reconciled first (sync/runs.py `hold_over`).

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06 23:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("sync_runs", sa.Column("ends_by", sa.DateTime(timezone=True)))
    op.add_column(
        "sync_runs", sa.Column("held_over", sa.Integer(), server_default="0", nullable=False)
    )


def downgrade() -> None:
    op.drop_column("sync_runs", "held_over")
    op.drop_column("sync_runs", "ends_by")
