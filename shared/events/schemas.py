"""One pydantic schema per event type: the registry producers and consumers validate against.

Schemas allow extra fields, so a producer can add information without breaking older
consumers. A missing or mistyped declared field fails validation, and the consumer
dead-letters the event with the reason.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

Money = int  # integer minor units; always travels beside an ISO 4217 `currency`
Currency = str
FindingClass = Literal["critical", "major", "minor", "unclassified"]


class EventData(BaseModel):
    model_config = ConfigDict(extra="allow")


# Identity.


class UserRegistered(EventData):
    user_id: uuid.UUID
    username: str
    email: str
    display_name: str


class VerificationRequested(EventData):
    """An email-verification link to send; the link carries its own signed expiry."""

    user_id: uuid.UUID
    email: str
    link: str
    expires_at: AwareDatetime


class PasswordResetRequested(EventData):
    user_id: uuid.UUID
    email: str
    link: str
    expires_at: AwareDatetime
    # "sign_up_attempt": someone tried to sign up with this address, which already has
    # an account; the message should say so rather than "you asked for a reset".
    reason: Literal["requested", "sign_up_attempt"] = "requested"


class OrganisationCreated(EventData):
    organisation_id: uuid.UUID
    namespace: str
    display_name: str
    owner_id: uuid.UUID


class MembershipChanged(EventData):
    organisation_id: uuid.UUID
    namespace: str
    user_id: uuid.UUID
    role: Literal["owner", "editor", "viewer"] | None  # None: the member was removed
    actor_id: uuid.UUID | None = None


class InvitationCreated(EventData):
    organisation_id: uuid.UUID
    namespace: str
    email: str
    role: Literal["owner", "editor", "viewer"]
    link: str
    expires_at: AwareDatetime
    invitation_id: uuid.UUID | None = None


class TokenRevoked(EventData):
    user_id: uuid.UUID
    token_id: uuid.UUID
    kind: Literal["refresh_family", "personal_access_token"]


class StaffRoleChanged(EventData):
    user_id: uuid.UUID
    role: Literal["reviewer", "security", "admin"]
    actor_id: uuid.UUID | None = None


# Catalog.


class TierSource(BaseModel):
    tier_id: uuid.UUID
    name: str
    reference: str  # staging/<org>/<repo>:<tag> as submitted
    price_amount: Money
    currency: Currency
    billing_period: Literal["free", "one_time", "monthly", "yearly"]


class ProductSubmitted(EventData):
    product_id: uuid.UUID
    version_id: uuid.UUID
    version: str
    organisation_id: uuid.UUID
    namespace: str
    slug: str
    product_type: Literal["image", "plugin"]
    tiers: list[TierSource] = Field(min_length=1)
    manifest: dict
    # Whether the publisher profile had every required item at submission.
    profile_complete: bool = False


AccessPolicy = Literal["everyone", "logged_in", "purchasers"]


class PublishedTier(BaseModel):
    tier_id: uuid.UUID
    name: str
    price_amount: Money
    currency: Currency
    billing_period: Literal["free", "one_time", "monthly", "yearly"]
    access_policy: AccessPolicy
    licence_required: bool = False


class ProductPublished(EventData):
    product_id: uuid.UUID
    version_id: uuid.UUID
    version: str
    organisation_id: uuid.UUID
    namespace: str = ""
    slug: str
    name: str
    category: str
    product_type: Literal["image", "plugin"] = "image"
    store_repository: str = ""  # store/<org>/<product>
    licence_url: str | None = None
    licence_version: str | None = None
    tiers: list[PublishedTier] = Field(default_factory=list)


class VersionPublished(ProductPublished):
    pass


class ProductUnlisted(EventData):
    product_id: uuid.UUID
    organisation_id: uuid.UUID


class ProductWithdrawn(EventData):
    """A publisher took a submitted version back before its review was decided."""

    product_id: uuid.UUID
    version_id: uuid.UUID
    organisation_id: uuid.UUID


# Scanning.


class ScanTarget(BaseModel):
    reference: str
    digest: str


class ScanCompleted(EventData):
    scan_id: uuid.UUID
    image: ScanTarget
    organisation_id: uuid.UUID | None = None
    product_id: uuid.UUID | None = None
    version_id: uuid.UUID | None = None
    tier_id: uuid.UUID | None = None
    counts: dict[str, int] = Field(default_factory=dict)  # per finding class
    checks_passed: bool | None = None
    # Results of the plugin configuration checks; None for an image that is not a plugin.
    plugin_checks_passed: bool | None = None
    # Every open finding of the image at scan time. None when the producer sends only
    # `counts`; an empty list means the image has no findings.
    findings: list[FindingRef] | None = None
    # When `image.digest` is an index: the digest of each platform's image, as the
    # vulnerability events of those images name them.
    platform_digests: list[str] | None = None


class ScanFailed(EventData):
    scan_id: uuid.UUID
    reference: str
    reason: str
    organisation_id: uuid.UUID | None = None
    product_id: uuid.UUID | None = None
    version_id: uuid.UUID | None = None
    tier_id: uuid.UUID | None = None


class FindingRef(BaseModel):
    finding_id: uuid.UUID | None = None
    vulnerability_id: str
    aliases: list[str] = Field(default_factory=list)
    package: str
    installed_version: str
    fixed_version: str | None = None
    cvss_score: float | None = None
    finding_class: FindingClass


class VulnerabilityChanged(EventData):
    """Findings of one image that appeared (detected) or went away (resolved)."""

    image_digest: str
    organisation_id: uuid.UUID | None = None
    product_id: uuid.UUID | None = None
    findings: list[FindingRef] = Field(min_length=1)


# Moderation.


class ReviewedImage(BaseModel):
    tier_id: uuid.UUID
    source: str  # staging/<org>/<repo>:<tag>
    digest: str  # the digest that was scanned and reviewed


class ReviewDecided(EventData):
    case_id: uuid.UUID
    product_id: uuid.UUID
    version_id: uuid.UUID
    version: str = ""
    organisation_id: uuid.UUID
    namespace: str = ""
    slug: str = ""
    reviewer_id: uuid.UUID | None = None
    reason: str | None = None
    # On approval: what licensing promotes into the store namespace.
    images: list[ReviewedImage] = Field(default_factory=list)
    # The review round decided (1 for the first submission, +1 per resubmission).
    round: int | None = None
    # On a request for changes: the required fixes, {"findings": [...], "manifest": [...]}.
    checklist: dict | None = None


class SlaEvent(EventData):
    sla_case_id: uuid.UUID
    product_id: uuid.UUID
    organisation_id: uuid.UUID
    finding_class: FindingClass
    vulnerability_id: str
    deadline: AwareDatetime | None = None
    image_digest: str | None = None
    package: str | None = None


class ListingHold(EventData):
    product_id: uuid.UUID
    organisation_id: uuid.UUID
    reason: str
    # On a hold: when it turns into a revocation unless the findings are fixed first.
    hold_ends_at: AwareDatetime | None = None


class CertificationChanged(EventData):
    product_id: uuid.UUID
    organisation_id: uuid.UUID
    badge: Literal["certified_container", "certified_plugin", "verified_publisher"]
    reason: str | None = None


# Licensing.


class EntitlementChanged(EventData):
    entitlement_id: uuid.UUID
    user_id: uuid.UUID
    product_id: uuid.UUID
    tier_id: uuid.UUID
    valid_until: AwareDatetime | None = None
    reason: str | None = None


class LicenceAccepted(EventData):
    user_id: uuid.UUID
    product_id: uuid.UUID
    tier_id: uuid.UUID | None = None
    licence_url: str
    licence_version: str


class ImagePromoted(EventData):
    product_id: uuid.UUID
    version_id: uuid.UUID
    organisation_id: uuid.UUID
    source: str
    target: str
    digest: str


class ImagePulled(EventData):
    repository: str
    digest: str
    tag: str | None = None
    user_id: uuid.UUID | None = None  # None: an anonymous pull
    product_id: uuid.UUID | None = None
    tier_id: uuid.UUID | None = None
    organisation_id: uuid.UUID | None = None
    paid: bool = False
    # True when a member of the publishing organisation pulled: not a customer download.
    publisher_member: bool = False
    registry_event_id: str
    pulled_at: AwareDatetime


class ImagePushed(EventData):
    repository: str
    digest: str
    tag: str | None = None
    user_id: uuid.UUID | None = None
    registry_event_id: str


# Billing.


class CheckoutCompleted(EventData):
    order_id: uuid.UUID
    user_id: uuid.UUID
    product_id: uuid.UUID
    tier_id: uuid.UUID
    organisation_id: uuid.UUID
    amount: Money
    tax_amount: Money = 0
    currency: Currency = Field(pattern=r"^[A-Z]{3}$")
    mode: Literal["payment", "subscription"]
    subscription_id: str | None = None
    current_period_end: AwareDatetime | None = None


class SubscriptionChanged(EventData):
    subscription_id: str
    user_id: uuid.UUID
    product_id: uuid.UUID
    tier_id: uuid.UUID
    organisation_id: uuid.UUID
    current_period_end: AwareDatetime | None = None
    amount: Money | None = None
    currency: Currency | None = None
    # On a renewal: billing's order for the renewal invoice, and the tax within `amount`.
    order_id: uuid.UUID | None = None
    tax_amount: Money | None = None
    # Stripe's subscription status after the change (active, past_due, canceled, ...).
    status: str | None = None
    cancel_at_period_end: bool | None = None


class PaymentRefunded(EventData):
    order_id: uuid.UUID
    refund_id: str
    user_id: uuid.UUID
    product_id: uuid.UUID
    tier_id: uuid.UUID
    organisation_id: uuid.UUID
    amount: Money
    currency: Currency = Field(pattern=r"^[A-Z]{3}$")
    full: bool
    # The part of `amount` that was tax, and the order's refunded total after this refund.
    tax_amount: Money | None = None
    refunded_total: Money | None = None


class PayoutStatementIssued(EventData):
    statement_id: uuid.UUID
    organisation_id: uuid.UUID
    month: str = Field(pattern=r"^\d{4}-\d{2}$")
    amounts: dict[str, Money]  # currency -> amount owed


# Audit.


class ReportGenerated(EventData):
    report_id: uuid.UUID
    organisation_id: uuid.UUID
    month: str = Field(pattern=r"^\d{4}-\d{2}$")


# Each event type, its current schema version and its data schema.
EVENT_SCHEMAS: dict[str, tuple[int, type[EventData]]] = {
    "identity.user.registered": (1, UserRegistered),
    "identity.user.verification_requested": (1, VerificationRequested),
    "identity.user.password_reset_requested": (1, PasswordResetRequested),
    "identity.organisation.created": (1, OrganisationCreated),
    "identity.membership.changed": (1, MembershipChanged),
    "identity.invitation.created": (1, InvitationCreated),
    "identity.token.revoked": (1, TokenRevoked),
    "identity.staff_role.granted": (1, StaffRoleChanged),
    "identity.staff_role.withdrawn": (1, StaffRoleChanged),
    "catalog.product.submitted": (1, ProductSubmitted),
    "catalog.product.published": (1, ProductPublished),
    "catalog.version.published": (1, VersionPublished),
    "catalog.product.unlisted": (1, ProductUnlisted),
    "catalog.product.withdrawn": (1, ProductWithdrawn),
    "scanning.scan.completed": (1, ScanCompleted),
    "scanning.scan.failed": (1, ScanFailed),
    "scanning.vulnerability.detected": (1, VulnerabilityChanged),
    "scanning.vulnerability.resolved": (1, VulnerabilityChanged),
    "moderation.review.approved": (1, ReviewDecided),
    "moderation.review.changes_requested": (1, ReviewDecided),
    "moderation.review.rejected": (1, ReviewDecided),
    "moderation.sla.started": (1, SlaEvent),
    "moderation.sla.breached": (1, SlaEvent),
    "moderation.listing.held": (1, ListingHold),
    "moderation.hold.lifted": (1, ListingHold),
    "moderation.listing.revoked": (1, ListingHold),
    "moderation.certification.granted": (1, CertificationChanged),
    "moderation.certification.withdrawn": (1, CertificationChanged),
    "licensing.entitlement.granted": (1, EntitlementChanged),
    "licensing.entitlement.revoked": (1, EntitlementChanged),
    "licensing.licence.accepted": (1, LicenceAccepted),
    "licensing.image.promoted": (1, ImagePromoted),
    "licensing.image.pulled": (1, ImagePulled),
    "licensing.image.pushed": (1, ImagePushed),
    "billing.checkout.completed": (1, CheckoutCompleted),
    "billing.subscription.started": (1, SubscriptionChanged),
    "billing.subscription.renewed": (1, SubscriptionChanged),
    "billing.subscription.canceled": (1, SubscriptionChanged),
    "billing.subscription.payment_failed": (1, SubscriptionChanged),
    "billing.payment.refunded": (1, PaymentRefunded),
    "billing.payout_statement.issued": (1, PayoutStatementIssued),
    "audit.report.generated": (1, ReportGenerated),
}


for _model in {model for _version, model in EVENT_SCHEMAS.values()}:
    # Resolve annotations that name classes defined further down this module.
    _model.model_rebuild()


# The product's own event types, fixed before any test registers a sample type.
PRODUCT_EVENT_TYPES: frozenset[str] = frozenset(EVENT_SCHEMAS)


def register_event_type(event_type: str, version: int, model: type[EventData]) -> None:
    """Add an event type to the registry (used by tests for their own sample events)."""
    EVENT_SCHEMAS[event_type] = (version, model)


class UnknownEventType(LookupError):
    pass


def schema_for(event_type: str) -> tuple[int, type[EventData]]:
    try:
        return EVENT_SCHEMAS[event_type]
    except KeyError:
        raise UnknownEventType(f"unknown event type {event_type!r}") from None


def validate_data(event_type: str, data: dict) -> EventData:
    """Validate an event's data against its registered schema (raises pydantic.ValidationError)."""
    _version, model = schema_for(event_type)
    return model.model_validate(data)


def dump_data(event_type: str, data: BaseModel | dict) -> dict:
    """Validate and serialise data for the outbox, in JSON-compatible form."""
    _version, model = schema_for(event_type)
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json")
    return model.model_validate(data).model_dump(mode="json")


__all__ = ["EVENT_SCHEMAS", "EventData", "schema_for", "validate_data", "dump_data", "datetime"]
