"""Store search: weighted full-text ranking, trigram typo tolerance, facets and keyset pages.

Only the `listings` table is searched, which holds published and held listings only, so
drafts and versions under review can never appear in results.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Float, case, cast, func, literal, literal_column, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from services.catalog.listing import media_url
from services.catalog.models import Listing
from services.catalog.schemas import FacetValue, ListingSummary, SearchPage
from shared.pagination import finish_page, paginate

# ts_rank weights for the document's D, C, B and A parts: long description, short
# description, tags and publisher, name.
RANK_WEIGHTS = "'{0.1, 0.2, 0.4, 1.0}'::float4[]"
# An exact name match outranks any other kind of match.
EXACT_NAME_BONUS = 10.0
# Trigram similarity of the query to the name, then to name and tags together; this
# ranks misspelt queries, which the stemmed full-text match misses.
NAME_SIMILARITY_WEIGHT = 0.5
WORDS_SIMILARITY_WEIGHT = 0.1

FACETS = ("category", "product_type", "certified", "pricing", "publisher")


class Sort(StrEnum):
    RELEVANCE = "relevance"
    NEWEST = "newest"
    PULLS = "pulls"
    PRICE_ASC = "price_asc"
    PRICE_DESC = "price_desc"


@dataclass(frozen=True)
class SearchQuery:
    text: str | None = None
    category: str | None = None
    product_type: str | None = None
    certified: bool | None = None
    pricing: str | None = None  # "free" or "paid"
    publisher: str | None = None  # a namespace
    sort: Sort | None = None
    cursor: str | None = None
    limit: int = 20


def _text_match(text: str) -> tuple[ColumnElement, ColumnElement]:
    """Return the match condition and the relevance score of a text query."""
    lowered = text.lower()
    tsquery = func.websearch_to_tsquery(literal_column("'english'::regconfig"), text)
    # `words %> q` is the index-supported form of word_similarity(q, words) above
    # pg_trgm.word_similarity_threshold (0.6 by default).
    # NOTE: trigrams miss swapped letters in short words ("ngnix" for "nginx"), because
    # such a swap changes most of a short word's trigrams.
    condition = or_(Listing.document.op("@@")(tsquery), Listing.words.op("%>")(lowered))
    score = cast(
        func.ts_rank(literal_column(RANK_WEIGHTS), Listing.document, tsquery)
        + case((func.lower(Listing.name) == lowered, EXACT_NAME_BONUS), else_=0.0)
        + NAME_SIMILARITY_WEIGHT * func.word_similarity(lowered, func.lower(Listing.name))
        + WORDS_SIMILARITY_WEIGHT * func.word_similarity(lowered, Listing.words),
        Float,
    )
    return condition, score


def _filters(query: SearchQuery) -> list[ColumnElement]:
    conditions: list[ColumnElement] = []
    if query.category:
        conditions.append(Listing.category == query.category)
    if query.product_type:
        conditions.append(Listing.product_type == query.product_type)
    if query.certified is not None:
        conditions.append(Listing.certified.is_(query.certified))
    if query.pricing == "free":
        conditions.append(Listing.is_free.is_(True))
    elif query.pricing == "paid":
        conditions.append(Listing.is_free.is_(False))
    if query.publisher:
        conditions.append(Listing.namespace == query.publisher)
    return conditions


async def search_listings(session: AsyncSession, query: SearchQuery) -> SearchPage:
    conditions = _filters(query)
    score: ColumnElement | None = None
    text = (query.text or "").strip()
    if text:
        match, score = _text_match(text)
        conditions.append(match)

    sort = query.sort or (Sort.RELEVANCE if text else Sort.NEWEST)
    if sort == Sort.RELEVANCE and score is None:
        # Without a text query, relevance means popularity.
        sort = Sort.PULLS
    columns, descending = _sort_columns(sort, score)

    statement = select(Listing, (score if score is not None else literal(None, Float)).label("score")).where(
        *conditions
    )
    statement = paginate(statement, columns=columns, cursor=query.cursor, limit=query.limit, descending=descending)
    rows = list((await session.execute(statement)).all())
    kept, next_cursor = finish_page(rows, limit=query.limit, key=lambda row: _cursor_values(row, sort))

    facets, total = await _facets(session, conditions)
    return SearchPage(
        items=[_summary(row.Listing, row.score) for row in kept],
        next_cursor=next_cursor,
        total=total,
        facets=facets,
    )


def _sort_columns(sort: Sort, score: ColumnElement | None) -> tuple[list[ColumnElement], bool]:
    if sort == Sort.RELEVANCE:
        return [score, Listing.product_id], True
    if sort == Sort.NEWEST:
        return [Listing.published_at, Listing.product_id], True
    if sort == Sort.PULLS:
        return [Listing.pull_count, Listing.product_id], True
    if sort == Sort.PRICE_ASC:
        return [Listing.min_price, Listing.product_id], False
    return [Listing.min_price, Listing.product_id], True


def _cursor_values(row, sort: Sort) -> tuple:
    listing = row.Listing
    first = {
        Sort.RELEVANCE: row.score,
        Sort.NEWEST: listing.published_at,
        Sort.PULLS: listing.pull_count,
        Sort.PRICE_ASC: listing.min_price,
        Sort.PRICE_DESC: listing.min_price,
    }[sort]
    return first, listing.product_id


async def _facets(session: AsyncSession, conditions: list[ColumnElement]) -> tuple[dict[str, list[FacetValue]], int]:
    """Count the matching listings by each facet value, in one grouped query.

    NOTE: the counts are over the filtered result, so a facet whose filter is set shows
    only the chosen value.
    """
    pricing = case((Listing.is_free, "free"), else_="paid")
    certified = case((Listing.certified, "true"), else_="false")
    statement = (
        select(
            Listing.category,
            Listing.product_type,
            certified.label("certified"),
            pricing.label("pricing"),
            Listing.namespace,
            func.count().label("count"),
        )
        .where(*conditions)
        .group_by(
            func.grouping_sets(
                tuple_(Listing.category),
                tuple_(Listing.product_type),
                tuple_(certified),
                tuple_(pricing),
                tuple_(Listing.namespace),
            )
        )
    )
    facets: dict[str, list[FacetValue]] = {name: [] for name in FACETS}
    total = 0
    for row in await session.execute(statement):
        if row.category is not None:
            facets["category"].append(FacetValue(value=row.category, count=row.count))
            total += row.count
        elif row.product_type is not None:
            facets["product_type"].append(FacetValue(value=row.product_type, count=row.count))
        elif row.certified is not None:
            facets["certified"].append(FacetValue(value=row.certified, count=row.count))
        elif row.pricing is not None:
            facets["pricing"].append(FacetValue(value=row.pricing, count=row.count))
        elif row.namespace is not None:
            facets["publisher"].append(FacetValue(value=row.namespace, count=row.count))
    for values in facets.values():
        values.sort(key=lambda facet: (-facet.count, facet.value))
    return facets, total


def _summary(listing: Listing, score: float | None) -> ListingSummary:
    return ListingSummary(
        id=listing.product_id,
        namespace=listing.namespace,
        slug=listing.slug,
        name=listing.name,
        short_description=listing.short_description,
        category=listing.category,
        product_type=listing.product_type,
        tags=listing.tags,
        logo_url=media_url(listing.logo_media_id),
        publisher_name=listing.publisher_name,
        certified=listing.certified,
        held=listing.held,
        is_free=listing.is_free,
        min_price=listing.min_price,
        currency=listing.currency,
        pull_count=listing.pull_count,
        version=listing.version,
        published_at=listing.published_at,
        score=score,
    )
