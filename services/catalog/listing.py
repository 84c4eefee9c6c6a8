"""The listing page of a product, as customers, publishers and staff see it."""

from __future__ import annotations

import uuid

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.events import store_repository
from services.catalog.markdown import render_markdown
from services.catalog.models import Badge, Entitlement, Product, ProductVersion, PublisherProfile, Tier
from services.catalog.organisations import display_name_of
from services.catalog.products import has_private_access, tiers_of
from services.catalog.schemas import (
    ListingOut,
    PublisherOut,
    SupportOut,
    TierOut,
    VersionSummary,
    WarningLabel,
)
from services.catalog.search_index import publisher_name
from shared.auth import Principal


def media_url(media_id: uuid.UUID | str | None) -> str | None:
    """Return the media path relative to the catalog's root, as the gateway also serves it."""
    return f"media/{media_id}" if media_id else None


def pull_command(product: Product, tier: Tier, version: ProductVersion, registry: str) -> str:
    """Return the command that downloads the tier's image from the store repository."""
    reference = tier.promoted_target or f"{store_repository(product)}:{version.version}"
    if product.product_type == "plugin":
        return f"docker plugin install {registry}/{reference}"
    return f"docker pull {registry}/{reference}"


def version_summary(version: ProductVersion) -> VersionSummary:
    return VersionSummary(
        id=version.id,
        version=version.version,
        state=version.state,
        published_at=version.published_at,
        created_at=version.created_at,
    )


async def owned_tiers(session: AsyncSession, principal: Principal | None, product_id: uuid.UUID) -> set[uuid.UUID]:
    """Return the tiers of the product to which the signed-in customer has a valid entitlement."""
    if principal is None:
        return set()
    now = session.info["runtime"].clock.now()
    rows = await session.execute(
        select(Entitlement.tier_id).where(
            Entitlement.user_id == principal.user_id,
            Entitlement.product_id == product_id,
            Entitlement.revoked_at.is_(None),
            or_(Entitlement.valid_until.is_(None), Entitlement.valid_until > now),
        )
    )
    return set(rows.scalars())


async def build_listing(
    session: AsyncSession, product: Product, principal: Principal | None, *, registry: str
) -> ListingOut:
    """Build the listing from the live version; the publisher previews its newest version before that."""
    private = has_private_access(principal, product.organisation_id)
    statement = select(ProductVersion).where(ProductVersion.product_id == product.id)
    if not private:
        statement = statement.where(ProductVersion.state == "published")
    versions = list((await session.execute(statement.order_by(ProductVersion.created_at.desc()))).scalars())

    shown = next((v for v in versions if v.id == product.live_version_id), None) or versions[0]
    manifest = shown.manifest
    tiers = await tiers_of(session, shown.id)
    owned = await owned_tiers(session, principal, product.id)
    badges = sorted((await session.execute(select(Badge.badge).where(Badge.product_id == product.id))).scalars())
    licence = manifest.get("licence") or {}
    support = manifest.get("support")

    return ListingOut(
        id=product.id,
        organisation_id=product.organisation_id,
        namespace=product.namespace,
        slug=product.slug,
        name=product.name,
        product_type=product.product_type,
        status=product.status,
        warning=WarningLabel(reason=product.hold_reason, since=product.held_at) if product.status == "held" else None,
        badges=badges,
        version=version_summary(shown),
        versions=[version_summary(v) for v in versions],
        short_description=manifest.get("short_description"),
        category=manifest.get("category"),
        tags=manifest.get("tags") or [],
        logo_url=media_url(manifest.get("logo_media_id")),
        screenshot_urls=[media_url(media_id) for media_id in manifest.get("screenshots") or []],
        long_description_html=render_markdown(manifest.get("long_description")),
        install_instructions_html=render_markdown(manifest.get("install_instructions")),
        support=SupportOut(**support) if support else None,
        licence_url=licence.get("url"),
        licence_version=licence.get("version"),
        access_policy=manifest.get("access_policy"),
        licence_required=bool(manifest.get("licence_required")),
        tiers=[
            TierOut(
                id=tier.tier_id,
                name=tier.name,
                description=tier.description,
                price_amount=tier.price_amount,
                currency=tier.currency,
                billing_period=tier.billing_period,
                source=tier.source_reference if private else None,
                owned=tier.tier_id in owned,
                pull_command=pull_command(product, tier, shown, registry),
            )
            for tier in tiers
        ],
        store_repository=store_repository(product),
        pull_count=product.pull_count,
        publisher=await publisher_view(session, product.organisation_id, product.namespace),
        published_at=shown.published_at,
    )


async def publisher_view(session: AsyncSession, organisation_id: uuid.UUID, namespace: str) -> PublisherOut:
    profile = await session.get(PublisherProfile, organisation_id)
    name = publisher_name(profile, await display_name_of(session, organisation_id), namespace)
    return PublisherOut(
        organisation_id=organisation_id,
        namespace=namespace,
        name=name,
        website=profile.website if profile else None,
        email=profile.email if profile else None,
        phone=profile.phone if profile else None,
        logo_url=media_url(profile.logo_media_id) if profile else None,
        story_html=render_markdown(profile.story) if profile else "",
    )
