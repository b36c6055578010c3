"""webhook_deliveries: the delivery-id memory; webhook_log.occurred_at within the calendar

The unique index uq_webhook_log_delivery was the only memory of delivery ids, and it
forgot too much: it names the site, NULL for ERP sources, so their redeliveries never
conflicted; and it covered only rows not `duplicate`, so an id whose row the relay
coalesced into a window was accepted again. It replaces `webhook_deliveries`, keyed by
(provider, owner, delivery id) for IDEMPOTENCY_TTL_SECONDS (api/intake.py).

The memory starts with the ids of the last 7 days (the longest TTL the settings allow):
an id older than the configured TTL is taken over by its next delivery and purged, so
remembering too many here costs nothing.

An `occurred_at` outside years 1-9999 (less a day at each end) made every reader of its
row fail (issue 18, item 12); such times are cleared, and a CHECK keeps them out.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: As models/webhook_log.py has it today (a migration does not import the models).
IN_CALENDAR = (
    "occurred_at >= '0001-01-02T00:00:00+00:00' AND occurred_at < '9999-12-31T00:00:00+00:00'"
)
OLD_INDEX_WHERE = "delivery_id IS NOT NULL AND status NOT IN ('duplicate', 'rejected')"


def upgrade() -> None:
    op.create_table(
        "webhook_deliveries",
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("owner_id", sa.BigInteger(), nullable=False),
        sa.Column("delivery_id", sa.String(length=200), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("log_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "provider", "owner_id", "delivery_id", name=op.f("pk_webhook_deliveries")
        ),
    )
    op.execute(
        """
        INSERT INTO webhook_deliveries (provider, owner_id, delivery_id, seen_at, log_id)
        SELECT provider, coalesce(site_id, source_id), delivery_id, min(received_at), min(id)
        FROM webhook_log
        WHERE delivery_id IS NOT NULL AND coalesce(site_id, source_id) IS NOT NULL
            AND status NOT IN ('rejected', 'ignored')
            AND received_at > now() - interval '7 days'
        GROUP BY provider, coalesce(site_id, source_id), delivery_id
        """
    )
    op.drop_index(
        "uq_webhook_log_delivery",
        table_name="webhook_log",
        postgresql_where=sa.text(OLD_INDEX_WHERE),
    )
    op.execute(f"UPDATE webhook_log SET occurred_at = NULL WHERE NOT ({IN_CALENDAR})")
    op.create_check_constraint(
        op.f("ck_webhook_log_occurred_at_in_calendar"), "webhook_log", IN_CALENDAR
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("ck_webhook_log_occurred_at_in_calendar"), "webhook_log", type_="check"
    )
    # Since 0007 an id is accepted again once its TTL is over, so a key may have several
    # live rows; the old index allows one: the later ones become what 0006 would have
    # logged them as, duplicates.
    op.execute(
        f"""
        UPDATE webhook_log SET status = 'duplicate', error = 'delivery seen before'
        WHERE id IN (
            SELECT id FROM (
                SELECT id, row_number() OVER (
                    PARTITION BY provider, site_id, delivery_id ORDER BY id
                ) AS rank
                FROM webhook_log WHERE site_id IS NOT NULL AND {OLD_INDEX_WHERE}
            ) AS live
            WHERE rank > 1
        )
        """
    )
    op.create_index(
        "uq_webhook_log_delivery",
        "webhook_log",
        ["provider", "site_id", "delivery_id"],
        unique=True,
        postgresql_where=sa.text(OLD_INDEX_WHERE),
    )
    op.drop_table("webhook_deliveries")
