"""job order indexes end with id

A search's page is ordered by received_on (or the monthly wage) and then id. The indexes stopped at
the first column, so PostgreSQL read every open listing of the newest day to sort them by id before
it could return ten: "製造 OR 検品 -夜勤" over 100,000 listings took 58 ms, 31 with the id. SQLite's
indexes end with the rowid (the id) already; the change is the same on both for one schema.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 13:50:00
"""
from alembic import op


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

INDEXES = {"ix_jobs_open_received": "received_on", "ix_jobs_open_wage": "wage_monthly_max"}


def _rebuild(with_id: bool) -> None:
    for name, column in INDEXES.items():
        op.drop_index(name, table_name="jobs")
        op.create_index(name, "jobs", ["status", column] + (["id"] if with_id else []), unique=False)


def upgrade() -> None:
    _rebuild(with_id=True)


def downgrade() -> None:
    _rebuild(with_id=False)
