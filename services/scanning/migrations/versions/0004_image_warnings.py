"""Add the warnings of a scanned image, such as packages cut to fit their columns.

Revision ID: 0004_image_warnings
Revises: 0003_vulndb
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0004_image_warnings"
down_revision = "0003_vulndb"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "scanned_images",
        sa.Column("warnings", JSONB(), nullable=False, server_default=sa.text("'[]'::jsonb")),
    )


def downgrade() -> None:
    op.drop_column("scanned_images", "warnings")
