"""HTTP routes for customers (checkout, orders, subscriptions) and for staff refunds."""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta

from fastapi import APIRouter, Request, status
from sqlalchemy import select

from shared.auth import CurrentPrincipal, require_owner, require_staff
from shared.db import SessionDep
from shared.errors import NotFound, problem_responses
from shared.idempotency import idempotent
from shared.pagination import Page, check_limit, finish_page, paginate
from services.billing import checkout, refunds
from services.billing.deps import ProviderDep
from services.billing.models import Customer, Order, PortalSession, Refund, Subscription
from services.billing.schemas import (
    CheckoutCreate,
    CheckoutRead,
    OrderRead,
    PortalSessionCreate,
    PortalSessionRead,
    RefundCreate,
    RefundRead,
    SubscriptionRead,
)

router = APIRouter(tags=["billing"])

PORTAL_SESSION_LIFETIME = timedelta(hours=1)


@router.post(
    "/checkouts",
    operation_id="billing_create_checkout",
    summary="Start buying a paid tier: returns the payment page to send the customer to",
    status_code=status.HTTP_201_CREATED,
    response_model=CheckoutRead,
    responses=problem_responses(401, 404, 422, 502),
)
async def create_checkout(body: CheckoutCreate, principal: CurrentPrincipal, session: SessionDep, request: Request):
    async def action():
        return await checkout.start_checkout(session, principal, body)

    return await idempotent(
        session, request, scope=f"checkout:{principal.user_id}", payload=body, action=action, status_code=201
    )


@router.get(
    "/orders",
    operation_id="billing_list_orders",
    summary="List the signed-in customer's orders, newest first",
    response_model=Page[OrderRead],
    responses=problem_responses(400, 401),
)
async def list_orders(
    principal: CurrentPrincipal, session: SessionDep, cursor: str | None = None, limit: int | None = None
):
    limit = check_limit(limit)
    statement = paginate(
        select(Order).where(Order.user_id == principal.user_id),
        columns=[Order.created_at, Order.id],
        cursor=cursor,
        limit=limit,
    )
    rows = (await session.execute(statement)).scalars().all()
    items, next_cursor = finish_page(list(rows), limit=limit, key=lambda order: (order.created_at, order.id))
    return Page[OrderRead](items=[OrderRead.model_validate(order) for order in items], next_cursor=next_cursor)


@router.get(
    "/orders/{order_id}",
    operation_id="billing_get_order",
    summary="Read one of the signed-in customer's orders",
    response_model=OrderRead,
    responses=problem_responses(401, 404),
)
async def get_order(order_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep):
    order = await session.get(Order, order_id)
    if order is None:
        raise NotFound(f"Order {order_id} not found")
    require_owner(principal, order.user_id, what="order", object_id=order_id)
    return OrderRead.model_validate(order)


@router.get(
    "/orders/{order_id}/refunds",
    operation_id="billing_list_order_refunds",
    summary="List the refunds of one of the signed-in customer's orders",
    response_model=list[RefundRead],
    responses=problem_responses(401, 404),
)
async def list_order_refunds(order_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep):
    order = await session.get(Order, order_id)
    if order is None:
        raise NotFound(f"Order {order_id} not found")
    require_owner(principal, order.user_id, what="order", object_id=order_id)
    rows = (
        await session.execute(select(Refund).where(Refund.order_id == order_id).order_by(Refund.created_at, Refund.id))
    ).scalars()
    return [RefundRead.model_validate(refund) for refund in rows]


@router.post(
    "/orders/{order_id}/refunds",
    operation_id="billing_refund_order",
    summary="Refund an order fully or partly (staff)",
    status_code=status.HTTP_201_CREATED,
    response_model=RefundRead,
    responses=problem_responses(401, 403, 404, 409, 422, 502),
)
async def refund_order(
    order_id: uuid.UUID, body: RefundCreate, principal: CurrentPrincipal, session: SessionDep, request: Request
):
    require_staff(principal, "admin")

    async def action():
        refund = await refunds.refund_order(session, principal, order_id, body)
        return RefundRead.model_validate(refund)

    return await idempotent(
        session, request, scope=f"refund:{principal.user_id}", payload=body, action=action, status_code=201
    )


@router.get(
    "/subscriptions",
    operation_id="billing_list_subscriptions",
    summary="List the signed-in customer's subscriptions, newest first",
    response_model=Page[SubscriptionRead],
    responses=problem_responses(400, 401),
)
async def list_subscriptions(
    principal: CurrentPrincipal, session: SessionDep, cursor: str | None = None, limit: int | None = None
):
    limit = check_limit(limit)
    statement = paginate(
        select(Subscription).where(Subscription.user_id == principal.user_id),
        columns=[Subscription.created_at, Subscription.id],
        cursor=cursor,
        limit=limit,
    )
    rows = (await session.execute(statement)).scalars().all()
    items, next_cursor = finish_page(list(rows), limit=limit, key=lambda row: (row.created_at, row.id))
    return Page[SubscriptionRead](
        items=[SubscriptionRead.model_validate(row) for row in items], next_cursor=next_cursor
    )


@router.post(
    "/portal-sessions",
    operation_id="billing_create_portal_session",
    summary="Get a link to the customer portal, where subscriptions are managed and canceled",
    status_code=status.HTTP_201_CREATED,
    response_model=PortalSessionRead,
    responses=problem_responses(401, 404, 502),
)
async def create_portal_session(
    body: PortalSessionCreate, principal: CurrentPrincipal, session: SessionDep, provider: ProviderDep, request: Request
):
    customer = await session.get(Customer, principal.user_id)
    if customer is None:
        raise NotFound(f"User {principal.user_id} has no purchases yet, so there is no portal to open")

    settings = request.app.state.runtime.settings
    return_url = checkout.resolve_return_url(body.return_url, settings.portal_return_url, None, settings, "return_url")
    key = secrets.token_urlsafe(24)
    if provider.name == "sandbox":
        now = request.app.state.runtime.clock.now()
        session.add(
            PortalSession(id=key, user_id=principal.user_id, return_url=return_url, expires_at=now + PORTAL_SESSION_LIFETIME)
        )
        await session.flush()

    url = await provider.create_portal_session(customer_id=customer.stripe_customer_id, return_url=return_url, key=key)
    return PortalSessionRead(url=url)
