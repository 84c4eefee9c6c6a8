"""Store search: weighted full-text ranking, trigram typo tolerance, facets and keyset pages.

Only the `listings` table is searched. It contains published and held listings only, so
drafts and versions under review never appear in results.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from enum import StrEnum

from sqlalchemy import Float, case, cast, exists, func, literal, literal_column, select, union_all
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from services.catalog.listing import media_url
from services.catalog.models import Listing
from services.catalog.facets import FacetCache, facet_json, parse_facets
from services.catalog.schemas import ListingSummary, SearchPage
from shared.pagination import finish_page, paginate

# ts_rank weights for the document's D, C, B and A parts: long description, short
# description, tags and publisher, name.
RANK_WEIGHTS = "'{0.1, 0.2, 0.4, 1.0}'::float4[]"
# Added to the score of an exact name match, so it outranks any other match, because
# ts_rank without normalisation and word_similarity return at most 1.
EXACT_NAME_BONUS = 10.0

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


# Without words, facets read only these columns, which the facet index covers.
FACET_COLUMNS = (Listing.category, Listing.namespace, Listing.product_type, Listing.certified, Listing.is_free)

# Sort order: the columns of the keyset (the last one unique) and the direction.
SORT_COLUMNS: dict[Sort, tuple[tuple[str, str], bool]] = {
    Sort.RELEVANCE: (("score", "product_id"), True),
    Sort.NEWEST: (("published_at", "product_id"), True),
    Sort.PULLS: (("pull_count", "product_id"), True),
    Sort.PRICE_ASC: (("min_price", "product_id"), False),
    Sort.PRICE_DESC: (("min_price", "product_id"), True),
}


def _full_text_match(text: str) -> tuple[ColumnElement, ColumnElement]:
    """Return the full-text condition of a query and its relevance score."""
    tsquery = func.websearch_to_tsquery(literal_column("'english'::regconfig"), text)
    condition = Listing.document.op("@@")(tsquery)
    score = func.ts_rank(literal_column(RANK_WEIGHTS), Listing.document, tsquery)
    return condition, _with_exact_name_bonus(score, text)


def _similar_words_match(text: str) -> tuple[ColumnElement, ColumnElement]:
    """Return the trigram condition of a misspelt query and its relevance score."""
    lowered = text.lower()
    # `words %> q` is the index-supported form of word_similarity(q, words) above
    # pg_trgm.word_similarity_threshold (0.6 by default).
    # NOTE: trigrams miss swapped letters in short words ("ngnix" for "nginx"), because
    # such a swap changes most of a short word's trigrams.
    condition = Listing.words.op("%>")(lowered)
    score = func.word_similarity(lowered, Listing.words)
    return condition, _with_exact_name_bonus(score, text)


def _with_exact_name_bonus(score: ColumnElement, text: str) -> ColumnElement:
    bonus = case((func.lower(Listing.name) == text.lower(), EXACT_NAME_BONUS), else_=0.0)
    return cast(score + bonus, Float)


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


async def search_listings(session: AsyncSession, query: SearchQuery, *, facet_cache: FacetCache | None = None) -> SearchPage:
    """Return one page of matching listings with the facet counts of all matches.

    The page and the counts come from one statement. With words, the matches are
    collected once in a materialized CTE that both parts read, because ranking and
    counting must visit every match anyway.
    """
    conditions = _filters(query)
    text = (query.text or "").strip()
    if text:
        source = _text_matches(text, conditions)
    else:
        source = select(*SUMMARY_COLUMNS, literal(None, Float).label("score")).where(*conditions).subquery("matches")

    sort = query.sort or (Sort.RELEVANCE if text else Sort.NEWEST)
    if sort == Sort.RELEVANCE and not text:
        # Without words, relevance means popularity.
        sort = Sort.PULLS

    sort_names, descending = SORT_COLUMNS[sort]
    columns = [source.c[name] for name in sort_names]
    page = paginate(select(source), columns=columns, cursor=query.cursor, limit=query.limit, descending=descending)
    page = page.subquery("p")
    order = [page.c[name].desc() if descending else page.c[name].asc() for name in sort_names]
    items = func.coalesce(
        func.json_agg(aggregate_order_by(literal_column("p"), *order)), literal_column("'[]'::json")
    )
    parts = [select(items).select_from(page).scalar_subquery().label("items")]

    cache_key = (query.category, query.product_type, query.certified, query.pricing, query.publisher)
    cached = facet_cache.get(cache_key) if facet_cache is not None and not text else None
    if cached is None:
        # Counted over the matches without the cursor, so every page shows the same counts.
        counted = source if text else select(*FACET_COLUMNS).where(*conditions).subquery("counted")
        parts.append(facet_json(counted).label("facets"))

    row = (await session.execute(select(*parts))).one()
    rows = _json(row.items)
    if cached is None:
        facets, total = parse_facets(_json(row.facets))
        if facet_cache is not None and not text:
            facet_cache.put(cache_key, facets, total)
    else:
        facets, total = cached

    kept, next_cursor = finish_page(rows, limit=query.limit, key=lambda item: _cursor_values(item, sort_names))
    return SearchPage(items=[_summary(item) for item in kept], next_cursor=next_cursor, total=total, facets=facets)


def _text_matches(text: str, conditions: list[ColumnElement]):
    """Return a materialized CTE of the listings matching the words, with their scores.

    Typo tolerance is the fallback: the trigram match, which costs more and finds looser
    matches, runs only when the words themselves find nothing. The emptiness test is
    uncorrelated, so PostgreSQL evaluates it once and skips the trigram scan otherwise.
    """
    full_text, full_text_score = _full_text_match(text)
    exact = (
        select(*SUMMARY_COLUMNS, full_text_score.label("score"))
        .where(full_text, *conditions)
        .cte("word_matches")
        .prefix_with("MATERIALIZED")
    )
    similar, similar_score = _similar_words_match(text)
    fallback = select(*SUMMARY_COLUMNS, similar_score.label("score")).where(
        similar, *conditions, ~exists(select(literal(1)).select_from(exact))
    )
    return union_all(select(exact), fallback).cte("matches").prefix_with("MATERIALIZED")


def _json(value: Any) -> Any:
    # asyncpg returns json columns as text.
    return json.loads(value) if isinstance(value, str) else value


def _cursor_values(item: dict[str, Any], sort_names: tuple[str, str]) -> tuple:
    # The values come from JSON, so they are already in the cursor's plain form.
    return tuple(item[name] for name in sort_names)


def _summary(item: dict[str, Any]) -> ListingSummary:
    return ListingSummary(
        id=item["product_id"],
        logo_url=media_url(item["logo_media_id"]),
        **{key: value for key, value in item.items() if key not in ("product_id", "logo_media_id")},
    )
