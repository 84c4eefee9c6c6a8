"""The vulnerability-fix SLA: one case per Critical or Major finding on a published image.

A case opens when the publisher is notified (`moderation.sla.started` is that notice), so
its clock starts at that moment: 72 hours for Critical, 7 days for Major by default.
Minor findings get no case; they stay listed with the image's findings. A case closes
when a newer published version no longer has the finding, when scanning resolves it, or
when staff waive it or reclassify it below Major. The scheduler breaches cases whose
deadline passed, which puts the listing on hold.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

import structlog
from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.moderation import holds
from services.moderation.findings import BLOCKING_CLASSES, FindingKey, has_active_waiver
from services.moderation.models import ACTIVE_SLA_STATES, Finding, Listing, LiveImage, SlaCase
from services.moderation.session_context import settings
from services.moderation.settings import ModerationSettings
from shared.events import emit
from shared.events.schemas import SlaEvent

log = structlog.get_logger()

# Listing states in which a finding on a live image still has to be fixed.
WATCHED_LISTING_STATES = ("live", "held")


def fix_deadline(finding_class: str, opened_at: datetime, config: ModerationSettings) -> datetime | None:
    """Return when a finding of this class must be fixed, or None if it has no deadline."""
    if finding_class == "critical":
        return opened_at + timedelta(hours=config.critical_fix_hours)
    if finding_class == "major":
        return opened_at + timedelta(hours=config.major_fix_hours)
    return None


def _sla_event(case: SlaCase) -> SlaEvent:
    return SlaEvent(
        sla_case_id=case.id,
        product_id=case.product_id,
        organisation_id=case.organisation_id,
        finding_class=case.finding_class,
        vulnerability_id=case.vulnerability_id,
        deadline=case.deadline,
        image_digest=case.image_digest,
        package=case.package,
    )


async def open_cases_for_findings(session: AsyncSession, findings: Iterable[Finding], *, now: datetime) -> list[SlaCase]:
    """Open a case for each open, unwaived Critical or Major finding on a watched listing's image."""
    opened = []
    for finding in findings:
        if finding.state != "open" or finding.effective_class not in BLOCKING_CLASSES:
            continue
        if await has_active_waiver(session, finding.image_digest, finding.vulnerability_id, now=now):
            continue

        images = await session.execute(
            select(LiveImage, Listing)
            .join(Listing, Listing.product_id == LiveImage.product_id)
            .where(LiveImage.image_digest == finding.image_digest, Listing.state.in_(WATCHED_LISTING_STATES))
        )
        for image, listing in images.all():
            case = await _open_case(session, listing=listing, image=image, finding=finding, now=now)
            if case is not None:
                opened.append(case)
    return opened


async def _open_case(
    session: AsyncSession, *, listing: Listing, image: LiveImage, finding: Finding, now: datetime
) -> SlaCase | None:
    deadline = fix_deadline(finding.effective_class, now, settings(session))
    values = {
        "id": uuid.uuid4(),
        "product_id": listing.product_id,
        "organisation_id": listing.organisation_id,
        "version_id": image.version_id,
        "image_digest": finding.image_digest,
        "vulnerability_id": finding.vulnerability_id,
        "package": finding.package,
        "finding_class": finding.effective_class,
        "state": "open",
        "opened_at": now,
        "deadline": deadline,
    }
    # The partial unique index keeps one running clock per finding: a repeated detection
    # finds it and starts nothing.
    inserted = await session.execute(
        insert(SlaCase)
        .values(**values)
        .on_conflict_do_nothing(
            index_elements=["product_id", "image_digest", "vulnerability_id", "package"],
            index_where=text("state IN ('open', 'breached')"),
        )
        .returning(SlaCase)
    )
    case = inserted.scalar_one_or_none()
    if case is None:
        return None

    await emit(session, "moderation.sla.started", subject=str(case.id), data=_sla_event(case))
    log.info(
        "sla.started",
        sla_case_id=str(case.id),
        product_id=str(case.product_id),
        vulnerability_id=case.vulnerability_id,
        deadline=deadline.isoformat(),
    )
    return case


async def close_cases(session: AsyncSession, *conditions, reason: str, now: datetime) -> list[uuid.UUID]:
    """Close the active cases matching `conditions`, then lift each hold no breached case still justifies."""
    result = await session.execute(
        update(SlaCase)
        .where(SlaCase.state.in_(ACTIVE_SLA_STATES), *conditions)
        .values(state="closed", closed_at=now, close_reason=reason)
        .returning(SlaCase.id, SlaCase.product_id)
        .execution_options(synchronize_session=False)
    )
    rows = result.all()
    for row in rows:
        log.info("sla.closed", sla_case_id=str(row.id), product_id=str(row.product_id), reason=reason)
    for product_id in {row.product_id for row in rows}:
        await holds.lift_hold_if_fixed(session, product_id, now=now)
    return [row.id for row in rows]


async def close_for_findings(
    session: AsyncSession, keys: Iterable[FindingKey], *, reason: str, now: datetime
) -> list[uuid.UUID]:
    closed = []
    for key in keys:
        closed += await close_cases(
            session,
            SlaCase.image_digest == key.image_digest,
            SlaCase.vulnerability_id == key.vulnerability_id,
            SlaCase.package == key.package,
            reason=reason,
            now=now,
        )
    return closed


async def close_for_vulnerability(
    session: AsyncSession, image_digest: str, vulnerability_id: str, *, reason: str, now: datetime
) -> list[uuid.UUID]:
    return await close_cases(
        session,
        SlaCase.image_digest == image_digest,
        SlaCase.vulnerability_id == vulnerability_id,
        reason=reason,
        now=now,
    )


async def apply_classes(
    session: AsyncSession, findings: list[Finding], *, now: datetime
) -> None:
    """Close cases reclassified below Major, move deadlines of the others, open new ones."""
    config = settings(session)
    for finding in findings:
        if finding.effective_class not in BLOCKING_CLASSES:
            await close_for_findings(
                session,
                [FindingKey(finding.image_digest, finding.vulnerability_id, finding.package)],
                reason="reclassified",
                now=now,
            )
            continue

        # The clock keeps its start; only the allowance changes with the class.
        cases = await session.execute(
            select(SlaCase).where(
                SlaCase.image_digest == finding.image_digest,
                SlaCase.vulnerability_id == finding.vulnerability_id,
                SlaCase.package == finding.package,
                SlaCase.state == "open",
            )
        )
        for case in cases.scalars():
            case.finding_class = finding.effective_class
            case.deadline = fix_deadline(finding.effective_class, case.opened_at, config)
        await session.flush()
    await open_cases_for_findings(session, findings, now=now)


async def breach_case(session: AsyncSession, case: SlaCase, *, now: datetime) -> bool:
    """Breach an open case whose deadline passed and hold its listing; return whether it moved."""
    result = await session.execute(
        update(SlaCase)
        .where(SlaCase.id == case.id, SlaCase.state == "open", SlaCase.deadline <= now)
        .values(state="breached", breached_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False

    await emit(session, "moderation.sla.breached", subject=str(case.id), data=_sla_event(case))
    log.info("sla.breached", sla_case_id=str(case.id), product_id=str(case.product_id))

    reason = (
        f"The {case.finding_class} finding {case.vulnerability_id} in {case.package} "
        f"(image {case.image_digest}) was not fixed by {case.deadline.isoformat()}"
    )
    await holds.hold_listing(session, case.product_id, reason=reason, now=now)
    return True
