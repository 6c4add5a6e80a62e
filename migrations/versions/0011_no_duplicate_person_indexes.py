"""no duplicate person indexes

Four tables had an index on user_id beside a unique constraint that starts with user_id, which serves
the same lookups: every insert paid for both (recommended_jobs takes about a million rows a week).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 09:20:00
"""
from alembic import op


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

TABLES = ("applications", "favorites", "recommended_jobs", "saved_searches")


def upgrade() -> None:
    for table in TABLES:
        op.drop_index(f"ix_{table}_user_id", table_name=table)


def downgrade() -> None:
    for table in TABLES:
        op.create_index(f"ix_{table}_user_id", table, ["user_id"], unique=False)
