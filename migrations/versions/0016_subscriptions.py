"""subscriptions: the webhook subscriptions stocksync registers on the platforms

Issue 21: with PUBLIC_URL set, adding a site or source registers our webhooks on its
platform, and a keeper keeps them alive (models/subscriptions.py, sync/subscriptions.py).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

def upgrade() -> None:
    stamp = sa.DateTime(timezone=True)
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column(
            "site_id", sa.BigInteger(), sa.ForeignKey("sites.id", ondelete="CASCADE"), nullable=True
        ),
        sa.Column(
            "source_id",
            sa.BigInteger(),
            sa.ForeignKey("sources.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("url", sa.String(500), nullable=False),
        sa.Column("remote_id", sa.String(200), nullable=True),
        sa.Column(
            "state",
            sa.Enum(
                "active",
                "disabled",
                "missing",
                "manual",
                "failed",
                name="subscriptionstate",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("expires_at", stamp, nullable=True),
        sa.Column("last_delivery_at", stamp, nullable=True),
        sa.Column("last_checked_at", stamp, nullable=True),
        sa.Column("last_action", sa.Text(), nullable=True),
        sa.Column("last_action_at", stamp, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", stamp, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", stamp, server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("(site_id IS NULL) <> (source_id IS NULL)", name=op.f("ck_subscriptions_one_owner")),
    )
    op.create_index("uq_subscriptions_site_topic", "subscriptions", ["site_id", "topic"], unique=True)
    op.create_index(
        "uq_subscriptions_source_topic", "subscriptions", ["source_id", "topic"], unique=True
    )


def downgrade() -> None:
    op.drop_table("subscriptions")
