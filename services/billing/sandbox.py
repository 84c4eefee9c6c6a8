"""The sandbox checkout and customer portal, served when no Stripe API key is configured.

The checkout page replaces Stripe Checkout. Completing it runs the same domain code
as Stripe's `checkout.session.completed` webhook, with a made-up payment id and no tax.
The session id in the page address is the capability, as with Stripe's hosted pages.
"""

from __future__ import annotations

import secrets
from html import escape

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from sqlalchemy import select

from shared.auth import CurrentPrincipal, require_staff
from shared.db import SessionDep
from shared.errors import Conflict, NotFound, problem_responses
from services.billing.checkout import cancel_checkout, complete_checkout, lock_order
from services.billing.deps import request_provider
from services.billing.models import Order, PortalSession, Price, Subscription, Tier
from services.billing.schemas import OrderRead, SubscriptionRead
from services.billing.subscriptions import add_period, cancel_subscription, lock_subscription, renew_subscription


def require_sandbox(request: Request) -> None:
    if request_provider(request).name != "sandbox":
        raise NotFound(f"{request.url.path} not found: the sandbox is off because Stripe is configured")


router = APIRouter(prefix="/sandbox", tags=["sandbox"], dependencies=[Depends(require_sandbox)])

# ISO 4217 currencies without minor units; all others used here have two decimals.
ZERO_DECIMAL = frozenset({"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"})


def format_money(amount: int, currency: str) -> str:
    if currency in ZERO_DECIMAL:
        return f"{amount} {currency}"
    return f"{amount // 100}.{amount % 100:02d} {currency}"


def _new_id(prefix: str) -> str:
    return f"{prefix}_sandbox_{secrets.token_hex(12)}"


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}}
.note{{background:#fff4d6;padding:.5rem 1rem;border-radius:.3rem}}button{{font-size:1rem;margin-right:.5rem}}</style>
</head><body>
<p class="note">Sandbox payment: no money moves. Stripe is not configured on this server.</p>
{body}
</body></html>"""


@router.get(
    "/checkout/{session_id}",
    operation_id="billing_sandbox_checkout_page",
    summary="The sandbox payment page of a checkout session",
    response_class=HTMLResponse,
    responses=problem_responses(404),
)
async def checkout_page(session_id: str, session: SessionDep):
    order = await _order_for(session, session_id)
    tier = await session.get(Tier, order.tier_id)
    period = {"one_time": "once", "monthly": "per month", "yearly": "per year"}.get(tier.billing_period, "")
    heading = f"<h1>{escape(tier.product_name)}</h1><p>{escape(tier.name)}: {escape(format_money(order.list_amount, order.currency))} {period}</p>"

    if order.status == "pending":
        # Relative form targets keep working behind the gateway's /api/billing prefix.
        actions = (
            f'<form method="post" action="{escape(session_id)}/complete" style="display:inline">'
            '<button type="submit">Pay</button></form>'
            f'<form method="post" action="{escape(session_id)}/cancel" style="display:inline">'
            '<button type="submit">Cancel</button></form>'
        )
    else:
        actions = f"<p>This checkout is {escape(order.status)}.</p>"
    return HTMLResponse(PAGE.format(title="Sandbox checkout", body=heading + actions))


@router.post(
    "/checkout/{session_id}/complete",
    operation_id="billing_sandbox_complete_checkout",
    summary="Pay a sandbox checkout session; redirects to the success URL, or returns the order as JSON",
    responses={**problem_responses(404, 409), 303: {"description": "Redirect to the success URL"}},
)
async def complete(session_id: str, session: SessionDep, request: Request):
    order = await _order_for(session, session_id, lock=True)
    if order.status == "canceled":
        raise Conflict(f"Checkout session {session_id} was canceled. Start a new checkout")

    if order.status == "pending":
        now = request.app.state.runtime.clock.now()
        price = await session.get(Price, order.price_id)
        subscription_id = _new_id("sub") if order.mode == "subscription" else None
        await complete_checkout(
            session,
            order,
            amount=order.list_amount,
            tax_amount=0,
            payment_intent_id=_new_id("pi"),
            subscription_id=subscription_id,
            current_period_end=add_period(now, price.billing_period) if subscription_id else None,
        )

    if _wants_json(request):
        return JSONResponse(OrderRead.model_validate(order).model_dump(mode="json"))
    return RedirectResponse(order.success_url, status_code=303)


@router.post(
    "/checkout/{session_id}/cancel",
    operation_id="billing_sandbox_cancel_checkout",
    summary="Leave a sandbox checkout session without paying",
    responses={**problem_responses(404), 303: {"description": "Redirect to the cancel URL"}},
)
async def cancel(session_id: str, session: SessionDep, request: Request):
    order = await _order_for(session, session_id, lock=True)
    await cancel_checkout(session, order)
    if _wants_json(request):
        return JSONResponse(OrderRead.model_validate(order).model_dump(mode="json"))
    return RedirectResponse(order.cancel_url, status_code=303)


async def _order_for(session, session_id: str, *, lock: bool = False) -> Order:
    if lock:
        order = await lock_order(session, checkout_session_id=session_id)
    else:
        order = (await session.execute(select(Order).where(Order.checkout_session_id == session_id))).scalar_one_or_none()
    if order is None:
        raise NotFound(f"Checkout session {session_id} not found")
    return order


@router.get(
    "/portal/{portal_id}",
    operation_id="billing_sandbox_portal_page",
    summary="The sandbox customer portal: the customer's subscriptions, each with a cancel button",
    response_class=HTMLResponse,
    responses=problem_responses(404),
)
async def portal_page(portal_id: str, session: SessionDep, request: Request):
    portal = await _portal(session, portal_id, request)
    subscriptions = (
        await session.execute(
            select(Subscription, Tier)
            .join(Tier, Tier.tier_id == Subscription.tier_id)
            .where(Subscription.user_id == portal.user_id)
            .order_by(Subscription.created_at)
        )
    ).all()

    rows = []
    for subscription, tier in subscriptions:
        state = escape(subscription.status)
        button = ""
        if subscription.status != "canceled":
            button = (
                f'<form method="post" action="{escape(portal_id)}/subscriptions/{escape(subscription.id)}/cancel">'
                '<button type="submit">Cancel subscription</button></form>'
            )
        rows.append(f"<li>{escape(tier.product_name)} ({escape(tier.name)}): {state}{button}</li>")
    body = f"<h1>Your subscriptions</h1><ul>{''.join(rows) or '<li>None</li>'}</ul>"
    body += f'<p><a href="{escape(portal.return_url)}">Back to the store</a></p>'
    return HTMLResponse(PAGE.format(title="Sandbox customer portal", body=body))


@router.post(
    "/portal/{portal_id}/subscriptions/{subscription_id}/cancel",
    operation_id="billing_sandbox_portal_cancel_subscription",
    summary="Cancel a subscription from the sandbox customer portal",
    responses={**problem_responses(404), 303: {"description": "Back to the portal page"}},
)
async def portal_cancel(portal_id: str, subscription_id: str, session: SessionDep, request: Request):
    portal = await _portal(session, portal_id, request)
    subscription = await lock_subscription(session, subscription_id)
    if subscription is None or subscription.user_id != portal.user_id:
        raise NotFound(f"Subscription {subscription_id} not found")
    await cancel_subscription(session, subscription)
    if _wants_json(request):
        return JSONResponse(SubscriptionRead.model_validate(subscription).model_dump(mode="json"))
    return RedirectResponse(f"../../../{portal_id}", status_code=303)


async def _portal(session, portal_id: str, request: Request) -> PortalSession:
    portal = await session.get(PortalSession, portal_id)
    if portal is None or portal.expires_at <= request.app.state.runtime.clock.now():
        raise NotFound(f"Portal session {portal_id} not found or expired. Open the portal again from the store")
    return portal


@router.post(
    "/subscriptions/{subscription_id}/renew",
    operation_id="billing_sandbox_renew_subscription",
    summary="Renew a sandbox subscription for one more period, as a paid invoice would (staff)",
    response_model=SubscriptionRead,
    responses=problem_responses(401, 403, 404, 409),
)
async def renew(subscription_id: str, principal: CurrentPrincipal, session: SessionDep, request: Request):
    require_staff(principal, "admin")
    subscription = await lock_subscription(session, subscription_id)
    if subscription is None:
        raise NotFound(f"Subscription {subscription_id} not found")
    if subscription.status == "canceled":
        raise Conflict(f"Subscription {subscription_id} is canceled and cannot renew")

    price = await session.get(Price, subscription.price_id)
    start = subscription.current_period_end or request.app.state.runtime.clock.now()
    await renew_subscription(
        session,
        subscription,
        invoice_id=_new_id("in"),
        amount=price.amount,
        tax_amount=0,
        currency=price.currency,
        payment_intent_id=_new_id("pi"),
        current_period_end=add_period(start, price.billing_period),
    )
    return SubscriptionRead.model_validate(subscription)



