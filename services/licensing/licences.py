"""Licence acceptance: a customer accepts a product's licence at a version before pulling.

An acceptance names the licence link and version the customer saw; when the product's
licence version changes, pulls of licence-gated tiers need a new acceptance.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import structlog
from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from shared.auth import CurrentPrincipal
from shared.db import SessionDep
from shared.errors import Conflict, InvalidValue, NotFound, problem_responses
from shared.events import emit
from shared.events.schemas import LicenceAccepted
from shared.pagination import Page, check_limit, finish_page, paginate
from services.licensing.models import LicenceAcceptance, Product, Tier
from services.licensing.policy import ListingStatus, listing_status

log = structlog.get_logger()

router = APIRouter(tags=["licences"])


class AcceptLicence(BaseModel):
    licence_version: str = Field(min_length=1, max_length=100, description="The version the customer read")
    tier_id: uuid.UUID | None = None


class LicenceAcceptanceRead(BaseModel):
    acceptance_id: uuid.UUID
    product_id: uuid.UUID
    tier_id: uuid.UUID | None
    licence_url: str
    licence_version: str
    accepted_at: datetime


@router.post(
    "/products/{product_id}/licence-acceptances",
    operation_id="licensing_accept_licence",
    summary="Accept the product's current licence",
    status_code=201,
    response_model=LicenceAcceptanceRead,
    responses={200: {"description": "Already accepted"}, **problem_responses(401, 404, 409, 422)},
)
async def accept_licence(
    product_id: uuid.UUID,
    body: AcceptLicence,
    principal: CurrentPrincipal,
    session: SessionDep,
    response: Response,
) -> LicenceAcceptanceRead:
    runtime = session.info["runtime"]
    product = await session.get(Product, product_id)
    if product is None:
        raise NotFound(f"Product {product_id} not found")
    if await listing_status(session, product_id) == ListingStatus.REVOKED:
        raise Conflict(f"Product {product_id} was revoked; its licence can no longer be accepted")
    if not product.licence_url or not product.licence_version:
        raise InvalidValue(f"Product {product_id} has no licence to accept")
    if body.licence_version != product.licence_version:
        raise Conflict(
            f"Licence version {body.licence_version!r} is not the current one; read and accept "
            f"version {product.licence_version!r} at {product.licence_url}",
            current_version=product.licence_version,
        )
    if body.tier_id is not None:
        tier = await session.get(Tier, body.tier_id)
        if tier is None or tier.product_id != product_id:
            raise NotFound(f"Tier {body.tier_id} of product {product_id} not found")

    existing = await session.scalar(
        select(LicenceAcceptance).where(
            LicenceAcceptance.user_id == principal.user_id,
            LicenceAcceptance.product_id == product_id,
            LicenceAcceptance.licence_version == product.licence_version,
        )
    )
    if existing is not None:
        response.status_code = 200
        return LicenceAcceptanceRead.model_validate(existing, from_attributes=True)

    acceptance = LicenceAcceptance(
        acceptance_id=uuid.uuid4(),
        user_id=principal.user_id,
        product_id=product_id,
        tier_id=body.tier_id,
        licence_url=product.licence_url,
        licence_version=product.licence_version,
        accepted_at=runtime.clock.now(),
    )
    session.add(acceptance)
    await session.flush()

    await emit(
        session,
        "licensing.licence.accepted",
        subject=str(product_id),
        data=LicenceAccepted(
            user_id=principal.user_id,
            product_id=product_id,
            tier_id=body.tier_id,
            licence_url=product.licence_url,
            licence_version=product.licence_version,
        ),
    )
    log.info(
        "licensing.licence.accepted",
        product_id=str(product_id),
        user_id=str(principal.user_id),
        licence_version=product.licence_version,
    )
    return LicenceAcceptanceRead.model_validate(acceptance, from_attributes=True)


@router.get(
    "/licence-acceptances",
    operation_id="licensing_list_licence_acceptances",
    summary="List the licences the signed-in customer accepted",
    response_model=Page[LicenceAcceptanceRead],
    responses=problem_responses(400, 401),
)
async def list_licence_acceptances(
    principal: CurrentPrincipal,
    session: SessionDep,
    cursor: str | None = None,
    limit: Annotated[int | None, Query(description="Page size, 1 to 200")] = None,
) -> Page[LicenceAcceptanceRead]:
    limit = check_limit(limit)
    statement = paginate(
        select(LicenceAcceptance).where(LicenceAcceptance.user_id == principal.user_id),
        columns=[LicenceAcceptance.accepted_at, LicenceAcceptance.acceptance_id],
        cursor=cursor,
        limit=limit,
    )
    rows = list((await session.scalars(statement)).all())
    kept, next_cursor = finish_page(rows, limit=limit, key=lambda a: (a.accepted_at, a.acceptance_id))
    return Page(
        items=[LicenceAcceptanceRead.model_validate(row, from_attributes=True) for row in kept],
        next_cursor=next_cursor,
    )
