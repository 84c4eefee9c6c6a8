"""Events the moderation service consumes, by type.

Delivery is at least once and unordered across subjects, so each handler checks the
state it changes. The time an event occurred orders the changes it reports for a finding.
"""

from __future__ import annotations

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.moderation import certification, findings, listings, reviews, sla
from services.moderation.models import Scan
from services.moderation.session_context import now as current_time
from shared.events import Envelope, Handler
from shared.events.schemas import (
    ImagePromoted,
    ProductPublished,
    ProductSubmitted,
    ProductUnlisted,
    ProductWithdrawn,
    ScanCompleted,
    ScanFailed,
    VulnerabilityChanged,
)

log = structlog.get_logger()


async def on_product_submitted(session: AsyncSession, envelope: Envelope, data: ProductSubmitted) -> None:
    await reviews.open_round(session, data, submitted_at=envelope.occurred_at)


async def on_product_withdrawn(session: AsyncSession, envelope: Envelope, data: ProductWithdrawn) -> None:
    await reviews.withdraw_round(session, data)


async def on_scan_completed(session: AsyncSession, envelope: Envelope, data: ScanCompleted) -> None:
    now = current_time(session)
    if data.findings is not None:
        resolved = await findings.replace_image_findings(
            session,
            image_digest=data.image.digest,
            organisation_id=data.organisation_id,
            findings=data.findings,
            occurred_at=envelope.occurred_at,
        )
        await sla.close_for_findings(session, resolved, reason="resolved", now=now)

    if data.version_id is None or data.tier_id is None:
        log.info("scan.not_for_review", scan_id=str(data.scan_id), digest=data.image.digest)
        return

    scan = Scan(
        scan_id=data.scan_id,
        version_id=data.version_id,
        tier_id=data.tier_id,
        reference=data.image.reference,
        digest=data.image.digest,
        status="completed",
        failure_reason=None,
        counts=dict(data.counts),
        checks_passed=data.checks_passed,
        plugin_checks_passed=data.plugin_checks_passed,
        findings_itemised=data.findings is not None,
        platform_digests=list(data.platform_digests or []),
        occurred_at=envelope.occurred_at,
        received_at=now,
    )
    case = await reviews.record_scan(session, scan)

    # A failing check on any version breaks a certification's conditions.
    product_id = data.product_id or (case.product_id if case else None)
    if product_id is not None and (data.checks_passed is False or data.plugin_checks_passed is False):
        version = case.version if case else str(data.version_id)
        await certification.withdraw_for_product(
            session,
            product_id,
            reason=f"The checks of {data.image.reference} failed on version {version}",
            now=now,
        )


async def on_scan_failed(session: AsyncSession, envelope: Envelope, data: ScanFailed) -> None:
    if data.version_id is None or data.tier_id is None:
        log.info("scan.not_for_review", scan_id=str(data.scan_id), reference=data.reference)
        return
    scan = Scan(
        scan_id=data.scan_id,
        version_id=data.version_id,
        tier_id=data.tier_id,
        reference=data.reference,
        digest=None,
        status="failed",
        failure_reason=data.reason,
        counts={},
        checks_passed=None,
        plugin_checks_passed=None,
        findings_itemised=False,
        platform_digests=[],
        occurred_at=envelope.occurred_at,
        received_at=current_time(session),
    )
    await reviews.record_scan(session, scan)


async def on_vulnerability_detected(session: AsyncSession, envelope: Envelope, data: VulnerabilityChanged) -> None:
    keys = []
    for image_digest in await findings.reviewed_digests_of(session, data.image_digest):
        keys += await findings.record_findings(
            session,
            image_digest=image_digest,
            organisation_id=data.organisation_id,
            findings=data.findings,
            occurred_at=envelope.occurred_at,
        )
    # The detection may also carry a new class (a staff classification in scanning).
    rows = await findings.get_findings(session, keys)
    await sla.apply_classes(session, rows, now=current_time(session))


async def on_vulnerability_resolved(session: AsyncSession, envelope: Envelope, data: VulnerabilityChanged) -> None:
    keys = [
        findings.FindingKey(image_digest, finding.vulnerability_id, finding.package)
        for image_digest in await findings.reviewed_digests_of(session, data.image_digest)
        for finding in data.findings
    ]
    resolved = await findings.resolve_findings(session, keys, occurred_at=envelope.occurred_at)
    await sla.close_for_findings(session, resolved, reason="resolved", now=current_time(session))


async def on_published(session: AsyncSession, envelope: Envelope, data: ProductPublished) -> None:
    await listings.record_publication(
        session, data, published_at=envelope.occurred_at, now=current_time(session)
    )


async def on_product_unlisted(session: AsyncSession, envelope: Envelope, data: ProductUnlisted) -> None:
    await listings.record_unlisting(session, data, now=current_time(session))


async def on_image_promoted(session: AsyncSession, envelope: Envelope, data: ImagePromoted) -> None:
    await listings.record_promotion(session, data, now=current_time(session))


HANDLERS: dict[str, Handler] = {
    "catalog.product.submitted": on_product_submitted,
    "catalog.product.withdrawn": on_product_withdrawn,
    "scanning.scan.completed": on_scan_completed,
    "scanning.scan.failed": on_scan_failed,
    "scanning.vulnerability.detected": on_vulnerability_detected,
    "scanning.vulnerability.resolved": on_vulnerability_resolved,
    "catalog.product.published": on_published,
    "catalog.version.published": on_published,
    "catalog.product.unlisted": on_product_unlisted,
    "licensing.image.promoted": on_image_promoted,
}
