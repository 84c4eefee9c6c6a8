"""Routes of uploaded images: upload into an organisation, serve with cache headers."""

from __future__ import annotations

import uuid

import structlog
from fastapi import APIRouter, File, Request, Response, UploadFile

from services.catalog.api.dependencies import SettingsDep, StorageDep
from services.catalog.images import inspect_image
from services.catalog.listing import media_url
from services.catalog.models import Media
from services.catalog.organisations import namespace_of
from services.catalog.products import has_private_access
from services.catalog.schemas import MediaOut
from shared.auth import CurrentPrincipal, OptionalPrincipal, OrgRole, require_member
from shared.db import SessionDep
from shared.errors import NotFound, problem_responses
from shared.idempotency import idempotent

log = structlog.get_logger()

router = APIRouter(tags=["media"])


def media_view(media: Media) -> MediaOut:
    return MediaOut(
        id=media.id,
        url=media_url(media.id),
        content_type=media.content_type,
        width=media.width,
        height=media.height,
        byte_size=media.byte_size,
        sha256=media.sha256,
    )


@router.post(
    "/organisations/{organisation_id}/media",
    operation_id="catalog_upload_media",
    summary="Upload a PNG or JPEG image for a logo or screenshot",
    status_code=201,
    response_model=MediaOut,
    responses=problem_responses(401, 403, 404, 413, 422),
)
async def upload_media(
    organisation_id: uuid.UUID,
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
    file: UploadFile = File(description="The image, at most the configured size"),
):
    require_member(principal, organisation_id, OrgRole.EDITOR)
    await namespace_of(session, organisation_id, principal)

    # One byte over the limit is enough to know the file is too large.
    data = await file.read(settings.max_image_bytes + 1)
    filename = file.filename or "upload"
    info = inspect_image(data, filename=filename, max_bytes=settings.max_image_bytes, max_pixels=settings.max_image_pixels)

    async def action() -> MediaOut:
        media_id = uuid.uuid4()
        key = f"{organisation_id}/{media_id}"
        await storage.put(key, data)
        media = Media(
            id=media_id,
            organisation_id=organisation_id,
            storage_key=key,
            content_type=info.content_type,
            byte_size=info.byte_size,
            width=info.width,
            height=info.height,
            sha256=info.sha256,
            public=False,
            created_at=session.info["runtime"].clock.now(),
        )
        session.add(media)
        await session.flush()
        log.info("media.uploaded", media_id=str(media_id), organisation_id=str(organisation_id), bytes=info.byte_size)
        return media_view(media)

    return await idempotent(
        session, request, scope=str(principal.user_id), payload={"sha256": info.sha256}, action=action, status_code=201
    )


@router.get(
    "/media/{media_id}",
    operation_id="catalog_get_media",
    summary="Download an image; images of unpublished listings only for their organisation",
    response_class=Response,
    responses={200: {"content": {"image/png": {}, "image/jpeg": {}}}, **problem_responses(404)},
)
async def get_media(
    media_id: uuid.UUID,
    request: Request,
    principal: OptionalPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
) -> Response:
    media = await session.get(Media, media_id)
    if media is None or not (media.public or has_private_access(principal, media.organisation_id)):
        raise NotFound(f"Image {media_id} not found")

    # The bytes behind an id never change, so public images may be cached for long.
    cache_control = f"public, max-age={settings.media_max_age}, immutable" if media.public else "private, no-cache"
    etag = f'"{media.sha256}"'
    headers = {"Cache-Control": cache_control, "ETag": etag, "X-Content-Type-Options": "nosniff"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)

    try:
        data = await storage.get(media.storage_key)
    except FileNotFoundError:
        log.error("media.missing", media_id=str(media_id), storage_key=media.storage_key)
        raise NotFound(f"Image {media_id} not found in the media storage") from None
    return Response(content=data, media_type=media.content_type, headers=headers)
