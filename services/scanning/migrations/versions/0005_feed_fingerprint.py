"""Record a fingerprint of each imported feed's files, so a start can tell whether they changed.

Revision ID: 0005_feed_fingerprint
Revises: 0004_image_warnings
"""

from alembic import op

revision = "0005_feed_fingerprint"
down_revision = "0004_image_warnings"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # 0003 creates its tables from the current models, so a new database already has the
    # column when it gets here.
    op.execute("ALTER TABLE vuln_feed_imports ADD COLUMN IF NOT EXISTS fingerprint varchar(64)")


def downgrade() -> None:
    op.execute("ALTER TABLE vuln_feed_imports DROP COLUMN IF EXISTS fingerprint")
