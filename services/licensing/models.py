"""Tables of the licensing database.

Products, tiers, versions, listing states and memberships are read models built from
other services' events. Entitlements, licence acceptances, promoted images and registry
events are this service's own records.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import make_metadata


class Base(DeclarativeBase):
    metadata = make_metadata()


class Product(Base):
    """A published product as catalog last described it."""

    __tablename__ = "products"

    product_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(index=True)
    namespace: Mapped[str] = mapped_column(String(100))
    slug: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(300))
    # store/<namespace>/<slug>: the repository customers pull from.
    store_repository: Mapped[str] = mapped_column(String(300), unique=True)
    licence_url: Mapped[str | None] = mapped_column(String(2000))
    licence_version: Mapped[str | None] = mapped_column(String(100))
    current_version: Mapped[str] = mapped_column(String(100))
    # `occurred_at` of the publication event applied last; older ones are ignored.
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Tier(Base):
    __tablename__ = "tiers"

    tier_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    product_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("products.product_id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    access_policy: Mapped[str] = mapped_column(String(20))  # everyone | logged_in | purchasers
    licence_required: Mapped[bool] = mapped_column(Boolean, default=False)
    billing_period: Mapped[str] = mapped_column(String(20))
    price_amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))


class ProductVersion(Base):
    __tablename__ = "product_versions"

    version_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    product_id: Mapped[uuid.UUID] = mapped_column(index=True)
    version: Mapped[str] = mapped_column(String(100))
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ListingState(Base):
    """Moderation's hold or revocation of a listing; a revocation is final."""

    __tablename__ = "listing_states"

    product_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    state: Mapped[str] = mapped_column(String(20))  # listed | held | revoked
    reason: Mapped[str | None] = mapped_column(String(2000))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Membership(Base):
    __tablename__ = "memberships"

    organisation_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    namespace: Mapped[str] = mapped_column(String(100))
    role: Mapped[str | None] = mapped_column(String(20))  # None: removed
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Entitlement(Base):
    """The right of a user to pull a tier, from a purchase or a subscription."""

    __tablename__ = "entitlements"

    entitlement_id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    # "order:<order id>" for one-time purchases, "subscription:<id>" for subscriptions.
    source: Mapped[str] = mapped_column(String(300), unique=True)
    order_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    subscription_id: Mapped[str | None] = mapped_column(String(200))
    user_id: Mapped[uuid.UUID] = mapped_column(index=True)
    product_id: Mapped[uuid.UUID] = mapped_column(index=True)
    tier_id: Mapped[uuid.UUID]
    organisation_id: Mapped[uuid.UUID]
    # active | canceled (pulls until valid_until) | revoked (refunded: no pulls).
    status: Mapped[str] = mapped_column(String(20))
    # None: no end (a one-time purchase).
    valid_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    granted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str | None] = mapped_column(String(200))
    # `occurred_at` of the last billing event applied, so an older renewal never
    # shortens a newer period.
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LicenceAcceptance(Base):
    __tablename__ = "licence_acceptances"
    __table_args__ = (UniqueConstraint("user_id", "product_id", "licence_version"),)

    acceptance_id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(index=True)
    product_id: Mapped[uuid.UUID]
    tier_id: Mapped[uuid.UUID | None]
    licence_url: Mapped[str] = mapped_column(String(2000))
    licence_version: Mapped[str] = mapped_column(String(100))
    accepted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PromotedImage(Base):
    """A manifest copied into a store repository; an index's platform manifests too."""

    __tablename__ = "promoted_images"
    __table_args__ = (UniqueConstraint("repository", "digest", "version_id"),)

    promoted_image_id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    product_id: Mapped[uuid.UUID] = mapped_column(index=True)
    version_id: Mapped[uuid.UUID]
    version: Mapped[str] = mapped_column(String(100))
    tier_id: Mapped[uuid.UUID | None]
    organisation_id: Mapped[uuid.UUID]
    source: Mapped[str] = mapped_column(String(500))
    repository: Mapped[str] = mapped_column(String(300))
    # The tag on the top-level manifest; None for the platform manifests of an index.
    tag: Mapped[str | None] = mapped_column(String(128))
    digest: Mapped[str] = mapped_column(String(100))
    media_type: Mapped[str] = mapped_column(String(200))
    # The index this manifest belongs to, for platform manifests.
    parent_digest: Mapped[str | None] = mapped_column(String(100))
    promoted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RegistryEvent(Base):
    """Registry notification events already handled, by the registry's event id."""

    __tablename__ = "registry_events"

    event_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    action: Mapped[str] = mapped_column(String(20))
    repository: Mapped[str] = mapped_column(String(300))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
