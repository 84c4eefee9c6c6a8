"""Store search: weighted full-text ranking, trigram typo tolerance, facets and keyset pages.

Only the `listings` table is searched, which holds published and held listings only, so
drafts and versions under review can never appear in results.
"""

from __future__ import annotations

import time
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

SUMMARY_COLUMNS = (
    Listing.product_id,
    Listing.namespace,
    Listing.slug,
    Listing.name,
    Listing.short_description,
    Listing.category,
    Listing.product_type,
    Listing.tags,
    Listing.logo_media_id,
    Listing.publisher_name,
    Listing.certified,
    Listing.held,
    Listing.is_free,
    Listing.min_price,
    Listing.currency,
    Listing.pull_count,
    Listing.version,
    Listing.published_at,
)

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


class FacetCache:
    """Facet counts of queries without text, kept for `ttl` seconds.

    Browsing without words counts every visible listing, the one facet query whose cost
    grows with the whole catalog; its counts change only when listings change.
    NOTE: so the counts and `total` of a browse query may be up to `ttl` seconds old.
    """

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[tuple, tuple[float, dict[str, list[FacetValue]], int]] = {}

    def get(self, key: tuple) -> tuple[dict[str, list[FacetValue]], int] | None:
        entry = self._entries.get(key)
        if entry is None or time.monotonic() - entry[0] > self.ttl:
            return None
        return entry[1], entry[2]

    def put(self, key: tuple, facets: dict[str, list[FacetValue]], total: int) -> None:
        if self.ttl <= 0:
            return
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[key] = (time.monotonic(), facets, total)


async def search_listings(session: AsyncSession, query: SearchQuery, *, facet_cache: FacetCache | None = None) -> SearchPage:
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

    # Plain columns, not ORM entities: the page needs no identity map, and the stored
    # document and description would only add bytes to every row.
    statement = select(*SUMMARY_COLUMNS, (score if score is not None else literal(None, Float)).label("score")).where(
        *conditions
    )
    statement = paginate(statement, columns=columns, cursor=query.cursor, limit=query.limit, descending=descending)
    rows = list((await session.execute(statement)).all())
    kept, next_cursor = finish_page(rows, limit=query.limit, key=lambda row: _cursor_values(row, sort))

    cache_key = (query.category, query.product_type, query.certified, query.pricing, query.publisher)
    cached = facet_cache.get(cache_key) if facet_cache is not None and not text else None
    if cached is not None:
        facets, total = cached
    else:
        facets, total = await _facets(session, conditions)
        if facet_cache is not None and not text:
            facet_cache.put(cache_key, facets, total)
    return SearchPage(
        items=[_summary(row) for row in kept],
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
    first = {
        Sort.RELEVANCE: row.score,
        Sort.NEWEST: row.published_at,
        Sort.PULLS: row.pull_count,
        Sort.PRICE_ASC: row.min_price,
        Sort.PRICE_DESC: row.min_price,
    }[sort]
    return first, row.product_id


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


def _summary(row) -> ListingSummary:
    return ListingSummary(
        id=row.product_id,
        namespace=row.namespace,
        slug=row.slug,
        name=row.name,
        short_description=row.short_description,
        category=row.category,
        product_type=row.product_type,
        tags=row.tags,
        logo_url=media_url(row.logo_media_id),
        publisher_name=row.publisher_name,
        certified=row.certified,
        held=row.held,
        is_free=row.is_free,
        min_price=row.min_price,
        currency=row.currency,
        pull_count=row.pull_count,
        version=row.version,
        published_at=row.published_at,
        score=row.score,
    )
