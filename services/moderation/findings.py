"""The findings of each image as scanning reports them, and the staff decisions on them.

Findings arrive in `scanning.scan.completed` (every open finding of the image) and in
`scanning.vulnerability.detected` / `resolved` (changes after a feed import). Events are
unordered, so each row keeps the time of the newest event applied and an older event
changes nothing. A waiver or a staff class recorded here overrides what scanning says for
the approval gate and the SLA.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.moderation.models import Finding, Scan, Waiver
from shared.events.schemas import FindingRef

log = structlog.get_logger()

# Classes that block approval and start an SLA clock.
BLOCKING_CLASSES = ("critical", "major")


@dataclass(frozen=True)
class FindingKey:
    image_digest: str
    vulnerability_id: str
    package: str


def effective_class_column():
    return func.coalesce(Finding.staff_class, Finding.finding_class)


def active_waiver_clause(now: datetime):
    """Match findings that have a waiver in force at `now`."""
    return (
        select(Waiver.id)
        .where(
            Waiver.image_digest == Finding.image_digest,
            Waiver.vulnerability_id == Finding.vulnerability_id,
            or_(Waiver.expires_at.is_(None), Waiver.expires_at > now),
        )
        .exists()
    )


async def active_waivers(session: AsyncSession, image_digest: str, *, now: datetime) -> dict[str, Waiver]:
    """Return the latest waiver in force at `now` of each vulnerability of an image."""
    rows = await session.execute(
        select(Waiver)
        .where(
            Waiver.image_digest == image_digest,
            or_(Waiver.expires_at.is_(None), Waiver.expires_at > now),
        )
        .order_by(Waiver.created_at)
    )
    # Later waivers replace earlier ones in the dictionary.
    return {waiver.vulnerability_id: waiver for waiver in rows.scalars()}


async def record_findings(
    session: AsyncSession,
    *,
    image_digest: str,
    organisation_id: uuid.UUID | None,
    findings: list[FindingRef],
    occurred_at: datetime,
) -> list[FindingKey]:
    """Upsert findings as open, unless a newer event already changed them; return their keys."""
    keys = []
    for finding in findings:
        values = {
            "image_digest": image_digest,
            "vulnerability_id": finding.vulnerability_id,
            "package": finding.package,
            "organisation_id": organisation_id,
            "installed_version": finding.installed_version,
            "fixed_version": finding.fixed_version,
            "cvss_score": finding.cvss_score,
            "aliases": list(finding.aliases),
            "finding_class": finding.finding_class,
            "state": "open",
            "detected_at": occurred_at,
            "resolved_at": None,
            "changed_at": occurred_at,
        }
        statement = insert(Finding).values(**values)
        excluded = statement.excluded
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=["image_digest", "vulnerability_id", "package"],
                set_={
                    "organisation_id": func.coalesce(excluded.organisation_id, Finding.organisation_id),
                    "installed_version": excluded.installed_version,
                    "fixed_version": excluded.fixed_version,
                    "cvss_score": excluded.cvss_score,
                    "aliases": excluded.aliases,
                    "finding_class": excluded.finding_class,
                    "state": "open",
                    "resolved_at": None,
                    "changed_at": excluded.changed_at,
                    # A finding that comes back after being resolved is detected anew.
                    "detected_at": case(
                        (Finding.state == "resolved", excluded.detected_at), else_=Finding.detected_at
                    ),
                },
                where=Finding.changed_at <= excluded.changed_at,
            )
        )
        keys.append(FindingKey(image_digest, finding.vulnerability_id, finding.package))
    return keys


async def resolve_findings(
    session: AsyncSession, keys: list[FindingKey], *, occurred_at: datetime
) -> list[FindingKey]:
    """Mark findings resolved unless a newer event reopened them; return those changed."""
    resolved = []
    for key in keys:
        result = await session.execute(
            update(Finding)
            .where(
                Finding.image_digest == key.image_digest,
                Finding.vulnerability_id == key.vulnerability_id,
                Finding.package == key.package,
                Finding.state == "open",
                Finding.changed_at <= occurred_at,
            )
            .values(state="resolved", resolved_at=occurred_at, changed_at=occurred_at)
        )
        if result.rowcount == 1:
            resolved.append(key)
    return resolved


async def replace_image_findings(
    session: AsyncSession,
    *,
    image_digest: str,
    organisation_id: uuid.UUID | None,
    findings: list[FindingRef],
    occurred_at: datetime,
) -> list[FindingKey]:
    """Apply a scan's full list: upsert what it lists, resolve the open ones it no longer lists.

    Returns the keys of the findings this scan resolved.
    """
    listed = await record_findings(
        session, image_digest=image_digest, organisation_id=organisation_id, findings=findings, occurred_at=occurred_at
    )
    listed_set = {(key.vulnerability_id, key.package) for key in listed}
    open_rows = (
        await session.execute(
            select(Finding.vulnerability_id, Finding.package).where(
                Finding.image_digest == image_digest, Finding.state == "open"
            )
        )
    ).all()
    gone = [
        FindingKey(image_digest, row.vulnerability_id, row.package)
        for row in open_rows
        if (row.vulnerability_id, row.package) not in listed_set
    ]
    return await resolve_findings(session, gone, occurred_at=occurred_at)


async def reviewed_digests_of(session: AsyncSession, image_digest: str) -> list[str]:
    """Return the digest itself and every scanned index that contains it as a platform image.

    Reviews, approvals and live listings name an image by the digest scanning resolved its
    tag to, which for a multi-platform image is the index. Vulnerability events name each
    platform's image, so their findings are recorded under both.
    """
    indexes = await session.execute(
        select(Scan.digest).where(Scan.platform_digests.contains([image_digest])).distinct()
    )
    # NOTE: a finding resolved on one platform image is resolved for the whole index,
    # even when another platform image of it still has the finding.
    return [image_digest, *sorted(digest for digest in indexes.scalars() if digest and digest != image_digest)]


async def blocking_findings(session: AsyncSession, digests: list[str], *, now: datetime) -> list[Finding]:
    """Return the open Critical and Major findings of these images that no waiver covers."""
    if not digests:
        return []
    rows = await session.execute(
        select(Finding)
        .where(
            Finding.image_digest.in_(digests),
            Finding.state == "open",
            effective_class_column().in_(BLOCKING_CLASSES),
            ~active_waiver_clause(now),
        )
        .order_by(Finding.image_digest, Finding.vulnerability_id, Finding.package)
    )
    return list(rows.scalars())


async def get_findings(session: AsyncSession, keys: list[FindingKey]) -> list[Finding]:
    if not keys:
        return []
    clauses = [
        and_(
            Finding.image_digest == key.image_digest,
            Finding.vulnerability_id == key.vulnerability_id,
            Finding.package == key.package,
        )
        for key in keys
    ]
    return list((await session.execute(select(Finding).where(or_(*clauses)))).scalars())


async def open_findings_of(session: AsyncSession, image_digest: str, vulnerability_id: str) -> list[Finding]:
    rows = await session.execute(
        select(Finding).where(
            Finding.image_digest == image_digest,
            Finding.vulnerability_id == vulnerability_id,
            Finding.state == "open",
        )
    )
    return list(rows.scalars())


async def has_active_waiver(session: AsyncSession, image_digest: str, vulnerability_id: str, *, now: datetime) -> bool:
    row = await session.execute(
        select(Waiver.id)
        .where(
            Waiver.image_digest == image_digest,
            Waiver.vulnerability_id == vulnerability_id,
            or_(Waiver.expires_at.is_(None), Waiver.expires_at > now),
        )
        .limit(1)
    )
    return row.first() is not None


async def add_waiver(
    session: AsyncSession,
    *,
    image_digest: str,
    vulnerability_id: str,
    reason: str,
    waived_by: uuid.UUID,
    now: datetime,
    expires_at: datetime | None = None,
    case_id: uuid.UUID | None = None,
    sla_case_id: uuid.UUID | None = None,
) -> Waiver:
    waiver = Waiver(
        id=uuid.uuid4(),
        image_digest=image_digest,
        vulnerability_id=vulnerability_id,
        reason=reason,
        waived_by=waived_by,
        created_at=now,
        expires_at=expires_at,
        case_id=case_id,
        sla_case_id=sla_case_id,
    )
    session.add(waiver)
    await session.flush()
    log.info(
        "finding.waived",
        image_digest=image_digest,
        vulnerability_id=vulnerability_id,
        waiver_id=str(waiver.id),
        expires_at=expires_at.isoformat() if expires_at else None,
    )
    return waiver


async def reclassify(
    session: AsyncSession,
    *,
    image_digest: str,
    vulnerability_id: str,
    finding_class: str,
    reason: str,
    classified_by: uuid.UUID,
) -> list[Finding]:
    """Set the staff class on every package's finding of this vulnerability in the image."""
    result = await session.execute(
        update(Finding)
        .where(Finding.image_digest == image_digest, Finding.vulnerability_id == vulnerability_id)
        .values(staff_class=finding_class, staff_class_reason=reason, classified_by=classified_by)
        .returning(Finding)
        .execution_options(synchronize_session=False)
    )
    changed = list(result.scalars())
    log.info(
        "finding.reclassified",
        image_digest=image_digest,
        vulnerability_id=vulnerability_id,
        finding_class=finding_class,
        rows=len(changed),
    )
    return changed
