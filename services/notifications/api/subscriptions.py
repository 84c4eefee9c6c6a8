"""Routes for a user's subscriptions and the one-click unsubscribe link."""

from __future__ import annotations

import html
import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy import select

from shared.auth import CurrentPrincipal, Principal, require_member
from shared.db import SessionDep
from shared.errors import NotFound, problem_responses
from shared.pagination import Page, check_limit, finish_page, paginate
from services.notifications import read_models
from services.notifications.models import Subscription
from services.notifications.schemas import SubscriptionOut, UnsubscribeResult
from services.notifications.subscriptions import set_subscription, unsubscribe_by_token
from services.notifications.topics import Topic, scope_kind

router = APIRouter(tags=["subscriptions"])


def subscription_out(subscription: Subscription) -> SubscriptionOut:
    topic = Topic(subscription.topic)
    return SubscriptionOut(
        id=subscription.id,
        topic=topic,
        scope=scope_kind(topic),
        scope_id=subscription.scope_id,
        active=subscription.active,
        created_at=subscription.created_at,
        updated_at=subscription.updated_at,
    )


async def check_scope(
    session, principal: Principal, topic: Topic, scope_id: uuid.UUID, *, subscribing: bool
) -> None:
    """Raise NotFound unless the principal may follow `topic` of this product or organisation."""
    if scope_kind(topic) == "organisation":
        # Publisher notices are for members only, and others learn nothing about the organisation.
        require_member(principal, scope_id, allow_staff=False)
        return

    product = await read_models.find_product(session, scope_id)
    # Unlisted products accept no new subscribers, but existing ones can still leave.
    if product is None or (subscribing and not product.listed):
        raise NotFound(f"Product {scope_id} not found")


@router.get(
    "/subscriptions",
    operation_id="notifications_list_subscriptions",
    summary="List the signed-in user's subscriptions",
    response_model=Page[SubscriptionOut],
    responses=problem_responses(400, 401),
)
async def list_subscriptions(
    session: SessionDep,
    principal: CurrentPrincipal,
    active: Annotated[bool | None, Query(description="Only active (true) or inactive (false) ones")] = None,
    cursor: str | None = None,
    limit: int | None = None,
) -> Page[SubscriptionOut]:
    limit = check_limit(limit)
    statement = select(Subscription).where(Subscription.user_id == principal.user_id)
    if active is not None:
        statement = statement.where(Subscription.active.is_(active))
    statement = paginate(
        statement, columns=[Subscription.created_at, Subscription.id], cursor=cursor, limit=limit
    )
    rows = list((await session.execute(statement)).scalars())
    page_rows, next_cursor = finish_page(rows, limit=limit, key=lambda row: (row.created_at, row.id))
    return Page(items=[subscription_out(row) for row in page_rows], next_cursor=next_cursor)


@router.put(
    "/subscriptions/{topic}/{scope_id}",
    operation_id="notifications_subscribe",
    summary="Subscribe to a topic of a product (updates, security) or an organisation",
    response_model=SubscriptionOut,
    responses=problem_responses(401, 404),
)
async def subscribe(
    topic: Topic, scope_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal, request: Request
) -> SubscriptionOut:
    await check_scope(session, principal, topic, scope_id, subscribing=True)
    subscription = await set_subscription(
        session,
        user_id=principal.user_id,
        topic=topic,
        scope_id=scope_id,
        active=True,
        at=request.app.state.runtime.clock.now(),
    )
    return subscription_out(subscription)


@router.delete(
    "/subscriptions/{topic}/{scope_id}",
    operation_id="notifications_unsubscribe",
    summary="Stop a subscription (also turns off a publisher topic that is on by default)",
    status_code=204,
    responses=problem_responses(401, 404),
)
async def unsubscribe(
    topic: Topic, scope_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal, request: Request
) -> Response:
    await check_scope(session, principal, topic, scope_id, subscribing=False)
    await set_subscription(
        session,
        user_id=principal.user_id,
        topic=topic,
        scope_id=scope_id,
        active=False,
        at=request.app.state.runtime.clock.now(),
    )
    return Response(status_code=204)


@router.get(
    "/unsubscribe",
    operation_id="notifications_unsubscribe_page",
    summary="Page behind an email's unsubscribe link, with a button that confirms",
    response_class=HTMLResponse,
)
async def unsubscribe_page(token: Annotated[str, Query(max_length=200)]) -> HTMLResponse:
    # A GET changes nothing: mail scanners and link previews open links on their own.
    escaped = html.escape(token, quote=True)
    return HTMLResponse(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Unsubscribe</title></head>"
        "<body><h1>Unsubscribe from Wharf notices</h1>"
        f"<form method=\"post\" action=\"unsubscribe?token={escaped}\">"
        "<button type=\"submit\">Unsubscribe</button></form></body></html>"
    )


@router.post(
    "/unsubscribe",
    operation_id="notifications_unsubscribe_by_link",
    summary="One-click unsubscribe (RFC 8058) with the signed token from an email",
    response_model=UnsubscribeResult,
    responses=problem_responses(400, 404),
)
async def unsubscribe_by_link(
    token: Annotated[str, Query(max_length=200)], session: SessionDep, request: Request
):
    runtime = request.app.state.runtime
    subscription = await unsubscribe_by_token(
        session,
        token=token,
        secret=runtime.settings.link_secret.get_secret_value(),
        at=runtime.clock.now(),
    )
    result = UnsubscribeResult(
        subscription_id=subscription.id,
        topic=Topic(subscription.topic),
        scope_id=subscription.scope_id,
        active=subscription.active,
    )
    if "text/html" in request.headers.get("accept", ""):
        return HTMLResponse(
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Unsubscribed</title></head>"
            "<body><h1>You are unsubscribed</h1><p>You will get no more of these notices. "
            "You can subscribe again from the product or organisation page.</p></body></html>"
        )
    return JSONResponse(result.model_dump(mode="json"))
