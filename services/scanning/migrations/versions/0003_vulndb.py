"""Create the vulnerability database, findings and staff decision tables.

Revision ID: 0003_vulndb
Revises: 0002_inventory
"""

from alembic import op

from services.scanning.models import Base
from services.scanning.vulns import models  # noqa: F401  (puts the tables on Base)

revision = "0003_vulndb"
down_revision = "0002_inventory"
branch_labels = None
depends_on = None

# In creation order: each table refers only to tables before it.
TABLES = (
    "vuln_feed_imports",
    "vuln_records",
    "vuln_affected",
    "vuln_assessed_images",
    "vuln_assessed_packages",
    "vuln_findings",
    "vuln_finding_classifications",
    "vuln_finding_waivers",
)


def upgrade() -> None:
    bind = op.get_bind()
    for name in TABLES:
        Base.metadata.tables[name].create(bind)


def downgrade() -> None:
    for name in reversed(TABLES):
        op.drop_table(name)
