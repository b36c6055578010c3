"""sources.rate_limit_*: an ERP's request budget, configurable per source

Issue 22, item 1: every ERP call draws on a budget shared by all workers (Business
Central's 6,000 requests per 5 minutes and 5 at once, Zoho's 100 a minute and its
daily cap by plan). NULL keeps the ERP's default (sync/limits.py `SOURCE_QUOTAS`);
`rate_limit_daily` is the requests allowed per 24 h, Zoho's plan cap.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Column, and the name of its check (the models' naming convention adds the table).
COLUMNS = (
    ("rate_limit_requests", "rate_limit_requests"),
    ("rate_limit_window_seconds", "rate_limit_window"),
    ("rate_limit_concurrency", "rate_limit_concurrency"),
    ("rate_limit_daily", "rate_limit_daily"),
)


def upgrade() -> None:
    for column, check in COLUMNS:
        op.add_column("sources", sa.Column(column, sa.Integer(), nullable=True))
        op.create_check_constraint(
            op.f(f"ck_sources_{check}"), "sources", f"{column} IS NULL OR {column} > 0"
        )


def downgrade() -> None:
    for column, check in reversed(COLUMNS):
        op.drop_constraint(op.f(f"ck_sources_{check}"), "sources", type_="check")
        op.drop_column("sources", column)
