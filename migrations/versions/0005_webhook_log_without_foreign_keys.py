"""webhook_log: no foreign keys to sites and sources

The log records every request as it arrived, including requests for a site or source
deleted a moment before (the receiver caches owners for 5 seconds). With the foreign
keys such a row failed its whole INSERT, so every request sharing its commit was
answered 503, and so were the platforms' retries, until the cache let go. Now the row
keeps the id it arrived with and the worker fails the event with "the event's site (or
source) no longer exists". The keys' checks were also about 15 us of PostgreSQL CPU per
logged row of 50 (each took a share lock on the site's row).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 21:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_constraint("fk_webhook_log_site_id_sites", "webhook_log", type_="foreignkey")
    op.drop_constraint("fk_webhook_log_source_id_sources", "webhook_log", type_="foreignkey")


def downgrade() -> None:
    # Rows logged for owners deleted since would violate the keys: they lose the id,
    # as ON DELETE SET NULL would have done.
    op.execute(
        "UPDATE webhook_log SET site_id = NULL "
        "WHERE site_id IS NOT NULL AND site_id NOT IN (SELECT id FROM sites)"
    )
    op.execute(
        "UPDATE webhook_log SET source_id = NULL "
        "WHERE source_id IS NOT NULL AND source_id NOT IN (SELECT id FROM sources)"
    )
    op.create_foreign_key(
        "fk_webhook_log_site_id_sites",
        "webhook_log",
        "sites",
        ["site_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_foreign_key(
        "fk_webhook_log_source_id_sources",
        "webhook_log",
        "sources",
        ["source_id"],
        ["id"],
        ondelete="SET NULL",
    )
