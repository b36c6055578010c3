"""sites.awaiting_first_sync: nightly previews until a site's first live run

Issue 21, item 6: a site added with `--no-initial-sync` is never written by surprise:
its nightly run is a preview (sync/preview.py) until an operator's live run of it
completes. Existing sites were synced already: false.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 22:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "sites",
        sa.Column(
            "awaiting_first_sync", sa.Boolean(), server_default=sa.false(), nullable=False
        ),
    )


def downgrade() -> None:
    op.drop_column("sites", "awaiting_first_sync")
