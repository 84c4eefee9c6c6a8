"""Routes of publisher profiles."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from sqlalchemy import exists, select, update

from services.catalog import profiles
from services.catalog.api.dependencies import SettingsDep
from services.catalog.lifecycle import VISIBLE_STATUSES
from services.catalog.listing import media_url
from services.catalog.markdown import render_markdown
from services.catalog.models import Listing, Media, Product, PublisherProfile
from services.catalog.organisations import display_name_of, namespace_of
from services.catalog.products import has_private_access
from services.catalog.schemas import ProfileIn, ProfileOut
from services.catalog.search_index import publisher_name
from shared.auth import CurrentPrincipal, OptionalPrincipal, OrgRole, require_member
from shared.db import SessionDep
from shared.errors import NotFound, problem_responses

router = APIRouter(tags=["profiles"])


def profile_view(organisation_id: uuid.UUID, namespace: str, profile: PublisherProfile | None) -> ProfileOut:
    missing = profiles.missing_items(profile)
    return ProfileOut(
        organisation_id=organisation_id,
        namespace=namespace,
        legal_name=profile.legal_name if profile else None,
        website=profile.website if profile else None,
        phone=profile.phone if profile else None,
        email=profile.email if profile else None,
        logo_media_id=profile.logo_media_id if profile else None,
        logo_url=media_url(profile.logo_media_id) if profile else None,
        story=profile.story if profile else None,
        story_html=render_markdown(profile.story) if profile else "",
        complete=not missing,
        missing=missing,
    )


async def _has_visible_listing(session, organisation_id: uuid.UUID) -> bool:
    statement = select(
        exists().where(Product.organisation_id == organisation_id, Product.status.in_(VISIBLE_STATUSES))
    )
    return bool((await session.execute(statement)).scalar())


@router.put(
    "/organisations/{organisation_id}/profile",
    operation_id="catalog_save_profile",
    summary="Create or replace the publisher profile of an organisation",
    response_model=ProfileOut,
    responses=problem_responses(401, 403, 404, 422),
)
async def save_profile(
    organisation_id: uuid.UUID, body: ProfileIn, principal: CurrentPrincipal, session: SessionDep, settings: SettingsDep
) -> ProfileOut:
    require_member(principal, organisation_id, OrgRole.EDITOR)
    namespace = await namespace_of(session, organisation_id, principal)
    profile = await profiles.save_profile(session, organisation_id, body, min_logo_side=settings.min_logo_side)

    # Listings already live show the profile at once: its name in search, its logo to anyone.
    if await _has_visible_listing(session, organisation_id):
        name = publisher_name(profile, await display_name_of(session, organisation_id), namespace)
        await session.execute(
            update(Listing).where(Listing.organisation_id == organisation_id).values(publisher_name=name)
        )
        if profile.logo_media_id is not None:
            await session.execute(update(Media).where(Media.id == profile.logo_media_id).values(public=True))
    return profile_view(organisation_id, namespace, profile)


@router.get(
    "/organisations/{organisation_id}/profile",
    operation_id="catalog_get_profile",
    summary="Read a publisher profile; public once the organisation has a published listing",
    response_model=ProfileOut,
    responses=problem_responses(404),
)
async def get_profile(organisation_id: uuid.UUID, principal: OptionalPrincipal, session: SessionDep) -> ProfileOut:
    private = has_private_access(principal, organisation_id)
    if not private and not await _has_visible_listing(session, organisation_id):
        raise NotFound(f"Profile of organisation {organisation_id} not found")
    namespace = await namespace_of(session, organisation_id, principal)
    profile = await profiles.get_profile(session, organisation_id)
    return profile_view(organisation_id, namespace, profile)
