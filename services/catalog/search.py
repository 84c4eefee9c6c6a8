"""Store search: weighted full-text ranking, typo correction, disjunctive facets and keyset pages.

Only the `listings` table is searched. It contains published and held listings only, so
drafts and versions under review never appear in results.

The statements are written in SQL and built once per shape (words or none, sort order,
facets or not). Building them per request with the expression language took longer
than PostgreSQL took to run them. Every filter is a parameter that may be null. Each
statement is planned for its own values (the database sets plan_cache_mode to
force_custom_plan), so PostgreSQL folds away the filters that are null and can use an
index for the others.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Any

from sqlalchemy import Float, literal_column, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.sql.elements import ColumnElement, TextClause

from services.catalog.facets import FacetCache, Facets, parse_facets
from services.catalog.listing import media_url
from services.catalog.models import Listing
from services.catalog.schemas import ListingSummary, SearchPage
from shared.pagination import decode_cursor, finish_page

# ts_rank weights for the document's D, C, B and A parts: long description, short
# description, tags and publisher, name.
RANK_WEIGHTS = "'{0.1, 0.2, 0.4, 1.0}'::float4[]"
# Added to the score of an exact name match, so it outranks any other match, because
# ts_rank without normalisation returns at most 1.
EXACT_NAME_BONUS = 10.0

SUMMARY_COLUMNS = (
    "product_id", "namespace", "slug", "name", "short_description", "category", "product_type", "tags",
    "logo_media_id", "publisher_name", "certified", "held", "is_free", "min_price", "currency", "pull_count",
    "version", "published_at",
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
    currency: str | None = None  # the ISO 4217 code of a listing's lowest price
    sort: Sort | None = None
    cursor: str | None = None
    limit: int = 20


@dataclass(frozen=True)
class SortOrder:
    column: str  # the sort key; product_id follows it and makes the order unique
    sql_type: str
    key: ColumnElement  # the key's column, which types the values of a cursor
    descending: bool = True
    # A column that orders the rows before the key, so keys are compared only within it.
    group: str | None = None

    @property
    def columns(self) -> list[str]:
        """Return the columns of the order, each a value of the cursor, product_id last."""
        return [*([self.group] if self.group else []), self.column, "product_id"]

    def order_by(self, table: str = "") -> str:
        direction = "DESC" if self.descending else "ASC"
        prefix = f"{table}." if table else ""
        return ", ".join(f"{prefix}{column} {direction}" for column in self.columns)

    @property
    def after_cursor(self) -> str:
        # An index on the columns of the order serves this row comparison directly.
        beyond = "<" if self.descending else ">"
        values = [*([f"CAST(:after_group AS text)"] if self.group else []), ":after_key", "CAST(:after_id AS uuid)"]
        return (
            f"(CAST(:after_key AS {self.sql_type}) IS NULL"
            f" OR ({', '.join(self.columns)}) {beyond} ({', '.join(values)}))"
        )


# Prices in different currencies cannot be compared without exchange rates, so the price
# sorts order by currency first (the currency of each listing's lowest price) and by price
# within it. The `currency` filter keeps one currency.
SORT_ORDERS = {
    Sort.RELEVANCE: SortOrder("score", "float8", literal_column("score", Float)),
    Sort.NEWEST: SortOrder("published_at", "timestamptz", Listing.published_at),
    Sort.PULLS: SortOrder("pull_count", "bigint", Listing.pull_count),
    Sort.PRICE_ASC: SortOrder("min_price", "bigint", Listing.min_price, descending=False, group="currency"),
    Sort.PRICE_DESC: SortOrder("min_price", "bigint", Listing.min_price, group="currency"),
}

# One condition per facet; each is true when its parameter is null.
FILTERS = {
    "category": "(CAST(:category AS text) IS NULL OR category = :category)",
    "product_type": "(CAST(:product_type AS text) IS NULL OR product_type = :product_type)",
    "certified": "(CAST(:certified AS boolean) IS NULL OR certified = :certified)",
    "pricing": "(CAST(:is_free AS boolean) IS NULL OR is_free = :is_free)",
    "publisher": "(CAST(:publisher AS text) IS NULL OR namespace = :publisher)",
    "currency": "(CAST(:currency AS text) IS NULL OR currency = :currency)",
}
# Publishers are the one facet with an open number of values, so only the most frequent are kept.
MAX_PUBLISHER_VALUES = 20


def _filters(*, but: str | None = None) -> str:
    return " AND ".join(condition for name, condition in FILTERS.items() if name != but)


def _facets_sql(source: str) -> str:
    """Return a subquery with the counts that the facets of `source` are computed from, as JSON.

    One grouping by the five facets with few values yields at most a few hundred rows,
    from which `parse_facets` derives every count, each with every filter but its own.
    That is cheaper than counting each facet apart. The groups already pass the
    publisher filter. The publisher facet is counted apart, with every filter but its
    own, so only its most frequent values leave the database.
    """
    return f"""json_build_object(
        'groups', {_groups_sql(source, f"WHERE {FILTERS['publisher']}")},
        'publishers', {_publishers_sql(source, f"WHERE {_filters(but='publisher')}")}
    )"""


def _groups_sql(source: str, where: str = "") -> str:
    return f"""(
        SELECT json_agg(g) FROM (
            SELECT category, product_type, certified, is_free, currency, count(*) AS count
            FROM {source} {where}
            GROUP BY category, product_type, certified, is_free, currency
        ) AS g
    )"""


def _publishers_sql(source: str, where: str = "") -> str:
    return f"""(
        SELECT json_agg(t) FROM (
            SELECT namespace, count(*) AS count
            FROM {source} {where}
            GROUP BY namespace
            ORDER BY count(*) DESC, namespace
            LIMIT {MAX_PUBLISHER_VALUES}
        ) AS t
    )"""


QUERY = "websearch_to_tsquery('english', :words)"
# True when the query is one term, which is then the one lexeme of the query. Both fold
# to constants when the statement is planned, like the filters.
ONE_TERM = f"numnode({QUERY}) = 1"
THE_TERM = f"(tsvector_to_array(CAST(CAST({QUERY} AS text) AS tsvector)))[1]"
NO_FILTERS = " AND ".join(f"CAST(:{name} AS {kind}) IS NULL" for name, kind in (
    ("category", "text"), ("product_type", "text"), ("certified", "boolean"), ("is_free", "boolean"),
    ("currency", "text"),
))
NO_PUBLISHER = "CAST(:publisher AS text) IS NULL"


def _word_facets_sql() -> str:
    """Return the facet counts of a search with words, from the cheapest source that contains them.

    `filtered` contains the ranked matches that pass the filters, so counts over those
    matches are grouped from it. The counts of a one-term query are kept per term by triggers
    (tables `term_facets` and `term_publishers`), so they cost a lookup. Other counts
    come from the matches again, where a filter lets PostgreSQL combine the word index
    with the index of the filter.
    """
    term_groups = f"""(
        SELECT json_agg(g) FROM (
            SELECT category, product_type, certified, is_free, currency, listings AS count
            FROM term_facets WHERE term = {THE_TERM}
        ) AS g
    )"""
    term_publishers = f"""(
        SELECT json_agg(t) FROM (
            SELECT namespace, listings AS count
            FROM term_publishers WHERE term = {THE_TERM}
            ORDER BY listings DESC, namespace
            LIMIT {MAX_PUBLISHER_VALUES}
        ) AS t
    )"""
    matches = f"listings WHERE document @@ {QUERY}"
    return f"""json_build_object(
        'groups', CASE
            WHEN {ONE_TERM} AND {NO_PUBLISHER} THEN {term_groups}
            WHEN {NO_FILTERS} AND {NO_PUBLISHER} THEN {_groups_sql("filtered")}
            ELSE {_groups_sql(matches, f"AND {FILTERS['publisher']}")}
        END,
        'publishers', CASE
            WHEN {ONE_TERM} AND {NO_FILTERS} THEN {term_publishers}
            WHEN {NO_PUBLISHER} THEN {_publishers_sql("filtered")}
            ELSE {_publishers_sql(matches, f"AND {_filters(but='publisher')}")}
        END
    )"""


def _page_json(order: SortOrder) -> str:
    """Aggregate the rows of subquery `p` into one JSON array, in the page's order."""
    return f"coalesce(json_agg(p ORDER BY {order.order_by('p')}), '[]'::json)"


@cache
def _word_statement(sort: Sort, page_only: bool = False) -> TextClause:
    """Return the statement for a search with words: a page of matches and the facets of all matches.

    The matches that pass the filters are ranked once, in a materialized CTE that the
    page and the publisher counts both read. PostgreSQL finds them by combining the word
    index with the index of a filter where that is cheaper than reading every match.
    Only the rows of the page are then read in full.

    `page_only` is for a search of one word without filters, whose counts all come from
    the per-term tables, so that only the page reads the CTE. Then the CTE is not
    materialized: PostgreSQL keeps the best matches as it ranks them instead of copying
    every match first, about a fifth faster for a word of 5,000 matches. The statement
    stays correct if the word turns out not to be one term, but it ranks the matches again
    for each count.
    """
    order = SORT_ORDERS[sort]
    summary = ", ".join(f"l.{column}" for column in SUMMARY_COLUMNS)
    materialized = "NOT MATERIALIZED" if page_only else "MATERIALIZED"
    return text(f"""
        WITH filtered AS {materialized} (
            SELECT product_id, category, namespace, product_type, certified, is_free, currency,
                   published_at, pull_count, min_price,
                   ts_rank({RANK_WEIGHTS}, document, {QUERY})::float8
                   + CASE WHEN lower(name) = :lowered THEN {EXACT_NAME_BONUS} ELSE 0.0 END AS score
            FROM listings
            WHERE document @@ {QUERY} AND {_filters()}
        ),
        page AS (
            SELECT product_id, score FROM filtered
            WHERE {order.after_cursor}
            ORDER BY {order.order_by()}
            LIMIT :limit
        )
        SELECT
            (SELECT {_page_json(order)}
             FROM (SELECT {summary}, page.score FROM page JOIN listings AS l USING (product_id)) AS p) AS items,
            {_word_facets_sql()} AS facets
    """)


@cache
def _browse_statement(sort: Sort, with_facets: bool) -> TextClause:
    """Return the statement for a search without words: a page of listings, and the facets when requested."""
    order = SORT_ORDERS[sort]
    summary = ", ".join(SUMMARY_COLUMNS)
    facets = f", {_facets_sql('listings')} AS facets" if with_facets else ""
    return text(f"""
        SELECT
            (SELECT {_page_json(order)}
             FROM (
                SELECT {summary}, CAST(NULL AS float8) AS score FROM listings
                WHERE {_filters()} AND {order.after_cursor}
                ORDER BY {order.order_by()}
                LIMIT :limit
             ) AS p) AS items
            {facets}
    """)


BROWSE_FACETS = text(f"SELECT {_facets_sql('listings')} AS facets")
FILTER_PARAMETERS = ("category", "product_type", "certified", "is_free", "publisher", "currency")

# Suggests the closest known term for each word of a query that is not itself a term.
# Closest means the fewest edits, then the most trigrams in common, then the most listings.
# An edit is an insertion, a deletion, a substitution or a swap of two neighbouring
# letters: levenshtein counts a swap as two edits, so swaps are compared apart. Words of
# up to four letters allow one edit and longer words two; words shorter than three
# letters are never corrected.
CORRECT_WORDS = text("""
    SELECT q.word,
           CASE
               WHEN length(q.word) < 3 OR EXISTS (SELECT 1 FROM search_terms AS t WHERE t.term = q.word)
                   THEN q.word
               ELSE (
                   SELECT t.term
                   FROM search_terms AS t,
                        LATERAL (SELECT least(
                            levenshtein_less_equal(t.term, q.word, q.edits),
                            CASE WHEN t.term = ANY (q.swaps) THEN 1 ELSE q.edits + 1 END
                        ) AS edits) AS d
                   WHERE length(t.term) BETWEEN length(q.word) - q.edits AND length(q.word) + q.edits
                     AND d.edits <= q.edits
                   ORDER BY d.edits, similarity(t.term, q.word) DESC, t.listings DESC, t.term
                   LIMIT 1
               )
           END AS term
    FROM (
        SELECT word,
               CASE WHEN length(word) <= 4 THEN 1 ELSE 2 END AS edits,
               ARRAY(
                   SELECT overlay(word PLACING substr(word, i + 1, 1) || substr(word, i, 1) FROM i FOR 2)
                   FROM generate_series(1, length(word) - 1) AS i
               ) AS swaps
        FROM unnest(CAST(:words AS text[])) AS word
    ) AS q
""")

# How search_terms_of() in the database splits a listing's words, so a query's words
# are compared in the same form.
WORD = re.compile(r"[^\W_]+")


async def search_listings(session: AsyncSession, query: SearchQuery, *, facet_cache: FacetCache | None = None) -> SearchPage:
    """Return one page of matching listings with the facet counts of all matches.

    With words, typo tolerance is the fallback: when the words match no listing at all,
    each word that is not a known term is replaced by its closest term, and the corrected
    words are searched instead (the page says so in `corrected_query`).
    """
    words = (query.text or "").strip()
    sort = query.sort or (Sort.RELEVANCE if words else Sort.NEWEST)
    if sort == Sort.RELEVANCE and not words:
        # Without words, relevance means popularity.
        sort = Sort.PULLS
    parameters = _parameters(query, SORT_ORDERS[sort])

    if not words:
        return await _browse(session, query, sort, parameters, facet_cache)

    page, matched = await _search_words(session, query, sort, words, parameters)
    if matched == 0:
        corrected = await _corrected(session, words)
        if corrected != words:
            page, _ = await _search_words(session, query, sort, corrected, parameters)
            page.corrected_query = corrected
    return page


async def _search_words(
    session: AsyncSession, query: SearchQuery, sort: Sort, words: str, parameters: dict[str, Any]
) -> tuple[SearchPage, int]:
    """Return the page of a search with words and how many listings the words match unfiltered."""
    unfiltered = all(parameters[name] is None for name in FILTER_PARAMETERS)
    statement = _word_statement(sort, page_only=unfiltered and WORD.fullmatch(words) is not None)
    row = (await session.execute(statement, {**parameters, "words": words, "lowered": words.lower()})).one()
    facets, total, matched = parse_facets(_json(row.facets), parameters)
    return _page(query, sort, _json(row.items), facets, total), matched


async def _browse(
    session: AsyncSession, query: SearchQuery, sort: Sort, parameters: dict[str, Any], facet_cache: FacetCache | None
) -> SearchPage:
    # Counting facets without words visits every visible listing, so the counts are cached.
    cache_key = (query.category, query.product_type, query.certified, query.pricing, query.publisher, query.currency)
    cached = facet_cache.get(cache_key) if facet_cache is not None else None

    row = (await session.execute(_browse_statement(sort, cached is None), parameters)).one()
    if cached is None:
        facets, total, _ = parse_facets(_json(row.facets), parameters)
        if facet_cache is not None:
            facet_cache.put(cache_key, facets, total)
    else:
        facets, total = cached.facets, cached.total
        if cached.stale:
            engine = session.bind
            filters = {name: parameters[name] for name in FILTER_PARAMETERS}
            facet_cache.recount(cache_key, lambda: _count_browse_facets(engine, filters))
    return _page(query, sort, _json(row.items), facets, total)


async def _count_browse_facets(engine: AsyncEngine, filters: dict[str, Any]) -> tuple[Facets, int]:
    # A session of its own, because the request's session ends before the count does.
    async with AsyncSession(engine) as session:
        row = (await session.execute(BROWSE_FACETS, filters)).one()
    facets, total, _ = parse_facets(_json(row.facets), filters)
    return facets, total


async def _corrected(session: AsyncSession, words: str) -> str:
    """Return `words` with each unknown word replaced by its closest known term."""
    found = [match.group(0) for match in WORD.finditer(words.lower())]
    if not found:
        return words
    rows = (await session.execute(CORRECT_WORDS, {"words": found})).all()
    replacements = {row.word: row.term for row in rows if row.term and row.term != row.word}
    if not replacements:
        return words
    # Replace in place, so the rest of the query (quotes, "or", a leading minus) stays as typed.
    return WORD.sub(lambda match: replacements.get(match.group(0).lower(), match.group(0)), words)


def _parameters(query: SearchQuery, order: SortOrder) -> dict[str, Any]:
    after_group = after_key = after_id = None
    if query.cursor:
        # No column of an order is nullable, so a cursor holding a null is rejected here.
        if order.group:
            after_group, after_key, after_id = decode_cursor(
                query.cursor, [Listing.__table__.c[order.group], order.key, Listing.product_id]
            )
        else:
            after_key, after_id = decode_cursor(query.cursor, [order.key, Listing.product_id])
    return {
        "category": query.category,
        "product_type": query.product_type,
        "certified": query.certified,
        "is_free": {"free": True, "paid": False}.get(query.pricing or ""),
        "publisher": query.publisher,
        "currency": query.currency,
        "after_group": after_group,
        "after_key": after_key,
        "after_id": after_id,
        "limit": query.limit + 1,
    }


def _page(query: SearchQuery, sort: Sort, rows: list[dict[str, Any]], facets: Facets, total: int) -> SearchPage:
    order = SORT_ORDERS[sort]
    kept, next_cursor = finish_page(rows, limit=query.limit, key=lambda item: _cursor_values(item, order))
    return SearchPage(items=[_summary(item) for item in kept], next_cursor=next_cursor, total=total, facets=facets)


def _json(value: Any) -> Any:
    # asyncpg returns json columns as text.
    return json.loads(value) if isinstance(value, str) else value


def _cursor_values(item: dict[str, Any], order: SortOrder) -> tuple:
    # The values come from JSON, so they are already in the cursor's plain form, except
    # that a whole-number score arrives as an int and the cursor expects a float.
    key = float(item[order.column]) if order.column == "score" else item[order.column]
    group = (item[order.group],) if order.group else ()
    return *group, key, item["product_id"]


def _summary(item: dict[str, Any]) -> ListingSummary:
    return ListingSummary(
        id=item["product_id"],
        logo_url=media_url(item["logo_media_id"]),
        **{key: value for key, value in item.items() if key not in ("product_id", "logo_media_id")},
    )
