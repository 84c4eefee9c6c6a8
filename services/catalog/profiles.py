"""Publisher profiles: one per organisation, required complete before a first submission."""

from __future__ import annotations

import uuid

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.manifest import HTTP_URL
from services.catalog.models import Media, PublisherProfile
from services.catalog.schemas import ProfileIn
from shared.errors import InvalidValue

REQUIRED_ITEMS = ("legal_name", "website", "phone", "email", "logo_media_id", "story")


def normalise_phone(value: str) -> str:
    """Return a phone number in E.164 form, or raise naming the value."""
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise InvalidValue(
            f"Invalid phone number {value!r}: write it in international form with the country code, e.g. +44 20 7946 0958",
            errors=[{"field": "phone", "message": f"Invalid phone number {value!r}"}],
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(value: str) -> str:
    try:
        # Deliverability needs DNS, which a request must not wait for.
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise InvalidValue(
            f"Invalid email address {value!r}: {exc}",
            errors=[{"field": "email", "message": f"Invalid email address {value!r}"}],
        ) from None


def normalise_website(value: str) -> str:
    if not HTTP_URL.match(value):
        raise InvalidValue(
            f"Invalid website {value!r}: use an http or https URL",
            errors=[{"field": "website", "message": f"Invalid website {value!r}"}],
        )
    return value


async def check_logo(session: AsyncSession, organisation_id: uuid.UUID, media_id: uuid.UUID, min_side: int) -> None:
    """Require the logo to be this organisation's square image of at least `min_side` pixels."""
    media = (
        await session.execute(select(Media).where(Media.id == media_id, Media.organisation_id == organisation_id))
    ).scalar_one_or_none()
    if media is None:
        raise InvalidValue(
            f"The logo {media_id} is not an image uploaded by this organisation",
            errors=[{"field": "logo_media_id", "message": f"Unknown image {media_id}"}],
        )
    if media.width != media.height or media.width < min_side:
        raise InvalidValue(
            f"The logo {media_id} is {media.width}x{media.height} pixels; it must be square and at least {min_side}x{min_side}",
            errors=[{"field": "logo_media_id", "message": f"The logo must be square and at least {min_side}x{min_side} pixels"}],
        )


def missing_items(profile: PublisherProfile | None) -> list[str]:
    if profile is None:
        return list(REQUIRED_ITEMS)
    return [item for item in REQUIRED_ITEMS if not getattr(profile, item)]


async def get_profile(session: AsyncSession, organisation_id: uuid.UUID) -> PublisherProfile | None:
    return await session.get(PublisherProfile, organisation_id)


async def save_profile(
    session: AsyncSession, organisation_id: uuid.UUID, body: ProfileIn, *, min_logo_side: int
) -> PublisherProfile:
    """Validate and store the whole profile; items left out become missing."""
    values = {
        "legal_name": (body.legal_name or "").strip() or None,
        "website": normalise_website(body.website) if body.website else None,
        "phone": normalise_phone(body.phone) if body.phone else None,
        "email": normalise_email(body.email) if body.email else None,
        "logo_media_id": body.logo_media_id,
        "story": (body.story or "").strip() or None,
    }
    if body.logo_media_id is not None:
        await check_logo(session, organisation_id, body.logo_media_id, min_logo_side)

    now = session.info["runtime"].clock.now()
    statement = insert(PublisherProfile).values(organisation_id=organisation_id, created_at=now, updated_at=now, **values)
    await session.execute(
        statement.on_conflict_do_update(index_elements=["organisation_id"], set_={**values, "updated_at": now})
    )
    return await session.get(PublisherProfile, organisation_id, populate_existing=True)
