"""Events the notifications service consumes, by type.

Identity, catalog and licensing events feed the read models; identity account events,
catalog versions, scanning, moderation and audit events queue messages. Handlers run
once per event id (the inbox), and message dedupe keys stop a second copy of the same
notice from a different event.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from shared.events import Handler
from shared.events.envelope import Envelope
from shared.events import schemas as events
from services.notifications import read_models
from services.notifications.notices import (
    notify_product_subscribers,
    notify_publisher,
    product_context,
    send_account_email,
)
from services.notifications.topics import Topic


def _store_url(session: AsyncSession) -> str:
    return session.info["runtime"].settings.store_url.rstrip("/")


# Identity.


async def on_user_registered(session: AsyncSession, envelope: Envelope, data: events.UserRegistered) -> None:
    await read_models.record_user(
        session, user_id=data.user_id, email=data.email, username=data.username, at=envelope.occurred_at
    )


async def on_verification_requested(
    session: AsyncSession, envelope: Envelope, data: events.VerificationRequested
) -> None:
    await send_account_email(
        session,
        envelope,
        kind="verify_email",
        to=data.email,
        user_id=data.user_id,
        context={"link": data.link, "expires_at": data.expires_at},
    )


async def on_password_reset_requested(
    session: AsyncSession, envelope: Envelope, data: events.PasswordResetRequested
) -> None:
    await send_account_email(
        session,
        envelope,
        kind="reset_password",
        to=data.email,
        user_id=data.user_id,
        context={"link": data.link, "expires_at": data.expires_at, "reason": data.reason},
    )


async def on_invitation_created(session: AsyncSession, envelope: Envelope, data: events.InvitationCreated) -> None:
    organisation = await read_models.find_organisation(session, data.organisation_id)
    await send_account_email(
        session,
        envelope,
        kind="invitation",
        to=data.email,
        user_id=None,
        context={
            "organisation": organisation.display_name if organisation else data.namespace,
            "namespace": data.namespace,
            "role": data.role,
            "link": data.link,
            "expires_at": data.expires_at,
        },
    )


async def on_organisation_created(
    session: AsyncSession, envelope: Envelope, data: events.OrganisationCreated
) -> None:
    await read_models.record_organisation(
        session,
        organisation_id=data.organisation_id,
        namespace=data.namespace,
        display_name=data.display_name,
    )
    await read_models.record_membership(
        session,
        organisation_id=data.organisation_id,
        user_id=data.owner_id,
        role="owner",
        at=envelope.occurred_at,
    )


async def on_membership_changed(session: AsyncSession, envelope: Envelope, data: events.MembershipChanged) -> None:
    await read_models.record_membership(
        session,
        organisation_id=data.organisation_id,
        user_id=data.user_id,
        role=data.role,
        at=envelope.occurred_at,
    )


# Catalog and licensing.


async def on_product_submitted(session: AsyncSession, envelope: Envelope, data: events.ProductSubmitted) -> None:
    # A submitted product is not listed yet, and its name comes with publication.
    existing = await read_models.find_product(session, data.product_id)
    if existing is not None:
        return
    name = str(data.manifest.get("name") or data.slug)
    await read_models.record_product(
        session,
        product_id=data.product_id,
        organisation_id=data.organisation_id,
        namespace=data.namespace,
        slug=data.slug,
        name=name,
        version=None,
        listed=False,
        at=envelope.occurred_at,
    )


async def on_product_published(session: AsyncSession, envelope: Envelope, data: events.ProductPublished) -> None:
    await read_models.record_product(
        session,
        product_id=data.product_id,
        organisation_id=data.organisation_id,
        namespace=data.namespace,
        slug=data.slug,
        name=data.name,
        version=data.version,
        listed=True,
        at=envelope.occurred_at,
    )


async def on_version_published(session: AsyncSession, envelope: Envelope, data: events.VersionPublished) -> None:
    await on_product_published(session, envelope, data)

    product = await product_context(session, data.product_id, fallback_slug=data.slug)
    pull_reference = f"{data.store_repository}:{data.version}" if data.store_repository else None
    await notify_product_subscribers(
        session,
        envelope,
        product_id=data.product_id,
        topic=Topic.UPDATES,
        kind="product_update",
        context={"product": product, "version": data.version, "pull_reference": pull_reference},
        downloaders_only=False,
        # Two events announcing one version must not notify twice.
        dedupe_cause=str(data.version_id),
    )


async def on_product_unlisted(session: AsyncSession, envelope: Envelope, data: events.ProductUnlisted) -> None:
    await read_models.mark_product_unlisted(session, product_id=data.product_id, at=envelope.occurred_at)


async def on_image_pulled(session: AsyncSession, envelope: Envelope, data: events.ImagePulled) -> None:
    # Anonymous pulls and pulls outside the store cannot be notified, so they are not kept.
    # A member of the publishing organisation pulling its own image is no customer.
    if data.user_id is None or data.product_id is None or data.publisher_member:
        return
    await read_models.record_download(
        session, user_id=data.user_id, product_id=data.product_id, at=data.pulled_at
    )


# Scanning.


async def on_scan_completed(session: AsyncSession, envelope: Envelope, data: events.ScanCompleted) -> None:
    if data.organisation_id is None:
        return
    await notify_publisher(
        session,
        envelope,
        organisation_id=data.organisation_id,
        topic=Topic.SCAN_RESULTS,
        kind="scan_completed",
        context={
            "product": await product_context(session, data.product_id),
            "reference": data.image.reference,
            "digest": data.image.digest,
            "counts": data.counts,
            "checks_passed": data.checks_passed,
            "findings_url": f"{_store_url(session)}/scans/{data.scan_id}",
        },
    )


async def on_scan_failed(session: AsyncSession, envelope: Envelope, data: events.ScanFailed) -> None:
    if data.organisation_id is None:
        return
    await notify_publisher(
        session,
        envelope,
        organisation_id=data.organisation_id,
        topic=Topic.SCAN_RESULTS,
        kind="scan_failed",
        context={
            "product": await product_context(session, data.product_id),
            "reference": data.reference,
            "reason": data.reason,
        },
    )


async def on_vulnerability_detected(
    session: AsyncSession, envelope: Envelope, data: events.VulnerabilityChanged
) -> None:
    if data.organisation_id is None:
        return
    await notify_publisher(
        session,
        envelope,
        organisation_id=data.organisation_id,
        topic=Topic.VULNERABILITIES,
        kind="vulnerability_detected",
        context={
            "product": await product_context(session, data.product_id),
            "digest": data.image_digest,
            "findings": [finding.model_dump() for finding in data.findings],
        },
    )


# Moderation.


async def on_sla_event(session: AsyncSession, envelope: Envelope, data: events.SlaEvent) -> None:
    kind = "sla_started" if envelope.type == "moderation.sla.started" else "sla_breached"
    await notify_publisher(
        session,
        envelope,
        organisation_id=data.organisation_id,
        topic=Topic.SLA,
        kind=kind,
        context={
            "product": await product_context(session, data.product_id),
            "vulnerability_id": data.vulnerability_id,
            "finding_class": data.finding_class,
            "deadline": data.deadline,
        },
    )


LISTING_KINDS = {
    "moderation.listing.held": "listing_held",
    "moderation.hold.lifted": "hold_lifted",
    "moderation.listing.revoked": "listing_revoked",
}


async def on_listing_hold(session: AsyncSession, envelope: Envelope, data: events.ListingHold) -> None:
    """Warn the customers who downloaded the product and want its security notices, and the publisher."""
    kind = LISTING_KINDS[envelope.type]
    product = await product_context(session, data.product_id)

    await notify_product_subscribers(
        session,
        envelope,
        product_id=data.product_id,
        topic=Topic.SECURITY,
        kind=kind,
        context={"product": product, "reason": data.reason, "audience": "customer"},
        downloaders_only=True,
    )
    await notify_publisher(
        session,
        envelope,
        organisation_id=data.organisation_id,
        topic=Topic.SLA,
        kind=kind,
        context={"product": product, "reason": data.reason},
    )


async def on_review_decided(session: AsyncSession, envelope: Envelope, data: events.ReviewDecided) -> None:
    decision = envelope.type.rsplit(".", 1)[1]  # approved, changes_requested, rejected
    await notify_publisher(
        session,
        envelope,
        organisation_id=data.organisation_id,
        topic=Topic.REVIEW_DECISIONS,
        kind="review_decided",
        context={
            "product": await product_context(session, data.product_id, fallback_slug=data.slug),
            "decision": decision,
            "version": data.version,
            "reason": data.reason,
            "case_url": f"{_store_url(session)}/reviews/{data.case_id}",
        },
    )


# Audit.


async def on_report_generated(session: AsyncSession, envelope: Envelope, data: events.ReportGenerated) -> None:
    await notify_publisher(
        session,
        envelope,
        organisation_id=data.organisation_id,
        topic=Topic.REPORTS,
        kind="report_generated",
        context={
            "product": None,
            "month": data.month,
            "report_url": f"{_store_url(session)}/organisations/{data.organisation_id}/reports/{data.report_id}",
        },
    )


HANDLERS: dict[str, Handler] = {
    "identity.user.registered": on_user_registered,
    "identity.user.verification_requested": on_verification_requested,
    "identity.user.password_reset_requested": on_password_reset_requested,
    "identity.invitation.created": on_invitation_created,
    "identity.organisation.created": on_organisation_created,
    "identity.membership.changed": on_membership_changed,
    "catalog.product.submitted": on_product_submitted,
    "catalog.product.published": on_product_published,
    "catalog.version.published": on_version_published,
    "catalog.product.unlisted": on_product_unlisted,
    "licensing.image.pulled": on_image_pulled,
    "scanning.scan.completed": on_scan_completed,
    "scanning.scan.failed": on_scan_failed,
    "scanning.vulnerability.detected": on_vulnerability_detected,
    "moderation.sla.started": on_sla_event,
    "moderation.sla.breached": on_sla_event,
    "moderation.listing.held": on_listing_hold,
    "moderation.hold.lifted": on_listing_hold,
    "moderation.listing.revoked": on_listing_hold,
    "moderation.review.approved": on_review_decided,
    "moderation.review.changes_requested": on_review_decided,
    "moderation.review.rejected": on_review_decided,
    "audit.report.generated": on_report_generated,
}
