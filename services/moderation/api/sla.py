"""SLA routes: open cases with their deadlines, staff waivers and classes, an image's findings."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter, Request
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.moderation import findings, sla
from services.moderation.access import readable_organisations, require_reader
from services.moderation.models import ACTIVE_SLA_STATES, Finding, ReviewCase, Scan, SlaCase
from services.moderation.schemas import (
    ClassificationIn,
    FindingOut,
    SlaCaseOut,
    SlaState,
    SlaWaiverIn,
    WaiverOut,
)
from services.moderation.session_context import now as current_time
from shared.auth import CurrentPrincipal, Principal, require_staff
from shared.db import SessionDep
from shared.errors import InvalidValue, NotFound, problem_responses
from shared.idempotency import idempotent
from shared.pagination import Page, check_limit, finish_page, paginate

router = APIRouter(tags=["vulnerability-fix SLA"])


def _case_out(case: SlaCase, now) -> SlaCaseOut:
    out = SlaCaseOut.model_validate(case)
    if case.state in ACTIVE_SLA_STATES:
        out.time_left_seconds = int((case.deadline - now).total_seconds())
    return out


@router.get(
    "/sla-cases",
    operation_id="moderation_list_sla_cases",
    summary="List SLA cases with deadline and time left; by default the open and breached ones",
    responses=problem_responses(400, 401, 404),
)
async def list_sla_cases(
    session: SessionDep,
    principal: CurrentPrincipal,
    state: SlaState | Literal["active"] = "active",
    organisation_id: uuid.UUID | None = None,
    product_id: uuid.UUID | None = None,
    cursor: str | None = None,
    limit: int | None = None,
) -> Page[SlaCaseOut]:
    limit = check_limit(limit)
    statement = select(SlaCase)

    organisations = readable_organisations(principal)
    if organisation_id is not None:
        if organisations is not None and organisation_id not in organisations:
            raise NotFound(f"Organisation {organisation_id} not found")
        statement = statement.where(SlaCase.organisation_id == organisation_id)
    elif organisations is not None:
        statement = statement.where(SlaCase.organisation_id.in_(organisations))

    if state == "active":
        statement = statement.where(SlaCase.state.in_(ACTIVE_SLA_STATES))
    else:
        statement = statement.where(SlaCase.state == state)
    if product_id is not None:
        statement = statement.where(SlaCase.product_id == product_id)

    # The nearest deadline first.
    statement = paginate(statement, columns=[SlaCase.deadline, SlaCase.id], cursor=cursor, limit=limit, descending=False)
    rows = list((await session.execute(statement)).scalars())
    kept, next_cursor = finish_page(rows, limit=limit, key=lambda case: (case.deadline, case.id))
    now = current_time(session)
    return Page(items=[_case_out(case, now) for case in kept], next_cursor=next_cursor)


async def _readable_sla_case(session: AsyncSession, principal: Principal, sla_case_id: uuid.UUID) -> SlaCase:
    case = await session.get(SlaCase, sla_case_id)
    if case is None:
        raise NotFound(f"SLA case {sla_case_id} not found")
    require_reader(principal, case.organisation_id, what="SLA case", object_id=sla_case_id)
    return case


@router.get(
    "/sla-cases/{sla_case_id}",
    operation_id="moderation_get_sla_case",
    summary="Read an SLA case with its deadline and time left",
    responses=problem_responses(401, 404),
)
async def get_sla_case(sla_case_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal) -> SlaCaseOut:
    case = await _readable_sla_case(session, principal, sla_case_id)
    return _case_out(case, current_time(session))


@router.post(
    "/sla-cases/{sla_case_id}/waiver",
    operation_id="moderation_waive_sla_finding",
    summary="Waive the case's finding on its image; closes the case and lifts a hold it caused",
    status_code=201,
    response_model=WaiverOut,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def waive_sla_finding(
    sla_case_id: uuid.UUID, body: SlaWaiverIn, request: Request, session: SessionDep, principal: CurrentPrincipal
):
    require_staff(principal, "security", "reviewer")
    case = await _readable_sla_case(session, principal, sla_case_id)
    now = current_time(session)
    if body.expires_at is not None and body.expires_at <= now:
        raise InvalidValue(f"Waiver expiry {body.expires_at.isoformat()} is not in the future", field="expires_at")

    async def action():
        waiver = await findings.add_waiver(
            session,
            image_digest=case.image_digest,
            vulnerability_id=case.vulnerability_id,
            reason=body.reason,
            waived_by=principal.user_id,
            now=now,
            expires_at=body.expires_at,
            sla_case_id=case.id,
        )
        await sla.close_for_vulnerability(session, case.image_digest, case.vulnerability_id, reason="waived", now=now)
        return WaiverOut.model_validate(waiver)

    return await idempotent(
        session, request, scope=f"moderation:{principal.user_id}", payload=body, action=action, status_code=201
    )


@router.post(
    "/sla-cases/{sla_case_id}/classification",
    operation_id="moderation_reclassify_sla_finding",
    summary="Set the staff class of the case's finding; below Major closes the case",
    response_model=SlaCaseOut,
    responses=problem_responses(401, 403, 404, 422),
)
async def reclassify_sla_finding(
    sla_case_id: uuid.UUID, body: ClassificationIn, request: Request, session: SessionDep, principal: CurrentPrincipal
):
    require_staff(principal, "security")
    case = await _readable_sla_case(session, principal, sla_case_id)

    async def action():
        now = current_time(session)
        changed = await findings.reclassify(
            session,
            image_digest=case.image_digest,
            vulnerability_id=case.vulnerability_id,
            finding_class=body.finding_class,
            reason=body.reason,
            classified_by=principal.user_id,
        )
        await sla.apply_classes(session, changed, now=now)
        await session.refresh(case)
        return _case_out(case, now)

    return await idempotent(session, request, scope=f"moderation:{principal.user_id}", payload=body, action=action)


@router.get(
    "/images/{image_digest}/findings",
    operation_id="moderation_list_image_findings",
    summary="List an image's findings as moderation knows them, with staff classes and waivers",
    responses=problem_responses(401, 404),
)
async def list_image_findings(
    image_digest: str, session: SessionDep, principal: CurrentPrincipal, state: Literal["open", "resolved"] | None = None
) -> list[FindingOut]:
    organisations = readable_organisations(principal)
    if organisations is not None and not await _image_belongs_to(session, image_digest, organisations):
        raise NotFound(f"Image {image_digest} not found")

    statement = select(Finding, findings.active_waiver_clause(current_time(session)).label("waived")).where(
        Finding.image_digest == image_digest
    )
    if state is not None:
        statement = statement.where(Finding.state == state)
    rows = await session.execute(statement.order_by(Finding.vulnerability_id, Finding.package))

    waivers = await findings.active_waivers(session, image_digest, now=current_time(session))
    result = []
    for finding, waived in rows.all():
        out = FindingOut.model_validate(finding)
        out.waived = waived
        waiver = waivers.get(finding.vulnerability_id)
        out.waiver = WaiverOut.model_validate(waiver) if waiver is not None else None
        result.append(out)
    return result


async def _image_belongs_to(session: AsyncSession, image_digest: str, organisations: list[uuid.UUID]) -> bool:
    """Return whether one of these organisations submitted the image or scanning attributed it to them."""
    submitted = (
        select(Scan.scan_id)
        .join(ReviewCase, ReviewCase.version_id == Scan.version_id)
        .where(Scan.digest == image_digest, ReviewCase.organisation_id.in_(organisations))
        .exists()
    )
    attributed = (
        select(Finding.vulnerability_id)
        .where(Finding.image_digest == image_digest, Finding.organisation_id.in_(organisations))
        .exists()
    )
    return (await session.execute(select(or_(submitted, attributed)))).scalar_one()
