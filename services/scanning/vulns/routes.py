"""HTTP routes of the vulnerability database: feed imports, findings, staff decisions.

Publishers read the findings of their own organisation's images; anyone else gets a 404.
Importing feeds, classifying and waiving need the security staff role.
"""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter, Query, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import CurrentPrincipal, Principal, require_member, require_staff
from shared.db import SessionDep
from shared.errors import Conflict, InvalidValue, NotFound, problem_responses
from shared.idempotency import idempotent
from shared.pagination import Page, check_limit, finish_page, paginate

from . import classification, service
from .models import AssessedImage, FeedImport, Finding, FindingClassification, FindingWaiver
from .osv import FeedNotFound, configured_feeds
from .schemas import (
    ClassificationIn,
    ClassificationRead,
    FeedImportRead,
    FeedImportRequest,
    FeedImportResult,
    FindingDetail,
    FindingRead,
    FindingSummaryRead,
    WaiverIn,
    WaiverRead,
)

router = APIRouter(tags=["vulnerabilities"])

SECURITY = "security"


def _now(request: Request):
    return request.app.state.runtime.clock.now()


async def _image_for(session: AsyncSession, principal: Principal, image_id: uuid.UUID) -> AssessedImage:
    image = await session.get(AssessedImage, image_id)
    if image is None:
        raise NotFound(f"Image {image_id} not found")
    require_member(principal, image.organization_id, what="image")
    return image


async def _finding_for(session: AsyncSession, principal: Principal, finding_id: uuid.UUID) -> Finding:
    finding = await session.get(Finding, finding_id)
    if finding is None:
        raise NotFound(f"Finding {finding_id} not found")
    # Another organisation's finding is reported as missing, not as forbidden.
    require_member(principal, finding.organization_id, what="finding")
    return finding


def _finding_read(
    finding: Finding, waiver: FindingWaiver | None, model=FindingRead, **extra
) -> FindingRead:
    return model(
        id=finding.id,
        image_id=finding.image_id,
        vulnerability_id=finding.vulnerability_id,
        aliases=list(finding.aliases),
        ecosystem=finding.ecosystem,
        package=finding.package,
        installed_version=finding.installed_version,
        component_name=finding.component_name,
        component_version=finding.component_version,
        layer_digest=finding.layer_digest,
        layer_index=finding.layer_index,
        fixed_version=finding.fixed_version,
        cvss_score=finding.cvss_score,
        cvss_vector=finding.cvss_vector,
        cvss_source=finding.cvss_source,
        severity_text=finding.severity_text,
        finding_class=classification.effective_class(finding).value,
        cvss_class=finding.cvss_class,
        status=finding.status,
        waived=waiver is not None,
        waiver=WaiverRead.model_validate(waiver) if waiver is not None else None,
        detected_at=finding.detected_at,
        resolved_at=finding.resolved_at,
        references=list(finding.references),
        **extra,
    )


@router.post(
    "/vulnerability-feeds/imports",
    operation_id="importVulnerabilityFeeds",
    summary="Import OSV feeds and re-assess the images their changes affect",
    response_model=FeedImportResult,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def import_vulnerability_feeds(
    body: FeedImportRequest, principal: CurrentPrincipal, session: SessionDep, request: Request
) -> FeedImportResult:
    require_staff(principal, SECURITY)

    try:
        available = {feed.name: feed for feed in configured_feeds()}
    except FeedNotFound as error:
        raise NotFound(str(error)) from error
    if body.feeds is None:
        feeds = list(available.values())
    else:
        unknown = [name for name in body.feeds if name not in available]
        if unknown:
            raise InvalidValue(
                f"Unknown feed {unknown[0]!r}; configured feeds: {', '.join(sorted(available))}"
            )
        feeds = [available[name] for name in body.feeds]

    if not await service.lock_feed_imports(session, wait=False):
        raise Conflict(
            "Another import of the OSV feeds is running, for example the one at start. "
            "Retry when GET /vulnerability-feeds/imports lists it as finished",
            headers={"Retry-After": "30"},
        )
    try:
        outcome = await service.import_feeds(session, feeds, now=_now(request))
    except FeedNotFound as error:
        raise NotFound(str(error)) from error

    rows = [await session.get(FeedImport, report.import_id) for report in outcome.reports]
    return FeedImportResult(
        imports=[FeedImportRead.model_validate(row) for row in rows],
        images_changed=len(outcome.changes),
    )


@router.get(
    "/vulnerability-feeds/imports",
    operation_id="listVulnerabilityFeedImports",
    summary="List feed imports, newest first",
    response_model=Page[FeedImportRead],
    responses=problem_responses(400, 401, 403),
)
async def list_feed_imports(
    principal: CurrentPrincipal,
    session: SessionDep,
    cursor: str | None = None,
    limit: int | None = Query(default=None),
) -> Page[FeedImportRead]:
    require_staff(principal, SECURITY)
    size = check_limit(limit)

    columns = [FeedImport.started_at, FeedImport.id]
    statement = paginate(select(FeedImport), columns=columns, cursor=cursor, limit=size)
    rows = list((await session.execute(statement)).scalars())
    page_rows, next_cursor = finish_page(rows, limit=size, key=lambda row: (row.started_at, row.id))
    return Page(items=[FeedImportRead.model_validate(row) for row in page_rows], next_cursor=next_cursor)


@router.get(
    "/images/{image_id}/findings",
    operation_id="listImageFindings",
    summary="List an image's vulnerability findings, newest first",
    response_model=Page[FindingRead],
    responses=problem_responses(400, 401, 404),
)
async def list_image_findings(
    image_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    request: Request,
    status: Literal["open", "resolved"] | None = "open",
    cursor: str | None = None,
    limit: int | None = Query(default=None),
) -> Page[FindingRead]:
    image = await _image_for(session, principal, image_id)
    size = check_limit(limit)

    statement = select(Finding).where(Finding.image_id == image.id)
    if status is not None:
        statement = statement.where(Finding.status == status)
    columns = [Finding.detected_at, Finding.id]
    statement = paginate(statement, columns=columns, cursor=cursor, limit=size)
    rows = list((await session.execute(statement)).scalars())
    page_rows, next_cursor = finish_page(rows, limit=size, key=lambda row: (row.detected_at, row.id))

    # NOTE: only waivers recorded in scanning count. A waiver granted in a moderation review
    # case is stored by moderation, which returns it from GET /images/{digest}/findings;
    # the web scan page merges the two, but API clients must read both.
    waived = await classification.waivers_in_force(session, [row.id for row in page_rows], _now(request))
    items = [_finding_read(row, waived.get(row.id)) for row in page_rows]
    return Page(items=items, next_cursor=next_cursor)


@router.get(
    "/images/{image_id}/findings/summary",
    operation_id="summarizeImageFindings",
    summary="Count an image's open findings per class, the highest score and available fixes",
    response_model=FindingSummaryRead,
    responses=problem_responses(401, 404),
)
async def summarize_image_findings(
    image_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep, request: Request
) -> FindingSummaryRead:
    image = await _image_for(session, principal, image_id)

    result = await session.execute(
        select(Finding).where(Finding.image_id == image.id, Finding.status == "open")
    )
    findings = list(result.scalars())
    waived = await classification.waivers_in_force(session, [f.id for f in findings], _now(request))
    summary = classification.summarize(findings, waived.keys())
    return FindingSummaryRead(
        counts=summary.counts,
        waived=summary.waived,
        highest_score=summary.highest_score,
        fixable=summary.fixable,
        fixes_available=summary.fixes_available,
    )


async def _detail(session: AsyncSession, finding: Finding, request: Request) -> FindingDetail:
    classifications = (
        await session.execute(
            select(FindingClassification)
            .where(FindingClassification.finding_id == finding.id)
            .order_by(FindingClassification.created_at)
        )
    ).scalars()
    waivers = list(
        (
            await session.execute(
                select(FindingWaiver)
                .where(FindingWaiver.finding_id == finding.id)
                .order_by(FindingWaiver.created_at)
            )
        ).scalars()
    )
    in_force = await classification.waivers_in_force(session, [finding.id], _now(request))
    return _finding_read(
        finding,
        in_force.get(finding.id),
        model=FindingDetail,
        classifications=[ClassificationRead.model_validate(row) for row in classifications],
        waivers=[WaiverRead.model_validate(row) for row in waivers],
    )


@router.get(
    "/findings/{finding_id}",
    operation_id="getFinding",
    summary="Read a finding with its staff classifications and waivers",
    response_model=FindingDetail,
    responses=problem_responses(401, 404),
)
async def get_finding(
    finding_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep, request: Request
) -> FindingDetail:
    finding = await _finding_for(session, principal, finding_id)
    return await _detail(session, finding, request)


@router.post(
    "/findings/{finding_id}/classifications",
    operation_id="classifyFinding",
    summary="Classify a finding (security staff), overriding its CVSS class",
    status_code=201,
    response_model=FindingDetail,
    responses=problem_responses(401, 403, 404, 422),
)
async def classify_finding(
    finding_id: uuid.UUID,
    body: ClassificationIn,
    principal: CurrentPrincipal,
    session: SessionDep,
    request: Request,
):
    require_staff(principal, SECURITY)

    async def action():
        try:
            await classification.classify_finding(
                session,
                finding_id,
                finding_class=body.finding_class,
                reason=body.reason,
                staff_id=principal.user_id,
                now=_now(request),
            )
        except classification.FindingNotFound as error:
            raise NotFound(f"Finding {finding_id} not found") from error
        except classification.InvalidDecision as error:
            raise InvalidValue(error.detail, field=error.field_name) from error
        finding = await session.get(Finding, finding_id)
        return await _detail(session, finding, request)

    return await idempotent(
        session, request, scope=str(principal.user_id), payload=body, action=action, status_code=201
    )


@router.post(
    "/findings/{finding_id}/waivers",
    operation_id="waiveFinding",
    summary="Waive a finding (security staff) as not affected or a false positive",
    status_code=201,
    response_model=FindingDetail,
    responses=problem_responses(401, 403, 404, 422),
)
async def waive_finding(
    finding_id: uuid.UUID,
    body: WaiverIn,
    principal: CurrentPrincipal,
    session: SessionDep,
    request: Request,
):
    require_staff(principal, SECURITY)

    async def action():
        try:
            await classification.waive_finding(
                session,
                finding_id,
                kind=body.kind,
                reason=body.reason,
                staff_id=principal.user_id,
                now=_now(request),
                expires_at=body.expires_at,
            )
        except classification.FindingNotFound as error:
            raise NotFound(f"Finding {finding_id} not found") from error
        except classification.InvalidDecision as error:
            raise InvalidValue(error.detail, field=error.field_name) from error
        finding = await session.get(Finding, finding_id)
        return await _detail(session, finding, request)

    return await idempotent(
        session, request, scope=str(principal.user_id), payload=body, action=action, status_code=201
    )
