"""Use cases of the vulnerability database: importing feeds, assessing images, notifying.

These functions take the caller's session and never commit: the request or the event
handler owns the transaction, so findings and the events about them land together.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.events import emit
from shared.events.schemas import FindingRef, VulnerabilityChanged

from .assessment import ImageChange, ImageInventory, assess_image, reassess_packages
from .classification import effective_class
from .feed_import import ImportReport, import_feed
from .models import Finding
from .osv import Feed

log = structlog.get_logger(__name__)

DETECTED = "scanning.vulnerability.detected"
RESOLVED = "scanning.vulnerability.resolved"
# Key of the PostgreSQL advisory lock that one feed import at a time holds. The scanning
# service has its own database, so no other service's lock can share it.
FEED_IMPORT_LOCK = 0x5743414E


async def lock_feed_imports(session: AsyncSession, *, wait: bool) -> bool:
    """Take the feed import lock until the session's transaction ends; return whether it was taken.

    Two imports of one feed at once would insert the same records twice. With `wait`,
    this waits for a running import to finish and always returns True.
    """
    if wait:
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": FEED_IMPORT_LOCK})
        return True
    locked = await session.scalar(
        text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": FEED_IMPORT_LOCK}
    )
    return bool(locked)


@dataclass(slots=True)
class ImportOutcome:
    """The reports of a batch of feed imports and the image changes they caused."""

    reports: list[ImportReport] = field(default_factory=list)
    changes: list[ImageChange] = field(default_factory=list)


def image_digest(reference: str) -> str:
    """Return the digest part of `repository@digest`, or the reference if it has none."""
    return reference.rsplit("@", 1)[-1]


def _finding_ref(finding: Finding) -> FindingRef:
    return FindingRef(
        finding_id=finding.id,
        vulnerability_id=finding.vulnerability_id,
        aliases=list(finding.aliases),
        package=finding.package,
        installed_version=finding.installed_version,
        fixed_version=finding.fixed_version,
        cvss_score=finding.cvss_score,
        finding_class=effective_class(finding).value,
    )


async def emit_changes(session: AsyncSession, changes: list[ImageChange]) -> int:
    """Write one detected and one resolved event per changed image to the outbox.

    Returns the number of events written. An image with nothing detected gets no
    detected event, and likewise for resolved.
    """
    written = 0
    for change in changes:
        for event_type, findings in ((DETECTED, change.detected), (RESOLVED, change.resolved)):
            if not findings:
                continue
            data = VulnerabilityChanged(
                image_digest=image_digest(change.reference),
                organisation_id=change.organization_id,
                findings=[_finding_ref(finding) for finding in findings],
            )
            await emit(session, event_type, subject=str(change.image_id), data=data)
            written += 1
    return written


async def import_feeds(session: AsyncSession, feeds: list[Feed], *, now: datetime) -> ImportOutcome:
    """Import feeds, re-match the inventories their changes affect and emit the results."""
    outcome = ImportOutcome()
    changed_packages: set[tuple[str, str]] = set()
    for feed in feeds:
        report = await import_feed(session, feed, now=now)
        outcome.reports.append(report)
        changed_packages |= report.changed_packages

    if changed_packages:
        outcome.changes = await reassess_packages(session, changed_packages, now=now)
        await emit_changes(session, outcome.changes)
    return outcome


async def assess_inventory(
    session: AsyncSession, inventory: ImageInventory, *, now: datetime, notify: bool = False
) -> ImageChange:
    """Match a freshly scanned image and store its findings.

    A first scan reports its findings through the scan's own completion event, so it
    notifies only when asked, as a rescan of a known image should.
    """
    change = await assess_image(session, inventory, now=now)
    if notify:
        await emit_changes(session, [change])
    return change
