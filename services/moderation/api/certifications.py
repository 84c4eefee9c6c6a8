"""Certification routes: a publisher's request, a reviewer's grant, withdrawal by staff."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.moderation import certification
from services.moderation.access import readable_organisations, require_publisher_editor, require_reader
from services.moderation.models import Certification, Listing
from services.moderation.schemas import CertificationOut, CertificationRequestIn, GrantIn, WithdrawIn
from services.moderation.session_context import now as current_time
from shared.auth import CurrentPrincipal, Principal, require_staff
from shared.db import SessionDep
from shared.errors import Conflict, NotFound, problem_responses
from shared.idempotency import idempotent
from shared.pagination import Page, check_limit, finish_page, paginate

router = APIRouter(prefix="/certifications", tags=["certification"])


@router.post(
    "",
    operation_id="moderation_request_certification",
    summary="Request a certification badge for a published product; refused with the unmet conditions",
    status_code=201,
    response_model=CertificationOut,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def request_certification(
    body: CertificationRequestIn, request: Request, session: SessionDep, principal: CurrentPrincipal
):
    listing = await session.get(Listing, body.product_id)
    if listing is None:
        raise NotFound(f"Published product {body.product_id} not found")
    require_publisher_editor(principal, listing.organisation_id, what="Published product", object_id=body.product_id)

    async def action():
        created = await certification.request(
            session,
            listing,
            badge=body.badge,
            joint_support_attested=body.joint_support_attested,
            tested_platforms=[platform.strip() for platform in body.tested_platforms if platform.strip()],
            requested_by=principal.user_id,
            now=current_time(session),
        )
        return CertificationOut.model_validate(created)

    return await idempotent(
        session, request, scope=f"moderation:{principal.user_id}", payload=body, action=action, status_code=201
    )


@router.get(
    "",
    operation_id="moderation_list_certifications",
    summary="List certification requests and badges, newest first",
    responses=problem_responses(400, 401, 404),
)
async def list_certifications(
    session: SessionDep,
    principal: CurrentPrincipal,
    state: Literal["requested", "granted", "withdrawn"] | None = None,
    organisation_id: uuid.UUID | None = None,
    product_id: uuid.UUID | None = None,
    cursor: str | None = None,
    limit: int | None = None,
) -> Page[CertificationOut]:
    limit = check_limit(limit)
    statement = select(Certification)

    organisations = readable_organisations(principal)
    if organisation_id is not None:
        if organisations is not None and organisation_id not in organisations:
            raise NotFound(f"Organisation {organisation_id} not found")
        statement = statement.where(Certification.organisation_id == organisation_id)
    elif organisations is not None:
        statement = statement.where(Certification.organisation_id.in_(organisations))
    if state is not None:
        statement = statement.where(Certification.state == state)
    if product_id is not None:
        statement = statement.where(Certification.product_id == product_id)

    statement = paginate(statement, columns=[Certification.requested_at, Certification.id], cursor=cursor, limit=limit)
    rows = list((await session.execute(statement)).scalars())
    kept, next_cursor = finish_page(rows, limit=limit, key=lambda row: (row.requested_at, row.id))
    return Page(items=[CertificationOut.model_validate(row) for row in kept], next_cursor=next_cursor)


async def _readable(session: AsyncSession, principal: Principal, certification_id: uuid.UUID) -> Certification:
    found = await certification.get_certification(session, certification_id)
    require_reader(principal, found.organisation_id, what="Certification", object_id=certification_id)
    return found


@router.get(
    "/{certification_id}",
    operation_id="moderation_get_certification",
    summary="Read a certification request or badge",
    responses=problem_responses(401, 404),
)
async def get_certification(
    certification_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> CertificationOut:
    return CertificationOut.model_validate(await _readable(session, principal, certification_id))


@router.post(
    "/{certification_id}/grant",
    operation_id="moderation_grant_certification",
    summary="Grant a requested certification with a note, after checking every condition again",
    response_model=CertificationOut,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def grant_certification(
    certification_id: uuid.UUID, body: GrantIn, request: Request, session: SessionDep, principal: CurrentPrincipal
):
    require_staff(principal, "reviewer")

    async def action():
        granted = await certification.grant(
            session, certification_id, reviewer_id=principal.user_id, note=body.note, now=current_time(session)
        )
        return CertificationOut.model_validate(granted)

    return await idempotent(session, request, scope=f"moderation:{principal.user_id}", payload=body, action=action)


@router.post(
    "/{certification_id}/withdraw",
    operation_id="moderation_withdraw_certification",
    summary="Withdraw a certification or a pending request, with a reason",
    response_model=CertificationOut,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def withdraw_certification(
    certification_id: uuid.UUID, body: WithdrawIn, request: Request, session: SessionDep, principal: CurrentPrincipal
):
    require_staff(principal, "reviewer")

    async def action():
        found = await certification.get_certification(session, certification_id, for_update=True)
        withdrawn = await certification.withdraw(
            session, found, reason=body.reason, now=current_time(session), withdrawn_by=principal.user_id
        )
        if not withdrawn:
            raise Conflict(f"Certification {certification_id} is {found.state}; there is nothing to withdraw")
        return CertificationOut.model_validate(found)

    return await idempotent(session, request, scope=f"moderation:{principal.user_id}", payload=body, action=action)
