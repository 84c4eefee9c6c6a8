"""Finding classes, staff classifications and waivers, and the scan summary.

The store classifies by the highest CVSS base score of a finding's alias group:
7.0–10.0 Critical (fix within 72 hours), 4.0–6.9 Major (7 days), 0.1–3.9 Minor (no
deadline). A finding with no score, or a score of 0.0, is unclassified until staff
classify it. A staff classification overrides the score's class.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

import structlog
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from .models import Finding, FindingClassification, FindingWaiver

log = structlog.get_logger(__name__)


class FindingClass(StrEnum):
    CRITICAL = "critical"
    MAJOR = "major"
    MINOR = "minor"
    UNCLASSIFIED = "unclassified"


# Classes staff may assign; "unclassified" is only ever the absence of a score.
STAFF_CLASSES = (FindingClass.CRITICAL, FindingClass.MAJOR, FindingClass.MINOR)


class WaiverKind(StrEnum):
    NOT_AFFECTED = "not_affected"
    FALSE_POSITIVE = "false_positive"


class FindingNotFound(LookupError):
    def __init__(self, finding_id: uuid.UUID) -> None:
        super().__init__(f"finding {finding_id} not found")
        self.finding_id = finding_id


class InvalidDecision(ValueError):
    """A classification or waiver that cannot be recorded, naming the value at fault."""

    def __init__(self, field_name: str, detail: str) -> None:
        super().__init__(detail)
        self.field_name = field_name
        self.detail = detail


def class_for_score(score: float | None) -> FindingClass:
    """Map a CVSS base score to the store's class."""
    if score is None:
        return FindingClass.UNCLASSIFIED
    if score >= 7.0:
        return FindingClass.CRITICAL
    if score >= 4.0:
        return FindingClass.MAJOR
    if score >= 0.1:
        return FindingClass.MINOR
    return FindingClass.UNCLASSIFIED


def effective_class(finding: Finding) -> FindingClass:
    """Return the staff classification of a finding if there is one, else its score's class."""
    if finding.staff_class:
        return FindingClass(finding.staff_class)
    return FindingClass(finding.cvss_class)


async def _get_finding(session: AsyncSession, finding_id: uuid.UUID) -> Finding:
    finding = await session.get(Finding, finding_id)
    if finding is None:
        raise FindingNotFound(finding_id)
    return finding


async def classify_finding(
    session: AsyncSession,
    finding_id: uuid.UUID,
    *,
    finding_class: str,
    reason: str,
    staff_id: uuid.UUID,
    now: datetime,
) -> FindingClassification:
    """Record a staff classification of a finding; it applies from now on."""
    if finding_class not in {c.value for c in STAFF_CLASSES}:
        allowed = ", ".join(c.value for c in STAFF_CLASSES)
        raise InvalidDecision("class", f"class {finding_class!r} is not one of {allowed}")
    if not reason.strip():
        raise InvalidDecision("reason", "a classification needs a reason")

    finding = await _get_finding(session, finding_id)
    decision = FindingClassification(
        finding_id=finding.id,
        finding_class=finding_class,
        reason=reason.strip(),
        staff_id=staff_id,
        created_at=now,
    )
    session.add(decision)
    finding.staff_class = finding_class
    await session.flush()

    log.info(
        "finding_classified",
        finding_id=str(finding.id),
        finding_class=finding_class,
        staff_id=str(staff_id),
    )
    return decision


async def waive_finding(
    session: AsyncSession,
    finding_id: uuid.UUID,
    *,
    kind: str,
    reason: str,
    staff_id: uuid.UUID,
    now: datetime,
    expires_at: datetime | None = None,
) -> FindingWaiver:
    """Record a staff waiver of a finding, in force until `expires_at` if given."""
    if kind not in {k.value for k in WaiverKind}:
        allowed = ", ".join(k.value for k in WaiverKind)
        raise InvalidDecision("kind", f"waiver kind {kind!r} is not one of {allowed}")
    if not reason.strip():
        raise InvalidDecision("reason", "a waiver needs a reason")
    if expires_at is not None and expires_at <= now:
        raise InvalidDecision("expires_at", f"expiry {expires_at.isoformat()} is not in the future")

    finding = await _get_finding(session, finding_id)
    waiver = FindingWaiver(
        finding_id=finding.id,
        kind=kind,
        reason=reason.strip(),
        staff_id=staff_id,
        created_at=now,
        expires_at=expires_at,
    )
    session.add(waiver)
    await session.flush()

    log.info("finding_waived", finding_id=str(finding.id), kind=kind, staff_id=str(staff_id))
    return waiver


async def waivers_in_force(
    session: AsyncSession, finding_ids: Iterable[uuid.UUID], now: datetime
) -> dict[uuid.UUID, FindingWaiver]:
    """Return the latest waiver in force at `now` for each of the findings that has one."""
    ids = list(finding_ids)
    if not ids:
        return {}
    result = await session.execute(
        select(FindingWaiver)
        .where(FindingWaiver.finding_id.in_(ids))
        .where(or_(FindingWaiver.expires_at.is_(None), FindingWaiver.expires_at > now))
        .order_by(FindingWaiver.created_at)
    )
    return {waiver.finding_id: waiver for waiver in result.scalars()}


@dataclass(slots=True)
class ScanSummary:
    """Counts of open findings that are not waived, per class, and what can be fixed."""

    counts: dict[str, int] = field(default_factory=lambda: {c.value: 0 for c in FindingClass})
    waived: int = 0
    highest_score: float | None = None
    fixable: int = 0  # open, unwaived findings with a fixed version

    @property
    def fixes_available(self) -> bool:
        return self.fixable > 0


def summarize(findings: Sequence[Finding], waived_ids: Iterable[uuid.UUID]) -> ScanSummary:
    """Summarise an image's open findings; waived ones are counted apart."""
    waived = set(waived_ids)
    summary = ScanSummary()
    for finding in findings:
        if finding.status != "open":
            continue
        if finding.id in waived:
            summary.waived += 1
            continue

        summary.counts[effective_class(finding).value] += 1
        if finding.fixed_version:
            summary.fixable += 1
        if finding.cvss_score is not None:
            if summary.highest_score is None or finding.cvss_score > summary.highest_score:
                summary.highest_score = finding.cvss_score
    return summary
