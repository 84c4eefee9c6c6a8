"""Request and response bodies of the catalog API.

Request models check types and lengths only; the manifest rules, with their messages
for publishers, are in `manifest.py`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

VERSION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$"


# Publisher profile.


class ProfileIn(BaseModel):
    """A whole profile; an item left out is stored as missing."""

    model_config = ConfigDict(extra="forbid")

    legal_name: str | None = Field(default=None, max_length=200)
    website: str | None = Field(default=None, max_length=2000)
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=320)
    logo_media_id: uuid.UUID | None = None
    story: str | None = Field(default=None, max_length=20_000)


class ProfileOut(BaseModel):
    organisation_id: uuid.UUID
    namespace: str
    legal_name: str | None
    website: str | None
    phone: str | None  # E.164
    email: str | None
    logo_media_id: uuid.UUID | None
    logo_url: str | None
    story: str | None
    story_html: str
    complete: bool
    missing: list[str]


class MediaOut(BaseModel):
    id: uuid.UUID
    url: str
    content_type: str
    width: int
    height: int
    byte_size: int
    sha256: str


# Manifest.


class SupportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, max_length=2000)
    # Whether the publisher offers support; then email, hours and response time are required.
    offered: bool = False
    email: str | None = Field(default=None, max_length=320)
    hours: str | None = Field(default=None, max_length=200)  # e.g. "Mon-Fri 09:00-17:00 CET"
    response_time: str | None = Field(default=None, max_length=200)  # e.g. "1 business day"


class LicenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, max_length=2000)
    version: str = Field(default="1", min_length=1, max_length=64)


class TierIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The id of a tier of an earlier version, to keep the tier (and its entitlements).
    id: uuid.UUID | None = None
    name: str = Field(default="", max_length=100)
    description: str = Field(default="", max_length=2000)
    price_amount: int = Field(default=0, description="Price in minor units of `currency`")
    currency: str | None = Field(default=None, max_length=3)
    billing_period: str = Field(default="free", description="free, one_time, monthly or yearly")
    source: str = Field(default="", max_length=400, description="staging/<namespace>/<repository>:<tag>")


class ManifestFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    logo_media_id: uuid.UUID | None = None
    short_description: str | None = Field(default=None, max_length=2000)
    category: str | None = Field(default=None, max_length=40)
    tags: list[str] = Field(default_factory=list, max_length=100)
    long_description: str | None = Field(default=None, max_length=100_000)
    screenshots: list[uuid.UUID] = Field(default_factory=list, max_length=100)
    support: SupportIn | None = None
    install_instructions: str | None = Field(default=None, max_length=100_000)
    licence: LicenceIn | None = None
    access_policy: str | None = Field(default=None, max_length=20)
    # Whether free tiers need the licence accepted before the first pull.
    licence_required: bool = False
    tiers: list[TierIn] = Field(default_factory=list, max_length=50)


class ProductCreate(ManifestFields):
    name: str = Field(max_length=200)
    product_type: Literal["image", "plugin"] = "image"
    version: str = Field(default="1.0.0", pattern=VERSION_PATTERN)


class VersionUpdate(ManifestFields):
    """Manifest items to change; items left out keep their value, and `tiers` replaces all tiers."""


class VersionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str = Field(pattern=VERSION_PATTERN)


class TierOut(BaseModel):
    id: uuid.UUID
    name: str
    description: str
    price_amount: int
    currency: str
    billing_period: str
    source: str | None = None  # only for the publisher and staff
    # Whether the signed-in customer has a valid entitlement to this tier.
    owned: bool = False
    pull_command: str | None = None


class VersionOut(BaseModel):
    id: uuid.UUID
    product_id: uuid.UUID
    version: str
    state: str
    state_reason: str | None
    manifest: dict
    tiers: list[TierOut]
    submitted_at: datetime | None
    published_at: datetime | None
    created_at: datetime
    updated_at: datetime


class VersionSummary(BaseModel):
    id: uuid.UUID
    version: str
    state: str
    published_at: datetime | None
    created_at: datetime


class ProductSummary(BaseModel):
    id: uuid.UUID
    organisation_id: uuid.UUID
    namespace: str
    slug: str
    name: str
    product_type: str
    status: str
    created_at: datetime


class ProductOut(ProductSummary):
    """A product with one of its versions: the version just created or changed."""

    version: VersionOut


class WarningLabel(BaseModel):
    reason: str | None
    since: datetime | None


class SupportOut(BaseModel):
    url: str | None = None
    offered: bool = False
    email: str | None = None
    hours: str | None = None
    response_time: str | None = None


class PublisherOut(BaseModel):
    organisation_id: uuid.UUID
    namespace: str
    name: str
    website: str | None
    email: str | None
    phone: str | None
    logo_url: str | None
    story_html: str


class ListingOut(BaseModel):
    """A product as the store shows it: the newest published version, or a preview for its publisher."""

    id: uuid.UUID
    organisation_id: uuid.UUID
    namespace: str
    slug: str
    name: str
    product_type: str
    status: str
    warning: WarningLabel | None
    badges: list[str]
    version: VersionSummary
    versions: list[VersionSummary]
    short_description: str | None
    category: str | None
    tags: list[str]
    logo_url: str | None
    screenshot_urls: list[str]
    long_description_html: str
    install_instructions_html: str
    support: SupportOut | None
    licence_url: str | None
    licence_version: str | None
    access_policy: str | None
    licence_required: bool
    tiers: list[TierOut]
    store_repository: str
    pull_count: int
    publisher: PublisherOut
    published_at: datetime | None


# Search.


class ListingSummary(BaseModel):
    id: uuid.UUID
    namespace: str
    slug: str
    name: str
    short_description: str
    category: str
    product_type: str
    tags: list[str]
    logo_url: str | None
    publisher_name: str
    certified: bool
    held: bool
    is_free: bool
    min_price: int
    currency: str
    pull_count: int
    version: str
    published_at: datetime
    score: float | None = None


class FacetValue(BaseModel):
    value: str
    count: int


class SearchPage(BaseModel):
    items: list[ListingSummary]
    next_cursor: str | None
    total: int
    # Each facet is counted with every filter but its own, so choosing a value still
    # shows the counts of the other values.
    facets: dict[str, list[FacetValue]]
    # Set when the words matched nothing and a corrected spelling was searched instead.
    corrected_query: str | None = None


class ReviewQueueItem(BaseModel):
    version_id: uuid.UUID
    product_id: uuid.UUID
    organisation_id: uuid.UUID
    namespace: str
    name: str
    version: str
    state: str
    submitted_at: datetime | None
