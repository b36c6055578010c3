"""subscriptions.heal_due_at, secret_due_at: work a killed process leaves due

Issue 21, item 5: the keeper records a mended subscription as active and then starts
the reconciliation of what it missed; killed in between, the lapse was forgotten.
`heal_due_at` is set in the commit that records the mend and cleared once the
reconciliation is under way. Likewise a new webhook secret is committed before our
subscriptions are given it: `secret_due_at` is set with the secret and cleared once
each subscription has it.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("subscriptions", sa.Column("heal_due_at", sa.DateTime(timezone=True)))
    op.add_column("subscriptions", sa.Column("secret_due_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("subscriptions", "secret_due_at")
    op.drop_column("subscriptions", "heal_due_at")
