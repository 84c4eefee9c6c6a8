"""Review cases: one per submitted product version, a round per submission, a decision per round.

A case waits in `awaiting_scans` until every tier's image of the current round has a
scan result (completed or failed), then moves to `in_review`. A reviewer requests
changes, approves or rejects; a resubmission after a request for changes opens the next
round. A scan belongs to a round when catalog submitted the round no later than scanning
reported the scan, so a late result of an earlier round never counts for a newer one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.moderation.findings import blocking_findings
from services.moderation.models import ReviewCase, ReviewRound, Scan
from services.moderation.session_context import now as current_time
from shared.errors import Conflict, InvalidValue, NotFound
from shared.events import emit
from shared.events.schemas import ProductSubmitted, ProductWithdrawn, ReviewDecided, ReviewedImage

log = structlog.get_logger()

# The states from which each decision may be taken.
DECISION_SOURCES = {
    "request_changes": ("awaiting_scans", "in_review"),
    "reject": ("awaiting_scans", "in_review"),
    "approve": ("in_review",),
}
DECISION_STATES = {"request_changes": "changes_requested", "reject": "rejected", "approve": "approved"}
DECISION_EVENTS = {
    "request_changes": "moderation.review.changes_requested",
    "reject": "moderation.review.rejected",
    "approve": "moderation.review.approved",
}


@dataclass
class RoundImage:
    """A tier of a round and the scan of its image, if one has arrived."""

    tier_id: uuid.UUID
    name: str
    reference: str
    scan: Scan | None


# Opening cases and rounds.

# A submission later than the current round's opens the next round, whatever the case's
# state. The catalog accepts a submission only from draft or changes requested, so a
# later one means the publisher withdrew the version and submitted it again. That is true
# even when the withdrawal's event is late or arrived before the case existed, and when
# a decision never reached the catalog because the withdrawal crossed it. The catalog
# stamps each submission, so its times compare. The time of a decision is no measure,
# because moderation takes it from its own clock when it handles an event, which may be
# after the catalog took the resubmission. An older submission delivered again changes
# nothing.
# Case states whose current round a later submission ends as withdrawn.
UNDECIDED_STATES = frozenset({"awaiting_scans", "in_review"})


async def open_round(session: AsyncSession, data: ProductSubmitted, *, submitted_at: datetime) -> ReviewCase | None:
    """Open the case of a submitted version, or its next round after a request for changes.

    Returns the case, or None when the submission does not apply to the case's state.
    """
    now = current_time(session)
    case = (
        await session.execute(select(ReviewCase).where(ReviewCase.version_id == data.version_id).with_for_update())
    ).scalar_one_or_none()

    if case is None:
        case_id = uuid.uuid4()
        inserted = await session.execute(
            insert(ReviewCase)
            .values(
                id=case_id,
                product_id=data.product_id,
                version_id=data.version_id,
                version=data.version,
                organisation_id=data.organisation_id,
                namespace=data.namespace,
                slug=data.slug,
                product_type=data.product_type,
                state="awaiting_scans",
                current_round=1,
                opened_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["version_id"])
            .returning(ReviewCase.id)
        )
        if inserted.scalar_one_or_none() is None:
            # A concurrent submission of the same version opened it first; retry the event.
            raise Conflict(f"Review case of version {data.version_id} was opened concurrently")
        case = await session.get(ReviewCase, case_id)
        log.info("review.case_opened", case_id=str(case.id), version_id=str(data.version_id))
    elif case.state == "changes_requested" or submitted_at > (await current_round(session, case)).submitted_at:
        if case.state in UNDECIDED_STATES:
            await _end_round_as_withdrawn(session, case, now)
        case.state = "awaiting_scans"
        case.current_round += 1
        case.updated_at = now
        case.decided_at = None
        log.info("review.resubmitted", case_id=str(case.id), round=case.current_round)
    else:
        log.warning(
            "review.submission_ignored", case_id=str(case.id), version_id=str(data.version_id), state=case.state
        )
        return None

    session.add(
        ReviewRound(
            id=uuid.uuid4(),
            case_id=case.id,
            number=case.current_round,
            submitted_at=submitted_at,
            opened_at=now,
            manifest=data.manifest,
            profile_complete=data.profile_complete,
            tiers=[
                {"tier_id": str(tier.tier_id), "name": tier.name, "reference": tier.reference} for tier in data.tiers
            ],
        )
    )
    await session.flush()

    # Scans may have arrived before the submission did.
    await start_review_if_scanned(session, case)
    return case


async def withdraw_round(session: AsyncSession, data: ProductWithdrawn) -> ReviewCase | None:
    """Close the current round of a case whose version the publisher withdrew.

    Returns the case, or None when there is no open case: a decided case keeps its
    decision, which the catalog ignores for the withdrawn version.
    """
    now = current_time(session)
    case = (
        await session.execute(select(ReviewCase).where(ReviewCase.version_id == data.version_id).with_for_update())
    ).scalar_one_or_none()
    if case is None or case.state not in UNDECIDED_STATES:
        log.warning(
            "review.withdrawal_ignored",
            version_id=str(data.version_id),
            state=case.state if case is not None else None,
        )
        return None

    await _end_round_as_withdrawn(session, case, now)
    case.state = "withdrawn"
    case.decided_at = now
    await session.flush()
    log.info("review.withdrawn", case_id=str(case.id), round=case.current_round)
    return case


async def _end_round_as_withdrawn(session: AsyncSession, case: ReviewCase, now: datetime) -> None:
    case.updated_at = now
    review_round = await current_round(session, case)
    review_round.decision = "withdrawn"
    review_round.decided_at = now
    review_round.reason = "Withdrawn by the publisher"


# Scans.


async def record_scan(session: AsyncSession, scan: Scan) -> ReviewCase | None:
    """Store a scan result and move its case to review once every tier is scanned."""
    await session.execute(
        insert(Scan)
        .values({column.key: getattr(scan, column.key) for column in Scan.__table__.columns})
        .on_conflict_do_nothing(index_elements=["scan_id"])
    )
    case = (
        await session.execute(select(ReviewCase).where(ReviewCase.version_id == scan.version_id).with_for_update())
    ).scalar_one_or_none()
    if case is not None:
        await start_review_if_scanned(session, case)
    return case


async def start_review_if_scanned(session: AsyncSession, case: ReviewCase) -> bool:
    if case.state != "awaiting_scans":
        return False
    images = await round_images(session, case, await current_round(session, case))
    if any(image.scan is None for image in images):
        return False

    result = await session.execute(
        update(ReviewCase)
        .where(ReviewCase.id == case.id, ReviewCase.state == "awaiting_scans")
        .values(state="in_review", updated_at=current_time(session))
        .execution_options(synchronize_session="fetch")
    )
    if result.rowcount == 1:
        log.info("review.scans_complete", case_id=str(case.id), round=case.current_round)
    return result.rowcount == 1


# Reading.


async def get_case(session: AsyncSession, case_id: uuid.UUID, *, for_update: bool = False) -> ReviewCase:
    statement = select(ReviewCase).where(ReviewCase.id == case_id)
    if for_update:
        statement = statement.with_for_update()
    case = (await session.execute(statement)).scalar_one_or_none()
    if case is None:
        raise NotFound(f"Review case {case_id} not found")
    return case


async def rounds_of(session: AsyncSession, case: ReviewCase) -> list[ReviewRound]:
    rows = await session.execute(
        select(ReviewRound).where(ReviewRound.case_id == case.id).order_by(ReviewRound.number)
    )
    return list(rows.scalars())


async def current_round(session: AsyncSession, case: ReviewCase) -> ReviewRound:
    return (
        await session.execute(
            select(ReviewRound).where(ReviewRound.case_id == case.id, ReviewRound.number == case.current_round)
        )
    ).scalar_one()


async def round_images(session: AsyncSession, case: ReviewCase, review_round: ReviewRound) -> list[RoundImage]:
    """Return each tier of the round with its newest scan reported during the round.

    A round lasts from its submission until the next round's submission.
    """
    next_submission = (
        await session.execute(
            select(func.min(ReviewRound.submitted_at)).where(
                ReviewRound.case_id == case.id, ReviewRound.number > review_round.number
            )
        )
    ).scalar_one()
    statement = select(Scan).where(Scan.version_id == case.version_id, Scan.occurred_at >= review_round.submitted_at)
    if next_submission is not None:
        statement = statement.where(Scan.occurred_at < next_submission)
    scans = await session.execute(statement.order_by(Scan.occurred_at, Scan.received_at))
    newest: dict[uuid.UUID, Scan] = {}
    for scan in scans.scalars():
        newest[scan.tier_id] = scan

    return [
        RoundImage(
            tier_id=uuid.UUID(tier["tier_id"]),
            name=tier["name"],
            reference=tier["reference"],
            scan=newest.get(uuid.UUID(tier["tier_id"])),
        )
        for tier in review_round.tiers
    ]


def _counts_blocking(scan: Scan) -> int:
    return int(scan.counts.get("critical", 0)) + int(scan.counts.get("major", 0))


async def approval_blockers(
    session: AsyncSession, review_round: ReviewRound, images: list[RoundImage], *, now: datetime
) -> list[dict[str, Any]]:
    """List everything that stops approval of the round, each with a message for the publisher."""
    blockers: list[dict[str, Any]] = []
    if not review_round.profile_complete:
        blockers.append(
            {"kind": "profile_incomplete", "detail": "The publisher profile is incomplete: fill in every required item"}
        )

    digests = []
    for image in images:
        scan = image.scan
        where = {"tier_id": str(image.tier_id), "reference": image.reference}
        if scan is None:
            blockers.append(
                {"kind": "scan_pending", **where, "detail": f"The scan of {image.reference} has not finished"}
            )
        elif scan.status == "failed":
            blockers.append(
                {"kind": "scan_failed", **where, "detail": f"The scan of {image.reference} failed: {scan.failure_reason}"}
            )
        else:
            digests.append(scan.digest)
            if not scan.findings_itemised and _counts_blocking(scan):
                # Without the list no finding can be waived, so only a rescan clears it.
                blockers.append(
                    {
                        "kind": "findings_not_listed",
                        **where,
                        "image_digest": scan.digest,
                        "detail": (
                            f"The scan of {image.reference} counted {_counts_blocking(scan)} Critical or Major "
                            "findings without listing them: rescan the image"
                        ),
                    }
                )

    for finding in await blocking_findings(session, digests, now=now):
        blockers.append(
            {
                "kind": "finding",
                "image_digest": finding.image_digest,
                "vulnerability_id": finding.vulnerability_id,
                "package": finding.package,
                "finding_class": finding.effective_class,
                "detail": (
                    f"{finding.effective_class.capitalize()} finding {finding.vulnerability_id} in "
                    f"{finding.package} {finding.installed_version} on {finding.image_digest} is open and not waived"
                ),
            }
        )
    return blockers


# Decisions.


async def decide(
    session: AsyncSession,
    case_id: uuid.UUID,
    decision: str,
    *,
    reviewer_id: uuid.UUID,
    reason: str | None = None,
    checklist: dict[str, Any] | None = None,
) -> ReviewCase:
    """Record a reviewer's decision on the current round and emit its event.

    Raises Conflict when the case is not in a state that allows the decision, and for an
    approval while anything blocks it (the problem lists the blockers).
    """
    now = current_time(session)
    case = await get_case(session, case_id, for_update=True)
    allowed = DECISION_SOURCES[decision]
    if case.state not in allowed:
        raise Conflict(
            f"Review case {case_id} is {case.state}; {decision.replace('_', ' ')} needs it to be "
            + " or ".join(allowed)
        )

    review_round = await current_round(session, case)
    images = await round_images(session, case, review_round)
    if decision == "approve":
        blockers = await approval_blockers(session, review_round, images, now=now)
        if blockers:
            raise Conflict(
                f"Review case {case_id} cannot be approved: "
                + "; ".join(blocker["detail"] for blocker in blockers),
                blockers=blockers,
            )
    if decision == "request_changes" and checklist:
        _check_checklist(checklist, images)

    # The row lock above already serialises deciders; the state condition keeps the
    # transition correct even without it.
    result = await session.execute(
        update(ReviewCase)
        .where(ReviewCase.id == case.id, ReviewCase.state.in_(allowed))
        .values(state=DECISION_STATES[decision], decided_at=now, updated_at=now)
        .execution_options(synchronize_session="fetch")
    )
    if result.rowcount != 1:
        raise Conflict(f"Review case {case_id} was decided by someone else meanwhile")

    review_round.decision = DECISION_STATES[decision]
    review_round.decided_at = now
    review_round.decided_by = reviewer_id
    review_round.reason = reason
    review_round.checklist = checklist
    await session.flush()

    approved_images = []
    if decision == "approve":
        approved_images = [
            ReviewedImage(tier_id=image.tier_id, source=image.reference, digest=image.scan.digest) for image in images
        ]
    await emit(
        session,
        DECISION_EVENTS[decision],
        subject=str(case.product_id),
        data=ReviewDecided(
            case_id=case.id,
            product_id=case.product_id,
            version_id=case.version_id,
            version=case.version,
            organisation_id=case.organisation_id,
            namespace=case.namespace,
            slug=case.slug,
            reviewer_id=reviewer_id,
            reason=reason,
            images=approved_images,
            round=case.current_round,
            checklist=checklist,
        ),
    )
    log.info("review.decided", case_id=str(case.id), decision=decision, round=case.current_round)
    return case


def _check_checklist(checklist: dict[str, Any], images: list[RoundImage]) -> None:
    digests = {image.scan.digest for image in images if image.scan is not None and image.scan.digest}
    for index, item in enumerate(checklist.get("findings", [])):
        if item["image_digest"] not in digests:
            raise InvalidValue(
                f"Checklist finding {index} names image {item['image_digest']!r}, which is not an image of this "
                "round; use the digest of one of the round's scans",
                field=f"findings.{index}.image_digest",
            )


async def assign(session: AsyncSession, case_id: uuid.UUID, reviewer_id: uuid.UUID | None) -> ReviewCase:
    case = await get_case(session, case_id, for_update=True)
    case.assignee_id = reviewer_id
    case.updated_at = current_time(session)
    await session.flush()
    log.info("review.assigned", case_id=str(case_id), reviewer_id=str(reviewer_id) if reviewer_id else None)
    return case


async def approved_case_of_version(session: AsyncSession, version_id: uuid.UUID) -> ReviewCase | None:
    return (
        await session.execute(
            select(ReviewCase).where(ReviewCase.version_id == version_id, ReviewCase.state == "approved")
        )
    ).scalar_one_or_none()
