"""sync_runs: at most one live run per site

A site had one live run (queued, running or paused) only when the admin API started
it: the nightly beat and an ERP `collection` notice skipped that check, so two runs
could write one store at once. Now `sync.runs.start_run` is the one way a run starts,
and this partial unique index makes the rule hold for every trigger, on every host.

Sites that already have several live runs keep one: a running run before a queued one
before a paused one, the oldest among equals (it started first, so it is furthest
along). The others are cancelled as an operator's cancel would be: queued batches
cancelled and counted as skipped, the run closed once nothing is processing. Unlike an
operator's cancel, no lifecycle event is recorded for them (the migration does not
sign deliveries); run it with the workers stopped.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 16:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = "('queued', 'running', 'paused')"


def upgrade() -> None:
    op.execute(
        f"""
        CREATE TEMPORARY TABLE superseded ON COMMIT DROP AS
        SELECT id FROM (
            SELECT id, row_number() OVER (
                PARTITION BY site_id
                ORDER BY CASE status WHEN 'running' THEN 0 WHEN 'queued' THEN 1 ELSE 2 END, id
            ) AS rank
            FROM sync_runs WHERE status IN {LIVE}
        ) AS live
        WHERE rank > 1
        """
    )
    op.execute(
        """
        WITH cancelled AS (
            UPDATE sync_batches SET status = 'cancelled', finished_at = now(), updated_at = now()
            WHERE status = 'queued' AND run_id IN (SELECT id FROM superseded)
            RETURNING run_id, jsonb_array_length(skus) AS skus
        ), per_run AS (
            SELECT run_id, count(*) AS batches, sum(skus) AS skus
            FROM cancelled GROUP BY run_id
        )
        UPDATE sync_runs r SET
            skipped = r.skipped + coalesce(p.skus, 0),
            batches_pending = r.batches_pending - coalesce(p.batches, 0)
        FROM superseded s LEFT JOIN per_run p ON p.run_id = s.id
        WHERE r.id = s.id
        """
    )
    op.execute(
        """
        UPDATE sync_runs SET status = 'cancelled',
            error = 'cancelled by migration 0006: the site had an older live run',
            finished_at = CASE WHEN batches_pending = 0 THEN now() END,
            updated_at = now()
        WHERE id IN (SELECT id FROM superseded)
        """
    )
    op.create_index(
        "uq_sync_runs_live_per_site",
        "sync_runs",
        ["site_id"],
        unique=True,
        postgresql_where=f"status IN {LIVE}",
    )


def downgrade() -> None:
    op.drop_index("uq_sync_runs_live_per_site", table_name="sync_runs")
