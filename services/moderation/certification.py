"""Certification badges: a publisher's request, the conditions, a reviewer's grant, withdrawal.

A product qualifies while its listing is live and its live version's images pass the
best-practice checks (plugins also the plugin configuration checks). Those images must
have no open Critical or Major finding that is not waived. The listing must name a
support link and a support response time (its SLA). The publisher attests joint support
and names the platforms it tested on. A grant re-checks every condition; a hold or a failing check on
a new version withdraws the badge.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.moderation.findings import blocking_findings
from services.moderation.models import Certification, Listing, LiveImage, ReviewCase, ReviewRound, Scan
from shared.errors import Conflict, NotFound
from shared.events import emit
from shared.events.schemas import CertificationChanged

log = structlog.get_logger()

BADGE_FOR_PRODUCT_TYPE = {"image": "certified_container", "plugin": "certified_plugin"}


async def unmet_conditions(
    session: AsyncSession,
    listing: Listing,
    *,
    badge: str,
    joint_support_attested: bool,
    tested_platforms: list[str],
    now: datetime,
) -> list[str]:
    """Return a message for each condition the product does not meet; empty when it qualifies."""
    unmet = []
    expected_badge = BADGE_FOR_PRODUCT_TYPE.get(listing.product_type)
    if badge != expected_badge:
        unmet.append(f"A product of type {listing.product_type} can only receive the badge {expected_badge}")
    if listing.state != "live":
        unmet.append(f"The listing is {listing.state}; it must be live")

    images = list(
        (await session.execute(select(LiveImage).where(LiveImage.product_id == listing.product_id))).scalars()
    )
    scans = await _live_scans(session, listing.live_version_id, [image.image_digest for image in images])
    for image in images:
        scan = scans.get(image.image_digest)
        if scan is None or scan.checks_passed is not True:
            unmet.append(f"The best-practice checks of {image.source} have not passed")
        if listing.product_type == "plugin" and (scan is None or scan.plugin_checks_passed is not True):
            unmet.append(f"The plugin configuration checks of {image.source} have not passed")

    findings = await blocking_findings(session, [image.image_digest for image in images], now=now)
    if findings:
        listed = ", ".join(sorted({finding.vulnerability_id for finding in findings}))
        unmet.append(f"{len(findings)} Critical or Major findings are open and not waived: {listed}")

    support = (await _live_manifest(session, listing.live_version_id)).get("support") or {}
    if not support.get("url"):
        unmet.append("The listing has no support link")
    if not support.get("offered") or not support.get("response_time"):
        unmet.append("The listing offers no support SLA: set support.offered and support.response_time")
    if not joint_support_attested:
        unmet.append("The publisher has not attested that it offers joint support")
    if not tested_platforms:
        unmet.append("The platforms the product was tested on are missing")
    return unmet


async def _live_scans(session: AsyncSession, version_id: uuid.UUID, digests: list[str]) -> dict[str, Scan]:
    rows = await session.execute(
        select(Scan)
        .where(Scan.version_id == version_id, Scan.digest.in_(digests), Scan.status == "completed")
        .order_by(Scan.occurred_at)
    )
    return {scan.digest: scan for scan in rows.scalars()}


async def _live_manifest(session: AsyncSession, version_id: uuid.UUID) -> dict:
    manifest = await session.execute(
        select(ReviewRound.manifest)
        .join(ReviewCase, ReviewCase.id == ReviewRound.case_id)
        .where(ReviewCase.version_id == version_id, ReviewRound.number == ReviewCase.current_round)
    )
    return manifest.scalar_one_or_none() or {}


async def get_listing(session: AsyncSession, product_id: uuid.UUID) -> Listing:
    listing = await session.get(Listing, product_id)
    if listing is None:
        raise NotFound(f"Published product {product_id} not found")
    return listing


async def get_certification(session: AsyncSession, certification_id: uuid.UUID, *, for_update: bool = False) -> Certification:
    statement = select(Certification).where(Certification.id == certification_id)
    if for_update:
        statement = statement.with_for_update()
    found = (await session.execute(statement)).scalar_one_or_none()
    if found is None:
        raise NotFound(f"Certification {certification_id} not found")
    return found


async def request(
    session: AsyncSession,
    listing: Listing,
    *,
    badge: str,
    joint_support_attested: bool,
    tested_platforms: list[str],
    requested_by: uuid.UUID,
    now: datetime,
) -> Certification:
    """Record a request that meets every condition; raise Conflict listing the unmet ones."""
    unmet = await unmet_conditions(
        session,
        listing,
        badge=badge,
        joint_support_attested=joint_support_attested,
        tested_platforms=tested_platforms,
        now=now,
    )
    if unmet:
        raise Conflict(
            f"Product {listing.product_id} does not meet the conditions of {badge}: " + "; ".join(unmet),
            unmet=unmet,
        )

    active = await session.execute(
        select(Certification.id).where(
            Certification.product_id == listing.product_id,
            Certification.badge == badge,
            Certification.state.in_(("requested", "granted")),
        )
    )
    if (existing := active.scalar_one_or_none()) is not None:
        raise Conflict(f"Product {listing.product_id} already has certification {existing} for {badge}")

    certification = Certification(
        id=uuid.uuid4(),
        product_id=listing.product_id,
        organisation_id=listing.organisation_id,
        badge=badge,
        state="requested",
        requested_by=requested_by,
        requested_at=now,
        joint_support_attested=joint_support_attested,
        tested_platforms=tested_platforms,
    )
    session.add(certification)
    await session.flush()
    log.info("certification.requested", certification_id=str(certification.id), product_id=str(listing.product_id))
    return certification


async def grant(
    session: AsyncSession, certification_id: uuid.UUID, *, reviewer_id: uuid.UUID, note: str, now: datetime
) -> Certification:
    certification = await get_certification(session, certification_id, for_update=True)
    if certification.state != "requested":
        raise Conflict(f"Certification {certification_id} is {certification.state}; only a request can be granted")

    listing = await get_listing(session, certification.product_id)
    unmet = await unmet_conditions(
        session,
        listing,
        badge=certification.badge,
        joint_support_attested=certification.joint_support_attested,
        tested_platforms=certification.tested_platforms,
        now=now,
    )
    if unmet:
        raise Conflict(
            f"Certification {certification_id} cannot be granted: " + "; ".join(unmet), unmet=unmet
        )

    certification.state = "granted"
    certification.granted_by = reviewer_id
    certification.granted_at = now
    certification.note = note
    await session.flush()
    await emit(
        session,
        "moderation.certification.granted",
        subject=str(certification.product_id),
        data=CertificationChanged(
            product_id=certification.product_id,
            organisation_id=certification.organisation_id,
            badge=certification.badge,
            reason=note,
        ),
    )
    log.info("certification.granted", certification_id=str(certification.id))
    return certification


async def withdraw(
    session: AsyncSession,
    certification: Certification,
    *,
    reason: str,
    now: datetime,
    withdrawn_by: uuid.UUID | None = None,
) -> bool:
    """Withdraw a granted badge or a pending request; emit the event for a granted badge."""
    was_granted = certification.state == "granted"
    result = await session.execute(
        update(Certification)
        .where(Certification.id == certification.id, Certification.state.in_(("requested", "granted")))
        .values(state="withdrawn", withdrawn_at=now, withdrawn_by=withdrawn_by, withdrawn_reason=reason)
        .returning(Certification.state)
        .execution_options(synchronize_session=False)
    )
    if result.first() is None:
        return False
    await session.refresh(certification)

    if was_granted:
        await emit(
            session,
            "moderation.certification.withdrawn",
            subject=str(certification.product_id),
            data=CertificationChanged(
                product_id=certification.product_id,
                organisation_id=certification.organisation_id,
                badge=certification.badge,
                reason=reason,
            ),
        )
    log.info("certification.withdrawn", certification_id=str(certification.id), reason=reason)
    return True


async def withdraw_for_product(session: AsyncSession, product_id: uuid.UUID, *, reason: str, now: datetime) -> int:
    """Withdraw every granted badge and pending request of a product; return how many."""
    rows = await session.execute(
        select(Certification)
        .where(Certification.product_id == product_id, Certification.state.in_(("requested", "granted")))
        .with_for_update()
    )
    withdrawn = 0
    for certification in rows.scalars().all():
        if await withdraw(session, certification, reason=reason, now=now):
            withdrawn += 1
    return withdrawn
