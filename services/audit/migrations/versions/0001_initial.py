"""Create the outbox, inbox and idempotency tables.

Revision ID: 0001_initial
Revises:
"""

from alembic import op

from services.audit.models import Base
from shared.migrations import create_platform_tables

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_platform_tables(op, Base.metadata)


def downgrade() -> None:
    for table in ("idempotency_keys", "inbox", "outbox"):
        op.drop_table(table)
