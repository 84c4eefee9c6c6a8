"""Staff views: the versions waiting for review, and starting a review by hand."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Query
from sqlalchemy import select

from services.catalog.lifecycle import VERSION_TRANSITIONS, require_version_move
from services.catalog.models import Product, ProductVersion
from services.catalog.schemas import ReviewQueueItem
from shared.auth import CurrentPrincipal, require_staff
from shared.db import SessionDep
from shared.errors import NotFound, problem_responses
from shared.pagination import Page, check_limit, finish_page, paginate

router = APIRouter(tags=["staff"])

VERSION_STATES = sorted({target for _, target in VERSION_TRANSITIONS.values()} | {"draft"})


@router.get(
    "/staff/versions",
    operation_id="catalog_list_versions_by_state",
    summary="List versions in one state across all organisations, oldest submission first (staff)",
    response_model=Page[ReviewQueueItem],
    responses=problem_responses(401, 403),
)
async def list_versions_by_state(
    principal: CurrentPrincipal,
    session: SessionDep,
    state: str = Query(default="submitted", description="One of: " + ", ".join(VERSION_STATES)),
    cursor: str | None = None,
    limit: int | None = Query(default=None, description="Page size, 1 to 200"),
) -> Page[ReviewQueueItem]:
    require_staff(principal, "reviewer")
    limit = check_limit(limit)
    statement = (
        select(ProductVersion, Product)
        .join(Product, Product.id == ProductVersion.product_id)
        .where(ProductVersion.state == state)
    )
    statement = paginate(
        statement, columns=[ProductVersion.updated_at, ProductVersion.id], cursor=cursor, limit=limit, descending=False
    )
    rows = list((await session.execute(statement)).all())
    kept, next_cursor = finish_page(rows, limit=limit, key=lambda row: (row.ProductVersion.updated_at, row.ProductVersion.id))
    return Page(
        items=[
            ReviewQueueItem(
                version_id=row.ProductVersion.id,
                product_id=row.Product.id,
                organisation_id=row.Product.organisation_id,
                namespace=row.Product.namespace,
                name=row.Product.name,
                version=row.ProductVersion.version,
                state=row.ProductVersion.state,
                submitted_at=row.ProductVersion.submitted_at,
            )
            for row in kept
        ],
        next_cursor=next_cursor,
    )


@router.post(
    "/staff/versions/{version_id}/start-review",
    operation_id="catalog_start_review",
    summary="Move a submitted version into review (staff)",
    response_model=ReviewQueueItem,
    responses=problem_responses(401, 403, 404, 409),
)
async def start_review(version_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep) -> ReviewQueueItem:
    require_staff(principal, "reviewer")
    version = await session.get(ProductVersion, version_id)
    if version is None:
        raise NotFound(f"Version {version_id} not found")
    await require_version_move(session, version, "start_review")
    await session.refresh(version)
    product = await session.get(Product, version.product_id)
    return ReviewQueueItem(
        version_id=version.id,
        product_id=product.id,
        organisation_id=product.organisation_id,
        namespace=product.namespace,
        name=product.name,
        version=version.version,
        state=version.state,
        submitted_at=version.submitted_at,
    )
