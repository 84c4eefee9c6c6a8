"""The registry's notification endpoint: downloads and pushes become domain events.

Distribution posts `{"events": [...]}` as
`application/vnd.docker.distribution.events.v1+json` with the shared secret in the
`Authorization: Bearer` header. A GET of a manifest in a store repository is one
download. HEAD requests and blob fetches also arrive as `pull` events but are not
downloads. A manifest push into staging is one push. The registry retries a batch until
it gets a 2xx response, so events are deduplicated by the registry's event id.
"""

from __future__ import annotations

import hmac
import uuid
from datetime import datetime

import structlog
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import SessionDep
from shared.errors import BadRequest, InvalidValue, PayloadTooLarge, ProblemError, Unauthorized, problem_responses
from shared.events import emit
from shared.events.schemas import ImagePulled, ImagePushed
from services.licensing.models import PromotedImage, Product, RegistryEvent, Tier
from services.licensing.policy import STAGING, STORE, active_entitlements, parse_repository
from services.licensing.products import is_publisher_member
from services.licensing.registry_client import MANIFEST_MEDIA_TYPES
from services.licensing.registry_config import NOTIFICATIONS_CONTENT_TYPE

log = structlog.get_logger()

router = APIRouter(tags=["registry notifications"])


class UnsupportedMediaType(ProblemError):
    status = 415
    type = "unsupported-media-type"
    title = "Unsupported media type"


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class EventTarget(_Lenient):
    mediaType: str = ""
    digest: str = ""
    repository: str = ""
    url: str = ""
    tag: str | None = None


class EventRequest(_Lenient):
    method: str = ""


class EventActor(_Lenient):
    name: str = ""


class RegistryNotification(_Lenient):
    id: str = Field(min_length=1, max_length=100)
    timestamp: datetime
    action: str
    target: EventTarget
    request: EventRequest = EventRequest()
    actor: EventActor = EventActor()


class NotificationBatch(_Lenient):
    events: list[RegistryNotification]


@router.post(
    "/registry/notifications",
    operation_id="licensing_registry_notifications",
    summary="Receive the registry's event notifications",
    status_code=204,
    responses=problem_responses(400, 401, 413, 415, 422),
)
async def receive_notifications(request: Request, session: SessionDep) -> Response:
    runtime = request.app.state.runtime
    settings = runtime.settings
    _check_secret(request, settings.notifications_secret)

    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    if content_type not in (NOTIFICATIONS_CONTENT_TYPE, "application/json"):
        raise UnsupportedMediaType(
            f"Unsupported content type {content_type[:100]!r}: send {NOTIFICATIONS_CONTENT_TYPE}"
        )
    body = await _read_body(request, settings.notifications_max_body_bytes)
    try:
        batch = NotificationBatch.model_validate_json(body)
    except ValidationError as exc:
        raise BadRequest(f"Invalid notification envelope: {exc.errors()[:3]}") from None
    if len(batch.events) > settings.notifications_max_events:
        raise InvalidValue(
            f"The notification has {len(batch.events)} events; the maximum is "
            f"{settings.notifications_max_events} per request: send the rest in further requests"
        )

    counted = 0
    for event in batch.events:
        if await handle_event(session, event, now=runtime.clock.now()):
            counted += 1
    log.info("licensing.notifications.received", events=len(batch.events), counted=counted)
    return Response(status_code=204)


async def _read_body(request: Request, limit: int) -> bytes:
    """Return the request body, raising `PayloadTooLarge` as soon as it passes `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The notification of {declared} bytes exceeds the limit of {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"The notification exceeds the limit of {limit} bytes")
    return bytes(body)


def _check_secret(request: Request, expected: str) -> None:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), expected.encode()):
        log.warning("licensing.notifications.rejected", client=request.client.host if request.client else None)
        raise Unauthorized("Missing or wrong notification secret in the Authorization header")


def is_manifest(event: RegistryNotification) -> bool:
    return event.target.mediaType in MANIFEST_MEDIA_TYPES or "/manifests/" in event.target.url


async def handle_event(session: AsyncSession, event: RegistryNotification, *, now: datetime) -> bool:
    """Emit the domain event for one registry event; return whether it counted."""
    if not is_manifest(event):
        return False
    parsed = parse_repository(event.target.repository)
    if parsed is None:
        # The registry retries a batch that gets an error response, so an event outside
        # staging/ and store/, or with an invalid name, is logged and skipped instead.
        log.warning(
            "licensing.notifications.invalid_repository",
            repository=event.target.repository[:300],
            registry_event_id=event.id,
        )
        return False
    # Other Wharf services (promotion, the scanner) act as `service:<name>`.
    if event.actor.name.startswith("service:"):
        return False

    is_download = (
        event.action == "pull" and event.request.method == "GET" and parsed.namespace_kind == STORE
    )
    is_staging_push = event.action == "push" and parsed.namespace_kind == STAGING
    if not (is_download or is_staging_push):
        return False

    if not await _first_time(session, event, now=now):
        log.info("licensing.notifications.duplicate", registry_event_id=event.id)
        return False

    if is_download:
        return await _record_download(session, event, now=now)
    await _record_push(session, event)
    return True


async def _first_time(session: AsyncSession, event: RegistryNotification, *, now: datetime) -> bool:
    inserted = await session.execute(
        insert(RegistryEvent)
        .values(
            event_id=event.id,
            action=event.action,
            repository=event.target.repository,
            received_at=now,
        )
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(RegistryEvent.event_id)
    )
    return inserted.first() is not None


async def _record_download(session: AsyncSession, event: RegistryNotification, *, now: datetime) -> bool:
    repository = event.target.repository
    promoted = await session.scalar(
        select(PromotedImage)
        .where(PromotedImage.repository == repository, PromotedImage.digest == event.target.digest)
        .order_by(PromotedImage.promoted_at.desc())
        .limit(1)
    )
    # A platform manifest fetched after its index is part of the same download.
    # NOTE: a client that pulls a platform manifest by digest without its index is not counted.
    if promoted is not None and promoted.parent_digest is not None:
        return False

    product = await session.scalar(select(Product).where(Product.store_repository == repository))
    user_id = _user_id(event.actor.name)
    tier_id = promoted.tier_id if promoted else None
    paid = False
    publisher_member = False
    if user_id is not None and product is not None:
        tier_id, paid = await _paid_tier(session, user_id, product.product_id, tier_id, now=now)
        publisher_member = await is_publisher_member(session, user_id, product.organisation_id)

    product_id = None
    if product is not None:
        product_id = product.product_id
    elif promoted is not None:
        product_id = promoted.product_id

    await emit(
        session,
        "licensing.image.pulled",
        subject=repository,
        data=ImagePulled(
            repository=repository,
            digest=event.target.digest,
            tag=event.target.tag or None,
            user_id=user_id,
            product_id=product_id,
            tier_id=tier_id,
            organisation_id=product.organisation_id if product else None,
            paid=paid,
            publisher_member=publisher_member,
            registry_event_id=event.id,
            pulled_at=event.timestamp,
        ),
    )
    log.info(
        "licensing.image.pulled",
        repository=repository,
        digest=event.target.digest,
        user_id=str(user_id) if user_id else None,
        paid=paid,
        registry_event_id=event.id,
    )
    return True


async def _paid_tier(
    session: AsyncSession,
    user_id: uuid.UUID,
    product_id: uuid.UUID,
    tier_id: uuid.UUID | None,
    *,
    now: datetime,
) -> tuple[uuid.UUID | None, bool]:
    """Find the paid tier the user pulled under: their entitlement to a priced tier.

    An entitlement to the promoted image's tier comes first. When tiers share one image,
    the promoted row names only one of them, so an entitlement to any priced tier of the
    product also makes the pull a paid one.
    """
    paid = []
    for entitlement in await active_entitlements(session, user_id, product_id, now=now):
        tier = await session.get(Tier, entitlement.tier_id)
        if tier is not None and tier.price_amount > 0:
            paid.append(entitlement.tier_id)
    if tier_id in paid:
        return tier_id, True
    if paid:
        return paid[0], True
    return tier_id, False


async def _record_push(session: AsyncSession, event: RegistryNotification) -> None:
    user_id = _user_id(event.actor.name)
    await emit(
        session,
        "licensing.image.pushed",
        subject=event.target.repository,
        data=ImagePushed(
            repository=event.target.repository,
            digest=event.target.digest,
            tag=event.target.tag or None,
            user_id=user_id,
            registry_event_id=event.id,
        ),
    )
    log.info(
        "licensing.image.pushed",
        repository=event.target.repository,
        digest=event.target.digest,
        tag=event.target.tag,
        registry_event_id=event.id,
    )


def _user_id(actor: str) -> uuid.UUID | None:
    # Tokens carry the user id as `sub`, and the registry reports it as the actor name.
    try:
        return uuid.UUID(actor)
    except ValueError:
        return None
