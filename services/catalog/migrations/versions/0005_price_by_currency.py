"""Index listings for price sorts within a currency and for the currency facet.

Prices in different currencies cannot be compared without exchange rates, so the price
sorts order listings by currency first and by price within it. The facet index gains
the currency so that facet counts without words still read that index alone.

Revision ID: 0005_price_by_currency
Revises: 0004_term_facets
"""

from alembic import op

revision = "0005_price_by_currency"
down_revision = "0004_term_facets"
branch_labels = None
depends_on = None

FACETS = ["category", "namespace", "product_type", "certified", "is_free"]


def upgrade() -> None:
    op.drop_index("ix_listings_min_price", table_name="listings")
    op.create_index("ix_listings_currency_min_price", "listings", ["currency", "min_price", "product_id"])
    op.drop_index("ix_listings_facets", table_name="listings")
    op.create_index("ix_listings_facets", "listings", [*FACETS, "currency"])


def downgrade() -> None:
    op.drop_index("ix_listings_facets", table_name="listings")
    op.create_index("ix_listings_facets", "listings", FACETS)
    op.drop_index("ix_listings_currency_min_price", table_name="listings")
    op.create_index("ix_listings_min_price", "listings", ["min_price", "product_id"])
