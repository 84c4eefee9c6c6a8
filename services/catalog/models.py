"""Tables of the catalog database.

`products` and `product_versions` are what publishers edit; `listings` is the search
index of what customers may find, rewritten whenever a listing is published or changes.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Computed,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import make_metadata


class Base(DeclarativeBase):
    metadata = make_metadata()


class Organisation(Base):
    """Read model of identity's organisations: namespace and name by id."""

    __tablename__ = "organisations"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    namespace: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PublisherProfile(Base):
    __tablename__ = "publisher_profiles"

    organisation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    legal_name: Mapped[str | None] = mapped_column(String(200))
    website: Mapped[str | None] = mapped_column(String(2000))
    phone: Mapped[str | None] = mapped_column(String(32))  # E.164
    email: Mapped[str | None] = mapped_column(String(320))
    logo_media_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    story: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Media(Base):
    """An uploaded image; its bytes live in the media storage under `storage_key`."""

    __tablename__ = "media"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    storage_key: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    byte_size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    # Public once shown on a published listing or a visible profile; private before.
    public: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (
        UniqueConstraint("organisation_id", "slug"),
        Index("uq_products_organisation_id_name", "organisation_id", func.lower(text("name")), unique=True),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    namespace: Mapped[str] = mapped_column(String(64))
    slug: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(100))
    product_type: Mapped[str] = mapped_column(String(20))
    # unpublished, published, held, revoked or unlisted; see `lifecycle.PRODUCT_TRANSITIONS`.
    status: Mapped[str] = mapped_column(String(20), server_default=text("'unpublished'"))
    hold_reason: Mapped[str | None] = mapped_column(Text)
    held_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    live_version_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    pull_count: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    first_published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ProductVersion(Base):
    __tablename__ = "product_versions"
    __table_args__ = (UniqueConstraint("product_id", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    product_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    version: Mapped[str] = mapped_column(String(64))
    # draft, submitted, in_review, changes_requested, approved, rejected or published.
    state: Mapped[str] = mapped_column(String(20), index=True)
    manifest: Mapped[dict] = mapped_column(JSONB)
    # The reviewer's reason for the last decision, shown to the publisher.
    state_reason: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Tier(Base):
    """A tier of one version; `tier_id` stays the same across versions of a product."""

    __tablename__ = "tiers"

    version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("product_versions.id", ondelete="CASCADE"), primary_key=True
    )
    tier_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    product_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text)
    price_amount: Mapped[int] = mapped_column(BigInteger)  # minor units
    currency: Mapped[str] = mapped_column(String(3))
    billing_period: Mapped[str] = mapped_column(String(20))  # free, one_time, monthly, yearly
    source_reference: Mapped[str] = mapped_column(String(400))  # staging/<ns>/<repo>:<tag>
    reviewed_digest: Mapped[str | None] = mapped_column(String(100))
    promoted_target: Mapped[str | None] = mapped_column(String(400))  # store/<ns>/<slug>:<tag>
    promoted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Badge(Base):
    __tablename__ = "badges"

    product_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    badge: Mapped[str] = mapped_column(String(40), primary_key=True)
    granted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Entitlement(Base):
    """Read model of licensing's entitlements, to show which tiers a customer owns."""

    __tablename__ = "entitlements"
    __table_args__ = (Index("ix_entitlements_user_product", "user_id", "product_id"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    product_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    tier_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    valid_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# The weighted document of a listing: name first, then tags and publisher, then the
# short and the long description. The 'english' configuration stems words, so
# "databases" finds "database".
SEARCH_DOCUMENT = (
    "setweight(to_tsvector('english'::regconfig, name), 'A')"
    " || setweight(to_tsvector('english'::regconfig, tags_text), 'B')"
    " || setweight(to_tsvector('english'::regconfig, publisher_name), 'B')"
    " || setweight(to_tsvector('english'::regconfig, short_description), 'C')"
    " || setweight(to_tsvector('english'::regconfig, description_text), 'D')"
)
# The words of a listing that typo correction compares against (see SearchTerm).
SEARCH_WORDS = "lower(name || ' ' || tags_text)"


class Listing(Base):
    """One row per listing customers can find (published or held), for search and facets."""

    __tablename__ = "listings"
    __table_args__ = (
        Index("ix_listings_document", "document", postgresql_using="gin"),
        Index("ix_listings_lower_name", func.lower(text("name"))),
        Index("ix_listings_published_at", "published_at", "product_id"),
        Index("ix_listings_pull_count", "pull_count", "product_id"),
        # The price sorts order by currency first, so prices are compared only within one.
        Index("ix_listings_currency_min_price", "currency", "min_price", "product_id"),
        # Facet counts without words read this index alone, not the wide rows.
        Index("ix_listings_facets", "category", "namespace", "product_type", "certified", "is_free", "currency"),
        Index("ix_listings_namespace", "namespace"),
    )

    product_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    namespace: Mapped[str] = mapped_column(String(64))
    publisher_name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(100))
    short_description: Mapped[str] = mapped_column(String(140))
    description_text: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(40))
    product_type: Mapped[str] = mapped_column(String(20))
    tags: Mapped[list[str]] = mapped_column(ARRAY(String(40)))
    tags_text: Mapped[str] = mapped_column(Text)
    logo_media_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    # Lowest tier price in minor units; 0 when a free tier exists.
    min_price: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    is_free: Mapped[bool] = mapped_column(Boolean)
    certified: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    held: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    pull_count: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    version: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    document: Mapped[str] = mapped_column(TSVECTOR, Computed(SEARCH_DOCUMENT, persisted=True))
    words: Mapped[str] = mapped_column(Text, Computed(SEARCH_WORDS, persisted=True))


class SearchTerm(Base):
    """One word of the listings' names and tags, with the number of listings that hold it.

    Triggers on `listings` keep this lexicon current (see the migration that creates it);
    search corrects misspelt words towards its terms.
    """

    __tablename__ = "search_terms"
    __table_args__ = (Index("ix_search_terms_length", func.length(text("term"))),)

    term: Mapped[str] = mapped_column(Text, primary_key=True)
    listings: Mapped[int] = mapped_column(Integer)


class TermFacet(Base):
    """How many listings that contain one search term have one combination of facet values.

    Triggers on `listings` keep these counts current (see the migration that creates
    them). A one-term search reads its facet counts here instead of counting its matches.
    The terms are lexemes of the listings' search documents.
    """

    __tablename__ = "term_facets"
    __table_args__ = (
        PrimaryKeyConstraint(
            "term", "category", "product_type", "certified", "is_free", "currency", postgresql_include=["listings"]
        ),
    )

    term: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(40))
    product_type: Mapped[str] = mapped_column(String(20))
    certified: Mapped[bool] = mapped_column(Boolean)
    is_free: Mapped[bool] = mapped_column(Boolean)
    currency: Mapped[str] = mapped_column(String(3))
    listings: Mapped[int] = mapped_column(Integer)


class TermPublisher(Base):
    """How many listings of one publisher contain one search term, kept current like `TermFacet`."""

    __tablename__ = "term_publishers"
    __table_args__ = (Index("ix_term_publishers_listings", "term", text("listings DESC"), "namespace"),)

    term: Mapped[str] = mapped_column(Text, primary_key=True)
    namespace: Mapped[str] = mapped_column(String(64), primary_key=True)
    listings: Mapped[int] = mapped_column(Integer)
