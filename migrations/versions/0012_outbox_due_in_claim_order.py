"""outbox due index in claim order

The dispatcher's claim asked for due rows with an OR, ordered by id: both databases walked the
outbox from its first row, past every row delivered in the last 90 days, on every claim. It now asks
for pending rows ordered by (next_attempt_at, id), which this index gives from its start.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 13:20:00
"""
from alembic import op


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_outbox_due", table_name="outbox")
    op.create_index("ix_outbox_due", "outbox", ["status", "next_attempt_at", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_outbox_due", table_name="outbox")
    op.create_index("ix_outbox_due", "outbox", ["status", "next_attempt_at"], unique=False)
