"""Keep facet counts per search term, so a one-word search need not count its matches.

Counting the facets of a search visits every listing that matches it. A common word
matches thousands of listings, and fetching each one costs more than the rest of the
search together. For a query of a single term, the counts are the same for every
search, so triggers on `listings` keep them in two tables:
- `term_facets`: per term, the listings with each combination of category, product
  type, certification, pricing and currency;
- `term_publishers`: per term, the listings of each publisher.

The terms are the lexemes of the listing's search document, as the query parser makes
them, so a query's single lexeme finds its row.

Revision ID: 0004_term_facets
Revises: 0003_search_terms
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_term_facets"
down_revision = "0003_search_terms"
branch_labels = None
depends_on = None

# One statement applies the listing's old rows as -1 and its new rows as +1, in sorted
# order, so two listings written at once lock the counters in the same order and cannot
# deadlock. A listing that keeps a term and its facet values changes nothing.
COUNT = """
CREATE FUNCTION listings_count_term_facets() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO term_facets AS f (term, category, product_type, certified, is_free, currency, listings)
    SELECT term, category, product_type, certified, is_free, currency, sum(delta)
    FROM (
        SELECT unnest(tsvector_to_array(OLD.document)) AS term, OLD.category, OLD.product_type,
               OLD.certified, OLD.is_free, OLD.currency, -1 AS delta
        WHERE TG_OP <> 'INSERT'
        UNION ALL
        SELECT unnest(tsvector_to_array(NEW.document)), NEW.category, NEW.product_type,
               NEW.certified, NEW.is_free, NEW.currency, 1
        WHERE TG_OP <> 'DELETE'
    ) AS changes (term, category, product_type, certified, is_free, currency, delta)
    GROUP BY term, category, product_type, certified, is_free, currency
    HAVING sum(delta) <> 0
    ORDER BY term, category, product_type, certified, is_free, currency
    ON CONFLICT (term, category, product_type, certified, is_free, currency)
        DO UPDATE SET listings = f.listings + excluded.listings;

    INSERT INTO term_publishers AS p (term, namespace, listings)
    SELECT term, namespace, sum(delta)
    FROM (
        SELECT unnest(tsvector_to_array(OLD.document)) AS term, OLD.namespace, -1 AS delta
        WHERE TG_OP <> 'INSERT'
        UNION ALL
        SELECT unnest(tsvector_to_array(NEW.document)), NEW.namespace, 1
        WHERE TG_OP <> 'DELETE'
    ) AS changes (term, namespace, delta)
    GROUP BY term, namespace
    HAVING sum(delta) <> 0
    ORDER BY term, namespace
    ON CONFLICT (term, namespace) DO UPDATE SET listings = p.listings + excluded.listings;

    -- Only rows this statement has just locked can have reached zero.
    IF TG_OP <> 'INSERT' THEN
        DELETE FROM term_facets
        WHERE listings <= 0 AND term = ANY (tsvector_to_array(OLD.document));
        DELETE FROM term_publishers
        WHERE listings <= 0 AND term = ANY (tsvector_to_array(OLD.document));
    END IF;
    RETURN NULL;
END
$$
"""

# Counts every listing again. The migration runs it once; a bulk load that disables the
# triggers runs it afterwards (`SELECT rebuild_term_facets()`).
REBUILD = """
CREATE FUNCTION rebuild_term_facets() RETURNS void
LANGUAGE sql AS $$
    TRUNCATE term_facets, term_publishers;

    INSERT INTO term_facets (term, category, product_type, certified, is_free, currency, listings)
    SELECT term, category, product_type, certified, is_free, currency, count(*)
    FROM listings, unnest(tsvector_to_array(document)) AS term
    GROUP BY term, category, product_type, certified, is_free, currency;

    INSERT INTO term_publishers (term, namespace, listings)
    SELECT term, namespace, count(*)
    FROM listings, unnest(tsvector_to_array(document)) AS term
    GROUP BY term, namespace;
$$
"""


def upgrade() -> None:
    # The counts are read by index alone: the key of `term_facets` holds its count, and a
    # second index of `term_publishers` holds a term's publishers, most listings first.
    op.create_table(
        "term_facets",
        sa.Column("term", sa.Text, nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("product_type", sa.String(20), nullable=False),
        sa.Column("certified", sa.Boolean, nullable=False),
        sa.Column("is_free", sa.Boolean, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("listings", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint(
            "term", "category", "product_type", "certified", "is_free", "currency", postgresql_include=["listings"]
        ),
    )
    op.create_table(
        "term_publishers",
        sa.Column("term", sa.Text, primary_key=True),
        sa.Column("namespace", sa.String(64), primary_key=True),
        sa.Column("listings", sa.Integer, nullable=False),
    )
    op.create_index(
        "ix_term_publishers_listings", "term_publishers", ["term", sa.text("listings DESC"), "namespace"]
    )
    op.execute(COUNT)
    op.execute(
        "CREATE TRIGGER listings_term_facets AFTER INSERT OR DELETE ON listings "
        "FOR EACH ROW EXECUTE FUNCTION listings_count_term_facets()"
    )
    # Pull counts change far more often than anything counted here; those updates skip it.
    op.execute(
        "CREATE TRIGGER listings_term_facets_changed AFTER UPDATE ON listings FOR EACH ROW "
        "WHEN (OLD.document IS DISTINCT FROM NEW.document OR OLD.category IS DISTINCT FROM NEW.category "
        "OR OLD.product_type IS DISTINCT FROM NEW.product_type OR OLD.certified IS DISTINCT FROM NEW.certified "
        "OR OLD.is_free IS DISTINCT FROM NEW.is_free OR OLD.currency IS DISTINCT FROM NEW.currency "
        "OR OLD.namespace IS DISTINCT FROM NEW.namespace) "
        "EXECUTE FUNCTION listings_count_term_facets()"
    )
    op.execute(REBUILD)
    op.execute("SELECT rebuild_term_facets()")


def downgrade() -> None:
    op.execute("DROP FUNCTION rebuild_term_facets()")
    op.execute("DROP TRIGGER listings_term_facets_changed ON listings")
    op.execute("DROP TRIGGER listings_term_facets ON listings")
    op.execute("DROP FUNCTION listings_count_term_facets()")
    op.drop_table("term_publishers")
    op.drop_table("term_facets")
