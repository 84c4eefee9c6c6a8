"""Facet counts of a search: how many matching listings have each category, type, price and publisher."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog

from services.catalog.schemas import FacetValue

log = structlog.get_logger()

FACETS = ("category", "product_type", "certified", "pricing", "currency", "publisher")

Facets = dict[str, list[FacetValue]]

# The facets counted from the groups of a search, each with the value its row contains
# and the search parameter that filters it.
GROUPED_FACETS = {
    "category": ("category", "category"),
    "product_type": ("product_type", "product_type"),
    "certified": ("certified", "certified"),
    "pricing": ("is_free", "is_free"),
    "currency": ("currency", "currency"),
}


def parse_facets(counts: dict[str, Any], filters: dict[str, Any]) -> tuple[Facets, int, int]:
    """Derive the facet lists, most frequent first, from the counts of a search statement.

    `counts["groups"]` counts the matches of the publisher filter per combination of
    category, product type, certification, pricing and currency. Each facet value counts the
    groups with that value that pass every other filter, so choosing a value leaves the
    counts of the other values of its facet in view. `counts["publishers"]` is already
    filtered that way.

    Returns the facets, the number of matches that pass every filter, and the number of
    matches of the publisher filter alone.
    """
    tallies: dict[str, dict[str, int]] = {name: {} for name in GROUPED_FACETS}
    total = matched = 0
    active = [
        (name, column, filters[parameter])
        for name, (column, parameter) in GROUPED_FACETS.items()
        if filters.get(parameter) is not None
    ]
    for group in counts.get("groups") or []:
        count = group["count"]
        matched += count
        failed = [name for name, column, value in active if group[column] != value]
        if not failed:
            total += count
        # A group counts towards a facet's values when it passes every other filter:
        # towards every facet when it fails none, towards one facet when it fails only
        # that facet's filter, and towards none when it fails two.
        for name, (column, _) in GROUPED_FACETS.items():
            if not failed or failed == [name]:
                value = _facet_value(name, group[column])
                tallies[name][value] = tallies[name].get(value, 0) + count

    facets: Facets = {name: [] for name in FACETS}
    for name, values in tallies.items():
        facets[name] = [FacetValue(value=value, count=count) for value, count in values.items()]
    for row in counts.get("publishers") or []:
        facets["publisher"].append(FacetValue(value=row["namespace"], count=row["count"]))

    for values in facets.values():
        values.sort(key=lambda facet: (-facet.count, facet.value))
    return facets, total, matched


def _facet_value(name: str, value: Any) -> str:
    if name == "certified":
        return "true" if value else "false"
    if name == "pricing":
        return "free" if value else "paid"
    return value


@dataclass(frozen=True)
class CachedFacets:
    facets: Facets
    total: int
    stale: bool


class FacetCache:
    """Facet counts of queries without words, recounted in the background after `ttl` seconds.

    Browsing without words counts every visible listing, the one facet query whose cost
    grows with the whole catalog, and its counts change only when listings change. Only
    the first request for a combination of filters waits for the count. A request that
    finds counts older than `ttl` gets them at once and starts one recount in the
    background.
    NOTE: so the counts and `total` of a browse query may be a little more than `ttl`
    seconds old.
    """

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[tuple, tuple[float, Facets, int]] = {}
        self._recounting: set[tuple] = set()
        self._tasks: set[asyncio.Task] = set()

    def get(self, key: tuple) -> CachedFacets | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        counted_at, facets, total = entry
        return CachedFacets(facets, total, stale=time.monotonic() - counted_at > self.ttl)

    def put(self, key: tuple, facets: Facets, total: int) -> None:
        if self.ttl <= 0:
            return
        # Keys are filter combinations; clearing bounds memory if callers vary them widely.
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[key] = (time.monotonic(), facets, total)

    def recount(self, key: tuple, count: Callable[[], Awaitable[tuple[Facets, int]]]) -> None:
        """Start `count` in the background and keep its result, unless a recount of `key` is running."""
        if key in self._recounting:
            return
        self._recounting.add(key)
        task = asyncio.get_running_loop().create_task(self._recount(key, count))
        # The loop keeps only weak references to tasks, so the cache holds them until done.
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _recount(self, key: tuple, count: Callable[[], Awaitable[tuple[Facets, int]]]) -> None:
        try:
            facets, total = await count()
            self.put(key, facets, total)
        except Exception:
            # The old counts stay in use; the next request after `ttl` tries again.
            log.warning("catalog.facets.recount_failed", key=key, exc_info=True)
        finally:
            self._recounting.discard(key)
