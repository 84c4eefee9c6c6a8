"""Facet counts of a search: how many matching listings have each category, type, price and publisher."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import String, case, func, literal, literal_column, select, tuple_, union_all
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import FromClause

from services.catalog.schemas import FacetValue

FACETS = ("category", "product_type", "certified", "pricing", "publisher")
# Publishers are the one facet with an open number of values, so only the most frequent are kept.
MAX_PUBLISHER_VALUES = 20

Facets = dict[str, list[FacetValue]]


def facet_json(source: FromClause) -> ColumnElement:
    """Return a scalar subquery with the facet counts of `source` as one JSON array.

    One grouped query counts the facets with few values. Each grouping set yields the
    rows of one facet, with the other facet columns null. The publisher facet is counted
    apart, so only its most frequent values leave the database.
    """
    pricing = case((source.c.is_free, "free"), else_="paid")
    certified = case((source.c.certified, "true"), else_="false")
    count = func.count().label("count")
    grouped = select(
        source.c.category,
        source.c.product_type,
        certified.label("certified"),
        pricing.label("pricing"),
        literal(None, String).label("publisher"),
        count,
    ).group_by(
        func.grouping_sets(
            tuple_(source.c.category),
            tuple_(source.c.product_type),
            tuple_(certified),
            tuple_(pricing),
        )
    )
    publishers = (
        select(
            literal(None, String).label("category"),
            literal(None, String).label("product_type"),
            literal(None, String).label("certified"),
            literal(None, String).label("pricing"),
            source.c.namespace.label("publisher"),
            count,
        )
        .group_by(source.c.namespace)
        .order_by(count.desc(), source.c.namespace)
        .limit(MAX_PUBLISHER_VALUES)
    )
    rows = union_all(grouped, publishers.subquery("top_publishers").select()).subquery("f")
    aggregated = func.coalesce(func.json_agg(literal_column("f")), literal_column("'[]'::json"))
    return select(aggregated).select_from(rows).scalar_subquery()


def parse_facets(rows: list[dict[str, Any]]) -> tuple[Facets, int]:
    """Turn the grouped rows into facet lists, most frequent first, and return them with the total."""
    facets: Facets = {name: [] for name in FACETS}
    total = 0
    for row in rows:
        name = next(name for name in FACETS if row.get(name) is not None)
        facets[name].append(FacetValue(value=str(row[name]), count=row["count"]))
        if name == "category":
            total += row["count"]

    for values in facets.values():
        values.sort(key=lambda facet: (-facet.count, facet.value))
    return facets, total


class FacetCache:
    """Facet counts of queries without words, kept for `ttl` seconds.

    Browsing without words counts every visible listing, the one facet query whose cost
    grows with the whole catalog, and its counts change only when listings change.
    NOTE: so the counts and `total` of a browse query may be up to `ttl` seconds old.
    """

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[tuple, tuple[float, Facets, int]] = {}

    def get(self, key: tuple) -> tuple[Facets, int] | None:
        entry = self._entries.get(key)
        if entry is None or time.monotonic() - entry[0] > self.ttl:
            return None
        return entry[1], entry[2]

    def put(self, key: tuple, facets: Facets, total: int) -> None:
        if self.ttl <= 0:
            return
        # Keys are filter combinations; clearing bounds memory if callers vary them widely.
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[key] = (time.monotonic(), facets, total)
