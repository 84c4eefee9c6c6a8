"""The facet counts kept per search term follow the listings, and a one-term search reads them."""

from __future__ import annotations

from sqlalchemy import delete, func, insert, select, text, update

from services.catalog.models import Listing, TermFacet, TermPublisher
from tests.catalog.test_search_terms import listing

# The counts as the triggers keep them, and the same counts taken from the listings.
KEPT = text("""
    SELECT term, category, product_type, certified, is_free, currency, listings FROM term_facets
    ORDER BY 1, 2, 3, 4, 5, 6
""")
RECOUNTED = text("""
    SELECT term, category, product_type, certified, is_free, currency, count(*) FROM listings,
           unnest(tsvector_to_array(document)) AS term
    GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
""")
KEPT_PUBLISHERS = text("SELECT term, namespace, listings FROM term_publishers ORDER BY 1, 2")
RECOUNTED_PUBLISHERS = text("""
    SELECT term, namespace, count(*) FROM listings, unnest(tsvector_to_array(document)) AS term
    GROUP BY 1, 2 ORDER BY 1, 2
""")


async def assert_counts_match(session) -> None:
    assert (await session.execute(KEPT)).all() == (await session.execute(RECOUNTED)).all()
    assert (await session.execute(KEPT_PUBLISHERS)).all() == (await session.execute(RECOUNTED_PUBLISHERS)).all()


async def counts(session, term: str) -> dict[tuple, int]:
    rows = await session.execute(
        select(TermFacet.category, TermFacet.is_free, TermFacet.listings).where(TermFacet.term == term)
    )
    return {(category, is_free): listings for category, is_free, listings in rows.all()}


async def test_counts_follow_inserts_updates_and_deletes(catalog):
    first = listing("Wallaby Store", ["numbat"])
    second = {**listing("Wallaby Relay", ["numbat"]), "namespace": "marsupials", "category": "Database"}

    async with catalog.runtime.sessionmaker() as session, session.begin():
        await session.execute(insert(Listing).values([first, second]))
        assert await counts(session, "wallabi") == {("Other", True): 1, ("Database", True): 1}
        await assert_counts_match(session)

        # A new category moves the listing's counts; a rename moves its terms.
        await session.execute(
            update(Listing).where(Listing.product_id == first["product_id"]).values(category="Database", is_free=False)
        )
        assert await counts(session, "wallabi") == {("Database", False): 1, ("Database", True): 1}
        await session.execute(
            update(Listing).where(Listing.product_id == first["product_id"]).values(name="Potoroo Store")
        )
        assert await counts(session, "wallabi") == {("Database", True): 1}
        assert await counts(session, "potoroo") == {("Database", False): 1}
        await assert_counts_match(session)

        # A new currency alone moves the counts too, and a new publisher moves the publisher counts.
        await session.execute(
            update(Listing).where(Listing.product_id == first["product_id"]).values(currency="USD", min_price=500)
        )
        await assert_counts_match(session)
        await session.execute(
            update(Listing).where(Listing.product_id == second["product_id"]).values(namespace="wombats")
        )
        await assert_counts_match(session)

        # Pull counts change nothing that is counted.
        await session.execute(update(Listing).where(Listing.product_id == second["product_id"]).values(pull_count=9))
        await assert_counts_match(session)

        # Counts that reach zero are dropped, not kept as zero.
        await session.execute(delete(Listing).where(Listing.product_id == second["product_id"]))
        assert await counts(session, "wallabi") == {}
        remaining = await session.scalar(
            select(func.count()).select_from(TermPublisher).where(TermPublisher.namespace == "wombats")
        )
        assert remaining == 0
        await assert_counts_match(session)

        await session.rollback()
