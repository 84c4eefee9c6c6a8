"""Checkout: an order per purchase, a payment session for it, and its completion."""

from __future__ import annotations

import uuid
from datetime import datetime
from urllib.parse import urlsplit

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import Principal
from shared.errors import InvalidValue, NotFound
from shared.events import emit
from services.billing import ledger
from services.billing.deps import provider_of, runtime_of, settings_of
from services.billing.models import Customer, Order, Price, Tier
from services.billing.providers import CheckoutRequest
from services.billing.schemas import CheckoutCreate, CheckoutRead
from services.billing.subscriptions import start_subscription
from services.billing.tiers import active_price, ensure_stripe_price

log = structlog.get_logger()


async def start_checkout(session: AsyncSession, principal: Principal, body: CheckoutCreate) -> CheckoutRead:
    """Create a pending order for a listed paid tier and a payment session for it."""
    runtime = runtime_of(session)
    settings = settings_of(session)
    provider = provider_of(session)
    now = runtime.clock.now()

    tier = await session.get(Tier, body.tier_id)
    if tier is None or not tier.listed:
        raise NotFound(f"Paid tier {body.tier_id} not found among listed products")
    price = await active_price(session, tier.tier_id)
    if price is None:
        raise NotFound(f"Tier {tier.tier_id} has no current price")

    order_id = uuid.uuid4()
    success_url = resolve_return_url(body.success_url, settings.success_url, order_id, settings, "success_url")
    cancel_url = resolve_return_url(body.cancel_url, settings.cancel_url, order_id, settings, "cancel_url")
    mode = "payment" if price.billing_period == "one_time" else "subscription"

    customer_id = await _customer_for(session, principal, now=now)
    stripe_price_id = await ensure_stripe_price(session, provider, tier, price)

    order = Order(
        id=order_id,
        user_id=principal.user_id,
        organisation_id=tier.organisation_id,
        product_id=tier.product_id,
        tier_id=tier.tier_id,
        price_id=price.id,
        kind="checkout",
        mode=mode,
        status="pending",
        currency=price.currency,
        list_amount=price.amount,
        amount=0,
        tax_amount=0,
        fee_amount=0,
        refunded_amount=0,
        success_url=success_url,
        cancel_url=cancel_url,
        created_at=now,
    )
    session.add(order)
    await session.flush()

    checkout = await provider.create_checkout_session(
        CheckoutRequest(
            order_id=order_id,
            customer_id=customer_id,
            price_id=stripe_price_id,
            mode=mode,
            success_url=success_url,
            cancel_url=cancel_url,
            automatic_tax=settings.automatic_tax,
            metadata=order_metadata(order),
        )
    )
    order.checkout_session_id = checkout.id
    order.checkout_url = checkout.url
    await session.flush()

    log.info("checkout.started", order_id=str(order_id), tier_id=str(tier.tier_id), provider=provider.name)
    return CheckoutRead(
        order_id=order_id,
        checkout_session_id=checkout.id,
        url=checkout.url,
        mode=mode,
        amount=price.amount,
        currency=price.currency,
        provider=provider.name,
    )


def order_metadata(order: Order) -> dict[str, str]:
    return {
        "wharf_order_id": str(order.id),
        "wharf_user_id": str(order.user_id),
        "wharf_tier_id": str(order.tier_id),
        "wharf_product_id": str(order.product_id),
        "wharf_organisation_id": str(order.organisation_id),
    }


def resolve_return_url(requested_url, default: str, order_id: uuid.UUID | None, settings, field: str) -> str:
    """Use the client's URL when its origin is allowed, so Checkout cannot become an open redirect."""
    order_text = str(order_id) if order_id else ""
    if requested_url is None:
        return default.replace("{ORDER_ID}", order_text)

    url = str(requested_url)
    allowed = {_origin(settings.success_url), _origin(settings.cancel_url), _origin(settings.portal_return_url)}
    allowed.update(_origin(origin) for origin in settings.allowed_return_origins)
    if _origin(url) not in allowed:
        raise InvalidValue(
            f"{field} {url!r} is not on an allowed origin. Use one of {sorted(allowed)}",
            field=field,
        )
    return url.replace("%7BORDER_ID%7D", order_text).replace("{ORDER_ID}", order_text)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


async def _customer_for(session: AsyncSession, principal: Principal, *, now: datetime) -> str:
    """Return the user's payment customer, creating it on the first purchase."""
    customer = await session.get(Customer, principal.user_id)
    if customer is not None:
        return customer.stripe_customer_id

    customer_id = await provider_of(session).create_customer(
        user_id=principal.user_id, username=principal.username
    )
    session.add(Customer(user_id=principal.user_id, stripe_customer_id=customer_id, created_at=now))
    await session.flush()
    return customer_id


async def lock_order(session: AsyncSession, **where) -> Order | None:
    statement = select(Order).filter_by(**where).with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def complete_checkout(
    session: AsyncSession,
    order: Order,
    *,
    amount: int,
    tax_amount: int,
    payment_intent_id: str | None,
    subscription_id: str | None,
    current_period_end: datetime | None,
) -> bool:
    """Mark a pending order paid, post the sale and announce it. Return False if already done.

    The caller holds the order's row lock, so two deliveries of the completion cannot
    both see it pending.
    """
    runtime = runtime_of(session)
    settings = settings_of(session)
    now = runtime.clock.now()

    if order.status == "paid":
        return False
    if order.status == "canceled":
        # Stripe only completes a session that was open, so the payment is real and is kept.
        log.warning("checkout.completed_after_cancel", order_id=str(order.id))

    order.status = "paid"
    order.paid_at = now
    order.amount = amount
    order.tax_amount = tax_amount
    order.fee_amount = ledger.platform_fee(amount - tax_amount, settings.platform_fee_basis_points)
    order.payment_intent_id = payment_intent_id
    order.subscription_id = subscription_id
    await session.flush()

    await ledger.record_sale(session, order, occurred_at=now)
    await emit(
        session,
        "billing.checkout.completed",
        subject=str(order.id),
        data={
            "order_id": order.id,
            "user_id": order.user_id,
            "product_id": order.product_id,
            "tier_id": order.tier_id,
            "organisation_id": order.organisation_id,
            "amount": order.amount,
            "tax_amount": order.tax_amount,
            "currency": order.currency,
            "mode": order.mode,
            "subscription_id": subscription_id,
            "current_period_end": current_period_end,
        },
    )

    if order.mode == "subscription" and subscription_id:
        await start_subscription(session, order, subscription_id, current_period_end=current_period_end)

    log.info("checkout.completed", order_id=str(order.id), amount=amount, currency=order.currency)
    return True


async def cancel_checkout(session: AsyncSession, order: Order) -> bool:
    """Mark a pending order canceled (the customer left the payment page or it expired)."""
    if order.status != "pending":
        return False
    order.status = "canceled"
    await session.flush()
    log.info("checkout.canceled", order_id=str(order.id))
    return True


async def price_of(session: AsyncSession, order: Order) -> Price | None:
    if order.price_id is None:
        return None
    return await session.get(Price, order.price_id)
