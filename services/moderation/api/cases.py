"""Review-case routes: the staff queue, a case's history, decisions, assignment, comments, waivers, classes."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from sqlalchemy import Integer, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.moderation import findings, reviews, sla, staff
from services.moderation.access import readable_organisations, require_publisher_editor, require_reader
from services.moderation.models import Comment, Finding, ReviewCase, Scan
from services.moderation.schemas import (
    ApproveIn,
    AssignmentIn,
    CaseClassificationIn,
    CaseDetail,
    CaseState,
    CaseSummary,
    CommentIn,
    CommentOut,
    FindingOut,
    RejectIn,
    RequestChangesIn,
    RoundImageOut,
    RoundOut,
    ScanOut,
    WaiverIn,
    WaiverOut,
)
from services.moderation.session_context import now as current_time
from shared.auth import CurrentPrincipal, Principal, require_staff
from shared.db import SessionDep
from shared.errors import BadRequest, InvalidValue, NotFound, problem_responses
from shared.idempotency import idempotent
from shared.pagination import Page, check_limit, finish_page, paginate

router = APIRouter(prefix="/cases", tags=["review cases"])


def _has_critical_column():
    """Whether any scan of the case's version reported a Critical finding still open."""
    listed = (
        select(Scan.scan_id)
        .join(Finding, Finding.image_digest == Scan.digest)
        .where(
            Scan.version_id == ReviewCase.version_id,
            Finding.state == "open",
            findings.effective_class_column() == "critical",
        )
        .exists()
    )
    counted = (
        select(Scan.scan_id)
        .where(
            Scan.version_id == ReviewCase.version_id,
            Scan.findings_itemised.is_(False),
            Scan.counts["critical"].astext.cast(Integer) > 0,
        )
        .exists()
    )
    return (listed | counted).label("has_critical_findings")


def _summary(case: ReviewCase, has_critical: bool) -> CaseSummary:
    summary = CaseSummary.model_validate(case)
    summary.has_critical_findings = has_critical
    return summary


@router.get(
    "",
    operation_id="moderation_list_cases",
    summary="List review cases: the staff queue, or a publisher's own cases",
    responses=problem_responses(400, 401, 404),
)
async def list_cases(
    session: SessionDep,
    principal: CurrentPrincipal,
    state: CaseState | None = None,
    product_type: Literal["image", "plugin"] | None = None,
    has_critical_findings: bool | None = None,
    min_age_hours: Annotated[float | None, Query(ge=0, description="Only cases opened at least this long ago")] = None,
    assignee: Annotated[str | None, Query(description="'me', 'none' or a reviewer's user id")] = None,
    organisation_id: uuid.UUID | None = None,
    cursor: str | None = None,
    limit: int | None = None,
) -> Page[CaseSummary]:
    limit = check_limit(limit)
    has_critical = _has_critical_column()
    statement = select(ReviewCase, has_critical)

    organisations = readable_organisations(principal)
    if organisation_id is not None:
        if organisations is not None and organisation_id not in organisations:
            raise NotFound(f"Organisation {organisation_id} not found")
        statement = statement.where(ReviewCase.organisation_id == organisation_id)
    elif organisations is not None:
        statement = statement.where(ReviewCase.organisation_id.in_(organisations))

    if state is not None:
        statement = statement.where(ReviewCase.state == state)
    if product_type is not None:
        statement = statement.where(ReviewCase.product_type == product_type)
    if has_critical_findings is not None:
        statement = statement.where(has_critical if has_critical_findings else ~has_critical)
    if min_age_hours is not None:
        statement = statement.where(ReviewCase.opened_at <= current_time(session) - timedelta(hours=min_age_hours))
    if assignee is not None:
        statement = statement.where(_assignee_clause(assignee, principal))

    # The queue is served oldest first.
    statement = paginate(
        statement, columns=[ReviewCase.opened_at, ReviewCase.id], cursor=cursor, limit=limit, descending=False
    )
    rows = (await session.execute(statement)).all()
    kept, next_cursor = finish_page(rows, limit=limit, key=lambda row: (row[0].opened_at, row[0].id))
    return Page(items=[_summary(case, flag) for case, flag in kept], next_cursor=next_cursor)


def _assignee_clause(assignee: str, principal: Principal):
    if assignee == "me":
        return ReviewCase.assignee_id == principal.user_id
    if assignee == "none":
        return ReviewCase.assignee_id.is_(None)
    try:
        return ReviewCase.assignee_id == uuid.UUID(assignee)
    except ValueError:
        raise BadRequest(f"Invalid assignee {assignee!r}: use 'me', 'none' or a user id") from None


async def _readable_case(session: AsyncSession, principal: Principal, case_id: uuid.UUID) -> ReviewCase:
    case = await reviews.get_case(session, case_id)
    require_reader(principal, case.organisation_id, what="Review case", object_id=case_id)
    return case


async def _case_detail(session: AsyncSession, case: ReviewCase) -> CaseDetail:
    now = current_time(session)
    rounds = []
    blockers: list[dict] = []
    for review_round in await reviews.rounds_of(session, case):
        images = await reviews.round_images(session, case, review_round)
        rounds.append(
            RoundOut(
                number=review_round.number,
                submitted_at=review_round.submitted_at,
                profile_complete=review_round.profile_complete,
                manifest=review_round.manifest,
                images=[
                    RoundImageOut(
                        tier_id=image.tier_id,
                        name=image.name,
                        reference=image.reference,
                        scan=ScanOut.model_validate(image.scan) if image.scan else None,
                    )
                    for image in images
                ],
                decision=review_round.decision,
                decided_at=review_round.decided_at,
                decided_by=review_round.decided_by,
                reason=review_round.reason,
                checklist=review_round.checklist,
            )
        )
        if review_round.number == case.current_round and review_round.decision is None:
            blockers = await reviews.approval_blockers(session, review_round, images, now=now)

    has_critical = (
        await session.execute(select(_has_critical_column()).select_from(ReviewCase).where(ReviewCase.id == case.id))
    ).scalar_one()
    summary = _summary(case, has_critical)
    return CaseDetail(**summary.model_dump(), rounds=rounds, blockers=blockers)


@router.get(
    "/{case_id}",
    operation_id="moderation_get_case",
    summary="Read a review case with every round, its scans, decisions and current blockers",
    responses=problem_responses(401, 404),
)
async def get_case(case_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal) -> CaseDetail:
    case = await _readable_case(session, principal, case_id)
    return await _case_detail(session, case)


async def _decide(
    request: Request,
    session: AsyncSession,
    principal: Principal,
    case_id: uuid.UUID,
    decision: str,
    payload,
    **details,
):
    require_staff(principal, "reviewer")

    async def action():
        case = await reviews.decide(session, case_id, decision, reviewer_id=principal.user_id, **details)
        return await _case_detail(session, case)

    return await idempotent(
        session, request, scope=f"moderation:{principal.user_id}", payload=payload, action=action
    )


@router.post(
    "/{case_id}/request-changes",
    operation_id="moderation_request_changes",
    summary="Request changes: a checklist of findings to fix and manifest items to correct",
    response_model=CaseDetail,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def request_changes(
    case_id: uuid.UUID, body: RequestChangesIn, request: Request, session: SessionDep, principal: CurrentPrincipal
):
    return await _decide(
        request, session, principal, case_id, "request_changes", body, reason=body.reason, checklist=body.checklist()
    )


@router.post(
    "/{case_id}/approve",
    operation_id="moderation_approve_case",
    summary="Approve the current round; refused with the list of blockers while any remains",
    response_model=CaseDetail,
    responses=problem_responses(401, 403, 404, 409),
)
async def approve(
    case_id: uuid.UUID, request: Request, session: SessionDep, principal: CurrentPrincipal, body: ApproveIn | None = None
):
    body = body or ApproveIn()
    return await _decide(request, session, principal, case_id, "approve", body, reason=body.note)


@router.post(
    "/{case_id}/reject",
    operation_id="moderation_reject_case",
    summary="Reject the submission with a reason",
    response_model=CaseDetail,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def reject(case_id: uuid.UUID, body: RejectIn, request: Request, session: SessionDep, principal: CurrentPrincipal):
    return await _decide(request, session, principal, case_id, "reject", body, reason=body.reason)


@router.put(
    "/{case_id}/assignee",
    operation_id="moderation_assign_case",
    summary="Assign the case to a reviewer, or unassign it with a null reviewer_id",
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def assign_case(
    case_id: uuid.UUID, body: AssignmentIn, request: Request, session: SessionDep, principal: CurrentPrincipal
) -> CaseSummary:
    require_staff(principal, "reviewer")
    if body.reviewer_id is not None:
        await staff.require_reviewer(request.app.state.runtime, body.reviewer_id)
    case = await reviews.assign(session, case_id, body.reviewer_id)
    return CaseSummary.model_validate(case)


@router.get(
    "/{case_id}/comments",
    operation_id="moderation_list_comments",
    summary="Read the thread between reviewers and the publisher, oldest first",
    responses=problem_responses(400, 401, 404),
)
async def list_comments(
    case_id: uuid.UUID,
    session: SessionDep,
    principal: CurrentPrincipal,
    cursor: str | None = None,
    limit: int | None = None,
) -> Page[CommentOut]:
    await _readable_case(session, principal, case_id)
    limit = check_limit(limit)
    statement = paginate(
        select(Comment).where(Comment.case_id == case_id),
        columns=[Comment.created_at, Comment.id],
        cursor=cursor,
        limit=limit,
        descending=False,
    )
    rows = list((await session.execute(statement)).scalars())
    kept, next_cursor = finish_page(rows, limit=limit, key=lambda comment: (comment.created_at, comment.id))
    return Page(items=[CommentOut.model_validate(comment) for comment in kept], next_cursor=next_cursor)


@router.post(
    "/{case_id}/comments",
    operation_id="moderation_add_comment",
    summary="Add a comment to the case's thread, as a reviewer or an editor of the publisher",
    status_code=201,
    response_model=CommentOut,
    responses=problem_responses(401, 403, 404, 422),
)
async def add_comment(
    case_id: uuid.UUID, body: CommentIn, request: Request, session: SessionDep, principal: CurrentPrincipal
):
    case = await reviews.get_case(session, case_id)
    if principal.is_staff:
        role = "staff"
    else:
        require_publisher_editor(principal, case.organisation_id, what="Review case", object_id=case_id)
        role = "publisher"

    async def action():
        comment = Comment(
            id=uuid.uuid4(),
            case_id=case.id,
            round_number=case.current_round,
            author_id=principal.user_id,
            author_name=principal.username,
            author_role=role,
            body=body.body,
            created_at=current_time(session),
        )
        session.add(comment)
        await session.flush()
        return CommentOut.model_validate(comment)

    return await idempotent(
        session, request, scope=f"moderation:{principal.user_id}", payload=body, action=action, status_code=201
    )


async def _require_open_case_finding(
    session: AsyncSession, case: ReviewCase, image_digest: str, vulnerability_id: str
) -> list[Finding]:
    """Return the open findings of the vulnerability on an image of the case's current round, or raise."""
    review_round = await reviews.current_round(session, case)
    digests = {
        image.scan.digest for image in await reviews.round_images(session, case, review_round) if image.scan and image.scan.digest
    }
    if image_digest not in digests:
        raise InvalidValue(
            f"Image {image_digest} is not an image of review case {case.id}; use a digest from the case's scans",
            field="image_digest",
        )
    open_findings = await findings.open_findings_of(session, image_digest, vulnerability_id)
    if not open_findings:
        raise NotFound(f"Open finding {vulnerability_id} on image {image_digest} not found")
    return open_findings


@router.post(
    "/{case_id}/waivers",
    operation_id="moderation_waive_finding",
    summary="Waive a finding on one of the case's images, optionally until a date",
    status_code=201,
    response_model=WaiverOut,
    responses=problem_responses(401, 403, 404, 422),
)
async def waive_case_finding(
    case_id: uuid.UUID, body: WaiverIn, request: Request, session: SessionDep, principal: CurrentPrincipal
):
    require_staff(principal, "reviewer", "security")
    case = await reviews.get_case(session, case_id)
    now = current_time(session)
    if body.expires_at is not None and body.expires_at <= now:
        raise InvalidValue(f"Waiver expiry {body.expires_at.isoformat()} is not in the future", field="expires_at")

    await _require_open_case_finding(session, case, body.image_digest, body.vulnerability_id)

    async def action():
        waiver = await findings.add_waiver(
            session,
            image_digest=body.image_digest,
            vulnerability_id=body.vulnerability_id,
            reason=body.reason,
            waived_by=principal.user_id,
            now=now,
            expires_at=body.expires_at,
            case_id=case.id,
        )
        # The same image may already be live in another listing with a running clock.
        await sla.close_for_vulnerability(session, body.image_digest, body.vulnerability_id, reason="waived", now=now)
        return WaiverOut.model_validate(waiver)

    return await idempotent(
        session, request, scope=f"moderation:{principal.user_id}", payload=body, action=action, status_code=201
    )


@router.post(
    "/{case_id}/classifications",
    operation_id="moderation_classify_case_finding",
    summary="Set the staff class of a finding on one of the case's images; the class decides whether it blocks",
    response_model=list[FindingOut],
    responses=problem_responses(401, 403, 404, 422),
)
async def classify_case_finding(
    case_id: uuid.UUID, body: CaseClassificationIn, request: Request, session: SessionDep, principal: CurrentPrincipal
):
    require_staff(principal, "security")
    case = await reviews.get_case(session, case_id)
    await _require_open_case_finding(session, case, body.image_digest, body.vulnerability_id)

    async def action():
        now = current_time(session)
        changed = await findings.reclassify(
            session,
            image_digest=body.image_digest,
            vulnerability_id=body.vulnerability_id,
            finding_class=body.finding_class,
            reason=body.reason,
            classified_by=principal.user_id,
        )
        # The same image may be live in another listing, where the class moves its SLA clock.
        await sla.apply_classes(session, changed, now=now)
        waived = await findings.has_active_waiver(session, body.image_digest, body.vulnerability_id, now=now)
        return [FindingOut.model_validate(finding).model_copy(update={"waived": waived}) for finding in changed]

    return await idempotent(session, request, scope=f"moderation:{principal.user_id}", payload=body, action=action)
