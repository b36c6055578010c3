"""sync_runs.plan: a run's calls and time forecast against its budgets

Issue 22, item 2: each run forecasts, as it begins, the calls it makes of its store and
its ERP and how long its budgets make them take, and says whether that fits the night
and the ERP's budget for the day (sync/plan.py).

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-05 19:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("sync_runs", sa.Column("plan", postgresql.JSONB(), nullable=True))


def downgrade() -> None:
    op.drop_column("sync_runs", "plan")
