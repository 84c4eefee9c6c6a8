"""Routes of products and versions: create, edit, submit, withdraw, read the listing, unlist and relist."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Query, Request
from sqlalchemy import select

from services.catalog import products
from services.catalog.api.dependencies import SettingsDep
from services.catalog.events import emit_unlisted
from services.catalog.lifecycle import require_product_move
from services.catalog.listing import build_listing, version_summary
from services.catalog.models import Product, ProductVersion
from services.catalog.organisations import namespace_of
from services.catalog.products import has_private_access, tiers_of
from services.catalog.schemas import (
    ListingOut,
    ProductCreate,
    ProductOut,
    ProductSummary,
    TierOut,
    VersionCreate,
    VersionOut,
    VersionSummary,
    VersionUpdate,
)
from services.catalog.search_index import refresh_listing
from shared.auth import CurrentPrincipal, OptionalPrincipal, OrgRole, require_member
from shared.db import SessionDep
from shared.errors import NotFound, problem_responses
from shared.idempotency import idempotent
from shared.pagination import Page, check_limit, finish_page, paginate

router = APIRouter(tags=["products"])


async def version_view(session, version: ProductVersion) -> VersionOut:
    tiers = await tiers_of(session, version.id)
    return VersionOut(
        id=version.id,
        product_id=version.product_id,
        version=version.version,
        state=version.state,
        state_reason=version.state_reason,
        manifest=version.manifest,
        tiers=[
            TierOut(
                id=tier.tier_id,
                name=tier.name,
                description=tier.description,
                price_amount=tier.price_amount,
                currency=tier.currency,
                billing_period=tier.billing_period,
                source=tier.source_reference,
            )
            for tier in tiers
        ],
        submitted_at=version.submitted_at,
        published_at=version.published_at,
        created_at=version.created_at,
        updated_at=version.updated_at,
    )


def product_summary(product: Product) -> ProductSummary:
    return ProductSummary(
        id=product.id,
        organisation_id=product.organisation_id,
        namespace=product.namespace,
        slug=product.slug,
        name=product.name,
        product_type=product.product_type,
        status=product.status,
        created_at=product.created_at,
    )


async def product_view(session, product: Product, version: ProductVersion) -> ProductOut:
    return ProductOut(**product_summary(product).model_dump(), version=await version_view(session, version))


@router.post(
    "/organisations/{organisation_id}/products",
    operation_id="catalog_create_product",
    summary="Create a product with its first version as a draft",
    status_code=201,
    response_model=ProductOut,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def create_product(
    organisation_id: uuid.UUID, body: ProductCreate, request: Request, principal: CurrentPrincipal, session: SessionDep
):
    require_member(principal, organisation_id, OrgRole.EDITOR)
    namespace = await namespace_of(session, organisation_id, principal)

    async def action() -> ProductOut:
        product, version = await products.create_product(
            session, organisation_id=organisation_id, namespace=namespace, body=body
        )
        return await product_view(session, product, version)

    return await idempotent(
        session, request, scope=str(principal.user_id), payload=body, action=action, status_code=201
    )


@router.get(
    "/organisations/{organisation_id}/products",
    operation_id="catalog_list_organisation_products",
    summary="List an organisation's products in every state, for its members and staff",
    response_model=Page[ProductSummary],
    responses=problem_responses(401, 404),
)
async def list_organisation_products(
    organisation_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    cursor: str | None = None,
    limit: int | None = Query(default=None, description="Page size, 1 to 200"),
) -> Page[ProductSummary]:
    require_member(principal, organisation_id)
    limit = check_limit(limit)
    statement = select(Product).where(Product.organisation_id == organisation_id)
    statement = paginate(statement, columns=[Product.created_at, Product.id], cursor=cursor, limit=limit)
    rows = list((await session.execute(statement)).scalars())
    kept, next_cursor = finish_page(rows, limit=limit, key=lambda product: (product.created_at, product.id))
    return Page(items=[product_summary(product) for product in kept], next_cursor=next_cursor)


@router.get(
    "/products/{product_id}",
    operation_id="catalog_get_product",
    summary="Read a product's listing; unpublished products only for their organisation and staff",
    response_model=ListingOut,
    responses=problem_responses(404),
)
async def get_product(
    product_id: uuid.UUID, principal: OptionalPrincipal, session: SessionDep, settings: SettingsDep
) -> ListingOut:
    product = await products.product_for_reader(session, product_id, principal)
    return await build_listing(session, product, principal, registry=settings.registry_address)


@router.get(
    "/store/{namespace}/{slug}",
    operation_id="catalog_get_listing",
    summary="Read a listing by its store path",
    response_model=ListingOut,
    responses=problem_responses(404),
)
async def get_listing(
    namespace: str, slug: str, principal: OptionalPrincipal, session: SessionDep, settings: SettingsDep
) -> ListingOut:
    product_id = (
        await session.execute(select(Product.id).where(Product.namespace == namespace, Product.slug == slug))
    ).scalar_one_or_none()
    if product_id is None:
        raise NotFound(f"Listing {namespace}/{slug} not found")
    try:
        product = await products.product_for_reader(session, product_id, principal)
    except NotFound:
        raise NotFound(f"Listing {namespace}/{slug} not found") from None
    return await build_listing(session, product, principal, registry=settings.registry_address)


@router.get(
    "/products/{product_id}/versions",
    operation_id="catalog_list_versions",
    summary="List a product's versions: published ones for anyone, all for its organisation",
    response_model=Page[VersionSummary],
    responses=problem_responses(404),
)
async def list_versions(
    product_id: uuid.UUID,
    principal: OptionalPrincipal,
    session: SessionDep,
    cursor: str | None = None,
    limit: int | None = Query(default=None, description="Page size, 1 to 200"),
) -> Page[VersionSummary]:
    product = await products.product_for_reader(session, product_id, principal)
    limit = check_limit(limit)
    statement = select(ProductVersion).where(ProductVersion.product_id == product.id)
    if not has_private_access(principal, product.organisation_id):
        statement = statement.where(ProductVersion.state == "published")
    statement = paginate(statement, columns=[ProductVersion.created_at, ProductVersion.id], cursor=cursor, limit=limit)
    rows = list((await session.execute(statement)).scalars())
    kept, next_cursor = finish_page(rows, limit=limit, key=lambda version: (version.created_at, version.id))
    return Page(items=[version_summary(version) for version in kept], next_cursor=next_cursor)


@router.post(
    "/products/{product_id}/versions",
    operation_id="catalog_create_version",
    summary="Start a new version as a draft copy of the newest one",
    status_code=201,
    response_model=ProductOut,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def create_version(
    product_id: uuid.UUID, body: VersionCreate, request: Request, principal: CurrentPrincipal, session: SessionDep
):
    product = await products.product_for_editor(session, product_id, principal)

    async def action() -> ProductOut:
        version = await products.create_version(session, product, body)
        return await product_view(session, product, version)

    return await idempotent(
        session, request, scope=str(principal.user_id), payload=body, action=action, status_code=201
    )


@router.get(
    "/products/{product_id}/versions/{version_id}",
    operation_id="catalog_get_version",
    summary="Read a version with its manifest; unpublished versions only for their organisation and staff",
    response_model=VersionOut,
    responses=problem_responses(404),
)
async def get_version(
    product_id: uuid.UUID, version_id: uuid.UUID, principal: OptionalPrincipal, session: SessionDep
) -> VersionOut:
    product = await products.product_for_reader(session, product_id, principal)
    version = await products.version_of(session, product, version_id, principal)
    view = await version_view(session, version)
    if not has_private_access(principal, product.organisation_id):
        for tier in view.tiers:
            tier.source = None
    return view


@router.patch(
    "/products/{product_id}/versions/{version_id}",
    operation_id="catalog_update_version",
    summary="Change manifest items of a version in draft or changes_requested",
    response_model=ProductOut,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def update_version(
    product_id: uuid.UUID, version_id: uuid.UUID, body: VersionUpdate, principal: CurrentPrincipal, session: SessionDep
) -> ProductOut:
    product = await products.product_for_editor(session, product_id, principal)
    version = await products.version_of(session, product, version_id, principal, lock=True)
    version = await products.update_version(session, product, version, body)
    return await product_view(session, product, version)


@router.post(
    "/products/{product_id}/versions/{version_id}/submit",
    operation_id="catalog_submit_version",
    summary="Submit a complete version for scanning and review",
    response_model=ProductOut,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def submit_version(
    product_id: uuid.UUID,
    version_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
) -> ProductOut:
    product = await products.product_for_editor(session, product_id, principal)
    version = await products.version_of(session, product, version_id, principal, lock=True)
    await products.submit_version(session, product, version, min_logo_side=settings.min_logo_side)
    await session.refresh(version)
    return await product_view(session, product, version)


@router.post(
    "/products/{product_id}/versions/{version_id}/withdraw",
    operation_id="catalog_withdraw_version",
    summary="Take a submitted version back to draft before its review is decided",
    response_model=ProductOut,
    responses=problem_responses(401, 403, 404, 409),
)
async def withdraw_version(
    product_id: uuid.UUID, version_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> ProductOut:
    product = await products.product_for_editor(session, product_id, principal)
    version = await products.version_of(session, product, version_id, principal, lock=True)
    await products.withdraw_version(session, product, version)
    await session.refresh(version)
    return await product_view(session, product, version)


@router.post(
    "/products/{product_id}/unlist",
    operation_id="catalog_unlist_product",
    summary="Take a published listing out of the store; customers keep what they own",
    response_model=ProductSummary,
    responses=problem_responses(401, 403, 404, 409),
)
async def unlist_product(product_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep) -> ProductSummary:
    product = await products.product_for_editor(session, product_id, principal)
    await require_product_move(session, product, "unlist")
    await refresh_listing(session, product.id)
    await emit_unlisted(session, product)
    await session.refresh(product)
    return product_summary(product)


@router.post(
    "/products/{product_id}/relist",
    operation_id="catalog_relist_product",
    summary="Put an unlisted product back into the store",
    response_model=ProductSummary,
    responses=problem_responses(401, 403, 404, 409),
)
async def relist_product(product_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep) -> ProductSummary:
    product = await products.product_for_editor(session, product_id, principal)
    # NOTE: relisting emits no event, because no event type means "listed again"; consumers
    # that acted on `catalog.product.unlisted` do not learn of it.
    await require_product_move(session, product, "relist")
    await refresh_listing(session, product.id)
    await session.refresh(product)
    return product_summary(product)
