"""Keep a lexicon of listing words for typo correction; drop the trigram index of listings.

A misspelt search is corrected word by word against the lexicon, a table of every word
of a listing's name and tags with the number of listings that hold it, and then runs as
an ordinary full-text search. Triggers on `listings` keep the lexicon current.

Revision ID: 0003_search_terms
Revises: 0002_catalog
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_search_terms"
down_revision = "0002_catalog"
branch_labels = None
depends_on = None

# The words of a listing's `words` column that are worth correcting towards: two
# characters or more, and not plain numbers, which are version or build numbers.
TERMS_OF = """
CREATE FUNCTION search_terms_of(words text) RETURNS SETOF text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT DISTINCT term
    FROM regexp_split_to_table(words, '[^[:alnum:]]+') AS term
    WHERE length(term) >= 2 AND term !~ '^[0-9]+$'
$$
"""

# Terms are locked in sorted order, so two listings written at once cannot deadlock.
COUNT_TERMS = """
CREATE FUNCTION listings_count_search_terms() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        UPDATE search_terms SET listings = listings - 1
        WHERE term IN (SELECT search_terms_of(OLD.words));
        DELETE FROM search_terms
        WHERE listings <= 0 AND term IN (SELECT search_terms_of(OLD.words));
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO search_terms (term, listings)
        SELECT term, 1 FROM search_terms_of(NEW.words) AS term ORDER BY term
        ON CONFLICT (term) DO UPDATE SET listings = search_terms.listings + 1;
    END IF;
    RETURN NULL;
END
$$
"""

REBUILD = """
INSERT INTO search_terms (term, listings)
SELECT term, count(*) FROM listings, search_terms_of(listings.words) AS term GROUP BY term
"""


def upgrade() -> None:
    # levenshtein_less_equal measures how far a misspelt word is from a known one.
    op.execute("CREATE EXTENSION IF NOT EXISTS fuzzystrmatch")
    op.create_table(
        "search_terms",
        sa.Column("term", sa.Text, primary_key=True),
        sa.Column("listings", sa.Integer, nullable=False),
    )
    # Correction compares a word only with terms of about its length.
    op.create_index("ix_search_terms_length", "search_terms", [sa.text("length(term)")])
    op.execute(TERMS_OF)
    op.execute(COUNT_TERMS)
    op.execute(
        "CREATE TRIGGER listings_search_terms AFTER INSERT OR DELETE ON listings "
        "FOR EACH ROW EXECUTE FUNCTION listings_count_search_terms()"
    )
    # Pull counts change far more often than names and tags; those updates skip the lexicon.
    op.execute(
        "CREATE TRIGGER listings_search_terms_changed AFTER UPDATE ON listings "
        "FOR EACH ROW WHEN (OLD.words IS DISTINCT FROM NEW.words) "
        "EXECUTE FUNCTION listings_count_search_terms()"
    )
    op.execute(REBUILD)
    op.drop_index("ix_listings_words_trgm", table_name="listings")


def downgrade() -> None:
    op.create_index(
        "ix_listings_words_trgm",
        "listings",
        ["words"],
        postgresql_using="gin",
        postgresql_ops={"words": "gin_trgm_ops"},
    )
    op.execute("DROP TRIGGER listings_search_terms_changed ON listings")
    op.execute("DROP TRIGGER listings_search_terms ON listings")
    op.execute("DROP FUNCTION listings_count_search_terms()")
    op.execute("DROP FUNCTION search_terms_of(text)")
    op.drop_table("search_terms")
