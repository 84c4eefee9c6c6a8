"""Products and their versions as publishers create, edit and submit them."""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog import profiles
from services.catalog.events import emit_submitted, emit_withdrawn
from services.catalog.lifecycle import (
    EDITABLE_STATES,
    OPEN_STATES,
    VERSION_TRANSITIONS,
    VISIBLE_STATUSES,
    require_version_move,
    version_conflict,
)
from services.catalog.manifest import SLUG, ManifestError, check_manifest, check_name, slugify
from services.catalog.models import Media, Product, ProductVersion, Tier
from services.catalog.schemas import ManifestFields, ProductCreate, TierIn, VersionCreate, VersionUpdate
from shared.auth import OrgRole, Principal
from shared.errors import Conflict, Forbidden, InvalidValue, NotFound

log = structlog.get_logger()

# Manifest items stored in the version's JSON document; tiers have their own table.
DOCUMENT_FIELDS = tuple(name for name in ManifestFields.model_fields if name != "tiers")


# Access.


def has_private_access(principal: Principal | None, organisation_id: uuid.UUID) -> bool:
    """Return whether the caller may read the organisation's drafts, as its members and store staff may."""
    if principal is None:
        return False
    return principal.is_staff or organisation_id in principal.memberships


async def product_for_reader(session: AsyncSession, product_id: uuid.UUID, principal: Principal | None) -> Product:
    """Load a product the caller may see; anyone else learns nothing (404)."""
    product = await session.get(Product, product_id)
    if product is None:
        raise NotFound(f"Product {product_id} not found")
    if product.status not in VISIBLE_STATUSES and not has_private_access(principal, product.organisation_id):
        raise NotFound(f"Product {product_id} not found")
    return product


async def product_for_editor(session: AsyncSession, product_id: uuid.UUID, principal: Principal) -> Product:
    """Load a product the caller may change: editors and owners of its organisation."""
    product = await session.get(Product, product_id, with_for_update=True)
    if product is None:
        raise NotFound(f"Product {product_id} not found")

    role = principal.role_in(product.organisation_id)
    if role is None:
        if product.status in VISIBLE_STATUSES:
            raise Forbidden(f"Only editors of the publishing organisation may change product {product_id}")
        raise NotFound(f"Product {product_id} not found")
    if role < OrgRole.EDITOR:
        raise Forbidden(
            f"Your role in organisation {product.organisation_id} is {role.name.lower()}; "
            "changing a product needs editor or higher"
        )
    return product


async def version_of(
    session: AsyncSession, product: Product, version_id: uuid.UUID, principal: Principal | None, *, lock: bool = False
) -> ProductVersion:
    """Load a version of `product`; versions not yet published are private to the organisation."""
    statement = select(ProductVersion).where(ProductVersion.id == version_id, ProductVersion.product_id == product.id)
    if lock:
        statement = statement.with_for_update()
    version = (await session.execute(statement)).scalar_one_or_none()
    if version is None:
        raise NotFound(f"Version {version_id} of product {product.id} not found")
    if version.state != "published" and not has_private_access(principal, product.organisation_id):
        raise NotFound(f"Version {version_id} of product {product.id} not found")
    return version


# Reading.


async def tiers_of(session: AsyncSession, version_id: uuid.UUID) -> list[Tier]:
    rows = await session.execute(select(Tier).where(Tier.version_id == version_id).order_by(Tier.position))
    return list(rows.scalars())


def tier_document(tier: Tier) -> dict[str, Any]:
    return {
        "id": str(tier.tier_id),
        "name": tier.name,
        "description": tier.description,
        "price_amount": tier.price_amount,
        "currency": tier.currency,
        "billing_period": tier.billing_period,
        "source": tier.source_reference,
    }


def manifest_snapshot(product: Product, version: ProductVersion, tiers: list[Tier]) -> dict[str, Any]:
    """Return the whole manifest as submitted: product items, version items and tiers."""
    return {
        "name": product.name,
        "slug": product.slug,
        "product_type": product.product_type,
        "version": version.version,
        **version.manifest,
        "tiers": [tier_document(tier) for tier in tiers],
    }


# Writing.


async def create_product(
    session: AsyncSession, *, organisation_id: uuid.UUID, namespace: str, body: ProductCreate
) -> tuple[Product, ProductVersion]:
    """Create a product with its first version, a draft, from a possibly incomplete manifest."""
    name = body.name.strip()
    errors = check_name(name)
    slug = slugify(name)
    if not errors and not SLUG.match(slug):
        errors.append(ManifestError("name", f"The product name {name!r} gives the invalid URL slug {slug!r}"))

    document = _document(body, body.model_fields_set | set(DOCUMENT_FIELDS))
    tiers = _new_tiers(body.tiers, known_ids=set())
    errors += await _check(session, organisation_id, namespace, document, tiers, complete=False)
    _raise_if_invalid(errors, f"The manifest of {name!r} is invalid")

    now = session.info["runtime"].clock.now()
    product = Product(
        id=uuid.uuid4(),
        organisation_id=organisation_id,
        namespace=namespace,
        slug=slug,
        name=name,
        product_type=body.product_type,
        status="unpublished",
        pull_count=0,
        created_at=now,
        updated_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(product)
            await session.flush()
    except IntegrityError:
        raise Conflict(
            f"Organisation {namespace} already has a product named {name!r} or with the slug {slug!r}; choose another name"
        ) from None

    version = ProductVersion(
        id=uuid.uuid4(),
        product_id=product.id,
        version=body.version,
        state="draft",
        manifest=document,
        created_at=now,
        updated_at=now,
    )
    session.add(version)
    await session.flush()
    await _replace_tiers(session, product.id, version.id, tiers)
    log.info("product.created", product_id=str(product.id), organisation_id=str(organisation_id), slug=slug)
    return product, version


async def update_version(
    session: AsyncSession, product: Product, version: ProductVersion, body: VersionUpdate
) -> ProductVersion:
    """Change the given manifest items of an editable version."""
    if version.state not in EDITABLE_STATES:
        raise Conflict(
            f"Version {version.version} of product {product.id} is {version.state}; "
            "only a version in draft or changes_requested can be edited",
            current_state=version.state,
        )

    document = {**version.manifest, **_document(body, body.model_fields_set)}
    if "tiers" in body.model_fields_set:
        known_ids = set((await session.execute(select(Tier.tier_id).where(Tier.product_id == product.id))).scalars())
        tiers = _new_tiers(body.tiers, known_ids=known_ids)
    else:
        tiers = [tier_document(tier) for tier in await tiers_of(session, version.id)]

    errors = await _check(session, product.organisation_id, product.namespace, document, tiers, complete=False)
    _raise_if_invalid(errors, f"The manifest of version {version.version} is invalid")

    version.manifest = document
    version.updated_at = session.info["runtime"].clock.now()
    if "tiers" in body.model_fields_set:
        await _replace_tiers(session, product.id, version.id, tiers)
    await session.flush()
    return version


async def create_version(session: AsyncSession, product: Product, body: VersionCreate) -> ProductVersion:
    """Start a new version as a draft copy of the newest one; the live version stays live meanwhile."""
    versions = list(
        (
            await session.execute(
                select(ProductVersion)
                .where(ProductVersion.product_id == product.id)
                .order_by(ProductVersion.created_at.desc())
            )
        ).scalars()
    )
    open_version = next((v for v in versions if v.state in OPEN_STATES), None)
    if open_version is not None:
        raise Conflict(
            f"Product {product.id} already has version {open_version.version} in state {open_version.state}; "
            "finish or replace it before starting another",
            current_state=open_version.state,
        )
    if any(v.version == body.version for v in versions):
        raise Conflict(f"Product {product.id} already has a version {body.version!r}")

    newest = versions[0]
    now = session.info["runtime"].clock.now()
    version = ProductVersion(
        id=uuid.uuid4(),
        product_id=product.id,
        version=body.version,
        state="draft",
        manifest=dict(newest.manifest),
        created_at=now,
        updated_at=now,
    )
    session.add(version)
    await session.flush()
    tiers = [tier_document(tier) for tier in await tiers_of(session, newest.id)]
    await _replace_tiers(session, product.id, version.id, tiers)
    return version


async def submit_version(
    session: AsyncSession, product: Product, version: ProductVersion, *, min_logo_side: int
) -> None:
    """Check the complete manifest and the profile, move the version to submitted and emit the event."""
    # The version row is locked, so its state cannot change before the update below.
    if version.state not in VERSION_TRANSITIONS["submit"][0]:
        raise version_conflict(version, "submit", version.state)

    tiers = await tiers_of(session, version.id)
    documents = [tier_document(tier) for tier in tiers]
    errors = await _check(session, product.organisation_id, product.namespace, version.manifest, documents, complete=True)
    _raise_if_invalid(errors, f"Version {version.version} of {product.name!r} cannot be submitted")

    profile = await profiles.get_profile(session, product.organisation_id)
    missing = profiles.missing_items(profile)
    if missing and product.first_published_at is None:
        raise InvalidValue(
            f"The publisher profile of {product.namespace} is incomplete; complete it before the first submission. "
            "Missing: " + ", ".join(missing),
            errors=[{"field": f"profile.{item}", "message": f"The profile item {item} is missing"} for item in missing],
        )

    now = session.info["runtime"].clock.now()
    await require_version_move(session, version, "submit", submitted_at=now, state_reason=None)
    await emit_submitted(
        session,
        product=product,
        version=version,
        tiers=tiers,
        manifest=manifest_snapshot(product, version, tiers),
        profile_complete=not missing,
    )
    log.info("version.submitted", product_id=str(product.id), version_id=str(version.id))


async def withdraw_version(session: AsyncSession, product: Product, version: ProductVersion) -> None:
    """Return a submitted version to draft before its review is decided, and emit the event.

    Moderation closes the version's review case when the event arrives. A decision that
    moderation made before that no longer applies to the draft and is ignored here.
    NOTE: licensing may still copy the image of such an approval into the store
    repository. Nothing is published, and the next approval copies the image again.
    """
    # The version row is locked, so its state cannot change before the update below.
    if version.state not in VERSION_TRANSITIONS["withdraw"][0]:
        raise version_conflict(version, "withdraw", version.state)

    await require_version_move(session, version, "withdraw", state_reason="Withdrawn by the publisher")
    await emit_withdrawn(session, product, version)
    log.info("version.withdrawn", product_id=str(product.id), version_id=str(version.id))


# Helpers.


def _document(body: ManifestFields, fields: set[str]) -> dict[str, Any]:
    return body.model_dump(mode="json", include=set(DOCUMENT_FIELDS) & fields)


def _new_tiers(tiers: list[TierIn], *, known_ids: set[uuid.UUID]) -> list[dict[str, Any]]:
    documents = []
    for index, tier in enumerate(tiers):
        if tier.id is not None and tier.id not in known_ids:
            raise InvalidValue(
                f"Tier {tier.id} is not a tier of this product; leave the id out to add a new tier",
                errors=[{"field": f"tiers.{index}.id", "message": f"Unknown tier {tier.id}"}],
            )
        documents.append(
            {
                "id": str(tier.id or uuid.uuid4()),
                "name": tier.name.strip(),
                "description": tier.description.strip(),
                "price_amount": tier.price_amount,
                "currency": tier.currency,
                "billing_period": tier.billing_period,
                "source": tier.source.strip(),
            }
        )
    return documents


async def _check(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    namespace: str,
    document: dict[str, Any],
    tiers: list[dict[str, Any]],
    *,
    complete: bool,
) -> list[ManifestError]:
    referenced = [document.get("logo_media_id"), *(document.get("screenshots") or [])]
    referenced_ids = {uuid.UUID(str(value)) for value in referenced if value}
    media_ids: set[uuid.UUID] = set()
    if referenced_ids:
        media_ids = set(
            (
                await session.execute(
                    select(Media.id).where(Media.organisation_id == organisation_id, Media.id.in_(referenced_ids))
                )
            ).scalars()
        )
    return check_manifest({**document, "tiers": tiers}, namespace=namespace, media_ids=media_ids, complete=complete)


def _raise_if_invalid(errors: list[ManifestError], summary: str) -> None:
    if not errors:
        return
    fields = ", ".join(dict.fromkeys(error.field for error in errors))
    raise InvalidValue(f"{summary}: {errors[0].message}. Items to fix: {fields}", errors=[e.as_dict() for e in errors])


async def _replace_tiers(
    session: AsyncSession, product_id: uuid.UUID, version_id: uuid.UUID, tiers: list[dict[str, Any]]
) -> None:
    await session.execute(delete(Tier).where(Tier.version_id == version_id))
    for position, tier in enumerate(tiers):
        session.add(
            Tier(
                version_id=version_id,
                tier_id=uuid.UUID(tier["id"]),
                product_id=product_id,
                position=position,
                name=tier["name"],
                description=tier["description"],
                price_amount=tier["price_amount"],
                currency=tier["currency"] or "",
                billing_period=tier["billing_period"],
                source_reference=tier["source"],
            )
        )
    await session.flush()
