"""Routes for an organisation's webhooks and their deliveries."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response
from sqlalchemy import select

from shared.auth import CurrentPrincipal, OrgRole, require_member
from shared.db import SessionDep
from shared.errors import problem_responses
from shared.idempotency import idempotent
from shared.pagination import Page, check_limit, finish_page, paginate
from shared.settings import Environment
from services.notifications.api.messages import message_out
from services.notifications.messages import queue_webhook_call
from services.notifications.models import Message, Webhook
from services.notifications.schemas import MessageOut, WebhookCreate, WebhookCreated, WebhookOut, WebhookUpdate
from services.notifications.webhooks import check_topics, check_webhook_url, find_webhook, new_secret

router = APIRouter(prefix="/organisations/{organisation_id}/webhooks", tags=["webhooks"])


def _production(request: Request) -> bool:
    return request.app.state.runtime.platform.environment == Environment.PRODUCTION


@router.post(
    "",
    operation_id="notifications_create_webhook",
    summary="Register a webhook; the response carries its signing secret, shown only once",
    status_code=201,
    response_model=WebhookCreated,
    responses=problem_responses(401, 403, 404, 409),
)
async def create_webhook(
    organisation_id: uuid.UUID,
    body: WebhookCreate,
    session: SessionDep,
    principal: CurrentPrincipal,
    request: Request,
):
    require_member(principal, organisation_id, OrgRole.EDITOR, allow_staff=False)
    runtime = request.app.state.runtime

    async def action() -> WebhookCreated:
        topics = check_topics(body.topics)
        await check_webhook_url(body.url, settings=runtime.settings, production=_production(request))
        now = runtime.clock.now()
        webhook = Webhook(
            id=uuid.uuid4(),
            organisation_id=organisation_id,
            url=body.url,
            description=body.description,
            topics=topics,
            secret=new_secret(),
            active=True,
            consecutive_failures=0,
            created_by=principal.user_id,
            created_at=now,
            updated_at=now,
        )
        session.add(webhook)
        await session.flush()
        return WebhookCreated(**WebhookOut.model_validate(webhook).model_dump(), secret=webhook.secret)

    return await idempotent(
        session,
        request,
        scope=f"webhooks:{principal.user_id}",
        payload={"organisation_id": str(organisation_id), **body.model_dump(mode="json")},
        action=action,
        status_code=201,
    )


@router.get(
    "",
    operation_id="notifications_list_webhooks",
    summary="List the organisation's webhooks",
    response_model=Page[WebhookOut],
    responses=problem_responses(400, 401, 404),
)
async def list_webhooks(
    organisation_id: uuid.UUID,
    session: SessionDep,
    principal: CurrentPrincipal,
    cursor: str | None = None,
    limit: int | None = None,
) -> Page[WebhookOut]:
    require_member(principal, organisation_id)
    limit = check_limit(limit)
    statement = paginate(
        select(Webhook).where(Webhook.organisation_id == organisation_id),
        columns=[Webhook.created_at, Webhook.id],
        cursor=cursor,
        limit=limit,
    )
    rows = list((await session.execute(statement)).scalars())
    page_rows, next_cursor = finish_page(rows, limit=limit, key=lambda row: (row.created_at, row.id))
    return Page(items=[WebhookOut.model_validate(row) for row in page_rows], next_cursor=next_cursor)


@router.get(
    "/{webhook_id}",
    operation_id="notifications_get_webhook",
    summary="Read one webhook",
    response_model=WebhookOut,
    responses=problem_responses(401, 404),
)
async def get_webhook(
    organisation_id: uuid.UUID, webhook_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> WebhookOut:
    require_member(principal, organisation_id)
    return WebhookOut.model_validate(await find_webhook(session, organisation_id, webhook_id))


@router.patch(
    "/{webhook_id}",
    operation_id="notifications_update_webhook",
    summary="Change a webhook's URL, topics or description, or enable it again",
    response_model=WebhookOut,
    responses=problem_responses(401, 403, 404),
)
async def update_webhook(
    organisation_id: uuid.UUID,
    webhook_id: uuid.UUID,
    body: WebhookUpdate,
    session: SessionDep,
    principal: CurrentPrincipal,
    request: Request,
) -> WebhookOut:
    require_member(principal, organisation_id, OrgRole.EDITOR, allow_staff=False)
    runtime = request.app.state.runtime
    webhook = await find_webhook(session, organisation_id, webhook_id)

    if body.url is not None:
        await check_webhook_url(body.url, settings=runtime.settings, production=_production(request))
        webhook.url = body.url
    if body.topics is not None:
        webhook.topics = check_topics(body.topics)
    if body.description is not None:
        webhook.description = body.description
    if body.active is True and not webhook.active:
        # Enabling again starts the failure count afresh.
        webhook.active = True
        webhook.consecutive_failures = 0
        webhook.disabled_at = None
        webhook.disabled_reason = None
    elif body.active is False and webhook.active:
        webhook.active = False
        webhook.disabled_at = runtime.clock.now()
        webhook.disabled_reason = f"disabled by {principal.username}"
    webhook.updated_at = runtime.clock.now()
    await session.flush()
    return WebhookOut.model_validate(webhook)


@router.delete(
    "/{webhook_id}",
    operation_id="notifications_delete_webhook",
    summary="Delete a webhook; calls still queued for it are canceled",
    status_code=204,
    responses=problem_responses(401, 403, 404),
)
async def delete_webhook(
    organisation_id: uuid.UUID, webhook_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    require_member(principal, organisation_id, OrgRole.EDITOR, allow_staff=False)
    webhook = await find_webhook(session, organisation_id, webhook_id)
    await session.delete(webhook)
    return Response(status_code=204)


@router.post(
    "/{webhook_id}/ping",
    operation_id="notifications_ping_webhook",
    summary="Queue a signed test call to the webhook",
    status_code=202,
    response_model=MessageOut,
    responses=problem_responses(401, 403, 404, 409),
)
async def ping_webhook(
    organisation_id: uuid.UUID,
    webhook_id: uuid.UUID,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> MessageOut:
    require_member(principal, organisation_id, OrgRole.EDITOR, allow_staff=False)
    webhook = await find_webhook(session, organisation_id, webhook_id)
    message_id = await queue_webhook_call(
        session,
        webhook=webhook,
        kind="ping",
        dedupe_key=f"ping:{uuid.uuid4()}",
        event_type="notifications.webhook.ping",
        data={"webhook_id": str(webhook.id), "requested_by": str(principal.user_id)},
    )
    return message_out(await session.get(Message, message_id))


@router.get(
    "/{webhook_id}/deliveries",
    operation_id="notifications_list_webhook_deliveries",
    summary="List the calls made or queued for a webhook, newest first",
    response_model=Page[MessageOut],
    responses=problem_responses(400, 401, 404),
)
async def list_webhook_deliveries(
    organisation_id: uuid.UUID,
    webhook_id: uuid.UUID,
    session: SessionDep,
    principal: CurrentPrincipal,
    cursor: str | None = None,
    limit: int | None = None,
) -> Page[MessageOut]:
    require_member(principal, organisation_id)
    await find_webhook(session, organisation_id, webhook_id)
    limit = check_limit(limit)
    statement = paginate(
        select(Message).where(Message.webhook_id == webhook_id),
        columns=[Message.created_at, Message.id],
        cursor=cursor,
        limit=limit,
    )
    rows = list((await session.execute(statement)).scalars())
    page_rows, next_cursor = finish_page(rows, limit=limit, key=lambda row: (row.created_at, row.id))
    return Page(items=[message_out(row) for row in page_rows], next_cursor=next_cursor)
