"""The lexicon of search terms follows the listings: triggers add, count and drop terms."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import delete, insert, select, update

from services.catalog.models import Listing, SearchTerm


def listing(name: str, tags: list[str]) -> dict:
    return {
        "product_id": uuid.uuid4(),
        "organisation_id": uuid.uuid4(),
        "namespace": "lexicon",
        "publisher_name": "Lexicon Ltd",
        "slug": name.lower().replace(" ", "-"),
        "name": name,
        "short_description": "",
        "description_text": "",
        "category": "Other",
        "product_type": "image",
        "tags": tags,
        "tags_text": " ".join(tags),
        "min_price": 0,
        "currency": "EUR",
        "is_free": True,
        "version": "1.0.0",
        "published_at": datetime(2025, 1, 1, tzinfo=UTC),
    }


async def terms(session, *words: str) -> dict[str, int]:
    rows = await session.execute(select(SearchTerm.term, SearchTerm.listings).where(SearchTerm.term.in_(words)))
    return dict(rows.all())


async def test_terms_follow_inserts_updates_and_deletes(catalog):
    first = listing("Quokka Store 2", ["wombat", "x"])
    second = listing("Quokka Relay", ["wombat"])

    async with catalog.runtime.sessionmaker() as session, session.begin():
        await session.execute(insert(Listing).values([first, second]))
        # Numbers and one-letter words are not terms; each listing counts a word once.
        assert await terms(session, "quokka", "store", "relay", "wombat", "2", "x") == {
            "quokka": 2,
            "store": 1,
            "relay": 1,
            "wombat": 2,
        }

        await session.execute(
            update(Listing).where(Listing.product_id == first["product_id"]).values(name="Quokka Vault")
        )
        assert await terms(session, "store", "vault", "quokka") == {"vault": 1, "quokka": 2}

        # Pull counts leave the words alone.
        await session.execute(
            update(Listing).where(Listing.product_id == second["product_id"]).values(pull_count=5)
        )
        assert await terms(session, "relay") == {"relay": 1}

        await session.execute(delete(Listing).where(Listing.product_id == first["product_id"]))
        assert await terms(session, "quokka", "vault", "wombat") == {"quokka": 1, "wombat": 1}

        await session.rollback()
