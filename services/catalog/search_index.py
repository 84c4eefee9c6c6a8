"""The `listings` table: one searchable row per visible listing, rebuilt from the product's rows."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.lifecycle import VISIBLE_STATUSES
from services.catalog.models import Badge, Listing, Media, Product, ProductVersion, PublisherProfile, Tier
from services.catalog.organisations import display_name_of

CERTIFICATION_BADGES = ("certified_container", "certified_plugin")

_MARKDOWN_SYNTAX = re.compile(r"[#*_`>\[\]()!|~-]+")


def publisher_name(profile: PublisherProfile | None, display_name: str | None, namespace: str) -> str:
    if profile is not None and profile.legal_name:
        return profile.legal_name
    return display_name or namespace


async def refresh_listing(session: AsyncSession, product_id: uuid.UUID) -> None:
    """Rewrite the product's search row from its live version, or drop it when not visible."""
    product = await session.get(Product, product_id, populate_existing=True)
    if product is None or product.status not in VISIBLE_STATUSES or product.live_version_id is None:
        await session.execute(delete(Listing).where(Listing.product_id == product_id))
        return

    version = await session.get(ProductVersion, product.live_version_id)
    tiers = list((await session.execute(select(Tier).where(Tier.version_id == version.id))).scalars())
    profile = await session.get(PublisherProfile, product.organisation_id)
    badges = set(
        (await session.execute(select(Badge.badge).where(Badge.product_id == product_id))).scalars()
    )
    manifest = version.manifest
    prices = [tier.price_amount for tier in tiers] or [0]
    cheapest = min(tiers, key=lambda tier: tier.price_amount) if tiers else None
    tags = list(manifest.get("tags") or [])

    values = {
        "organisation_id": product.organisation_id,
        "namespace": product.namespace,
        "publisher_name": publisher_name(profile, await display_name_of(session, product.organisation_id), product.namespace),
        "slug": product.slug,
        "name": product.name,
        "short_description": manifest.get("short_description") or "",
        # Markdown punctuation only adds noise to the full-text document.
        "description_text": _MARKDOWN_SYNTAX.sub(" ", manifest.get("long_description") or ""),
        "category": manifest.get("category") or "Other",
        "product_type": product.product_type,
        "tags": tags,
        "tags_text": " ".join(tags),
        "logo_media_id": manifest.get("logo_media_id"),
        # The price sorts and the currency filter use this pair. NOTE: a product whose
        # tiers are priced in several currencies is listed under its smallest amount,
        # whichever currency that is in.
        "min_price": min(prices),
        "currency": cheapest.currency if cheapest else "USD",
        "is_free": any(tier.billing_period == "free" for tier in tiers),
        "certified": any(badge in badges for badge in CERTIFICATION_BADGES),
        "held": product.status == "held",
        "pull_count": product.pull_count,
        "version": version.version,
        "published_at": version.published_at,
    }
    statement = insert(Listing).values(product_id=product_id, **values)
    await session.execute(statement.on_conflict_do_update(index_elements=["product_id"], set_=values))


async def add_pulls(session: AsyncSession, product_id: uuid.UUID, count: int = 1) -> bool:
    """Add pulls to a product and its search row; return False for an unknown product."""
    result = await session.execute(
        update(Product)
        .where(Product.id == product_id)
        .values(pull_count=Product.pull_count + count)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Listing).where(Listing.product_id == product_id).values(pull_count=Listing.pull_count + count)
    )
    return result.rowcount == 1


async def publish_media(session: AsyncSession, product: Product, version: ProductVersion) -> None:
    """Make the images a published listing shows readable by anyone."""
    manifest = version.manifest
    ids = [manifest.get("logo_media_id"), *(manifest.get("screenshots") or [])]
    profile = await session.get(PublisherProfile, product.organisation_id)
    if profile is not None:
        ids.append(profile.logo_media_id)
    shown_ids = {uuid.UUID(str(value)) for value in ids if value}
    if shown_ids:
        await session.execute(
            update(Media)
            .where(Media.organisation_id == product.organisation_id, Media.id.in_(shown_ids))
            .values(public=True)
        )
