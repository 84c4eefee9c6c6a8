"""Create the sample tables.

Revision ID: 0001_initial
Revises:
"""

from alembic import op

from tests.platform.sample.app import metadata

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    metadata.create_all(op.get_bind())


def downgrade() -> None:
    metadata.drop_all(op.get_bind())
