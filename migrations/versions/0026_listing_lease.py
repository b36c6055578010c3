"""sync_runs.listing_by, listing_until: one start task lists a run's catalog at a time

A run paused during its catalog listing and resumed at once had two start tasks listing
it side by side (the one still in its slice of time and the one `resume` queued), every
page read twice. The start task now takes the run's listing lease (sync/runs.py
`begin_run`); another start task of the run, finding it held, stops.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06 20:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("sync_runs", sa.Column("listing_by", sa.String(255)))
    op.add_column("sync_runs", sa.Column("listing_until", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("sync_runs", "listing_until")
    op.drop_column("sync_runs", "listing_by")
