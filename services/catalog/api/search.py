"""The store's search route."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Request

from services.catalog.manifest import CATEGORIES, CURRENCY
from services.catalog.search import SearchQuery, Sort, search_listings
from services.catalog.schemas import SearchPage
from shared.db import ReadSessionDep
from shared.errors import BadRequest, problem_responses
from shared.pagination import check_limit

router = APIRouter(tags=["search"])


@router.get(
    "/search",
    operation_id="catalog_search",
    summary="Search published listings, with facet counts and cursor pages",
    response_model=SearchPage,
    responses=problem_responses(400),
)
async def search(
    request: Request,
    session: ReadSessionDep,
    q: str | None = Query(default=None, max_length=200, description="Words to find; misspellings are tolerated"),
    category: str | None = Query(default=None, description="One of the store's categories"),
    product_type: Literal["image", "plugin"] | None = None,
    certified: bool | None = Query(default=None, description="true for certified listings only"),
    pricing: Literal["free", "paid"] | None = Query(default=None, description="free: has a free tier; paid: has none"),
    publisher: str | None = Query(default=None, max_length=64, description="The publisher's namespace"),
    currency: str | None = Query(
        default=None,
        description="ISO 4217 code, such as EUR: listings whose lowest price is in this currency. "
        "The price sorts order listings by currency first, because prices in different currencies are not compared",
    ),
    sort: Sort | None = Query(default=None, description="relevance (default with q), newest (default without), pulls, price_asc, price_desc"),
    cursor: str | None = None,
    limit: int | None = Query(default=None, description="Page size, 1 to 200; 20 when left out"),
) -> SearchPage:
    # PostgreSQL text cannot contain NUL, so such a value would fail in the database.
    for name, value in (("q", q), ("publisher", publisher)):
        if value is not None and "\x00" in value:
            raise BadRequest(f"Invalid {name} {value[:80]!r}: remove the NUL character it contains")
    if category is not None and category not in CATEGORIES:
        raise BadRequest(f"Unknown category {category!r}: use one of " + ", ".join(CATEGORIES))
    if currency is not None and CURRENCY.match(currency.upper()) and currency.isascii():
        # ISO 4217 codes are capitals, but "eur" can only mean EUR.
        currency = currency.upper()
    if currency is not None and not CURRENCY.match(currency):
        raise BadRequest(f"Invalid currency {currency!r}: use an ISO 4217 code of three capital letters, such as EUR")
    query = SearchQuery(
        text=q,
        category=category,
        product_type=product_type,
        certified=certified,
        pricing=pricing,
        publisher=publisher,
        currency=currency,
        sort=sort,
        cursor=cursor,
        limit=check_limit(limit) if limit is not None else 20,
    )
    return await search_listings(session, query, facet_cache=request.app.state.runtime.state["facet_cache"])
