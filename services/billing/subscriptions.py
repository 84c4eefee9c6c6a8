"""Subscriptions: started by a checkout, renewed by paid invoices, ended by cancellation."""

from __future__ import annotations

import calendar
import uuid
from datetime import datetime

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.events import emit
from services.billing import ledger
from services.billing.deps import runtime_of, settings_of
from services.billing.models import Order, Subscription

log = structlog.get_logger()


def add_period(moment: datetime, billing_period: str) -> datetime:
    """Return `moment` one billing period later. A 31st becomes the last day of a shorter month."""
    months = 12 if billing_period == "yearly" else 1
    month_index = moment.month - 1 + months
    year = moment.year + month_index // 12
    month = month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


async def lock_subscription(session: AsyncSession, subscription_id: str) -> Subscription | None:
    statement = select(Subscription).where(Subscription.id == subscription_id).with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def start_subscription(
    session: AsyncSession, order: Order, subscription_id: str, *, current_period_end: datetime | None
) -> Subscription:
    now = runtime_of(session).clock.now()
    subscription = await lock_subscription(session, subscription_id)
    if subscription is not None:
        return subscription

    subscription = Subscription(
        id=subscription_id,
        user_id=order.user_id,
        organisation_id=order.organisation_id,
        product_id=order.product_id,
        tier_id=order.tier_id,
        price_id=order.price_id,
        first_order_id=order.id,
        status="active",
        current_period_end=current_period_end,
        cancel_at_period_end=False,
        canceled_at=None,
        created_at=now,
        updated_at=now,
    )
    session.add(subscription)
    await session.flush()

    await _announce(
        session,
        "billing.subscription.started",
        subscription,
        amount=order.amount,
        currency=order.currency,
        order_id=order.id,
        tax_amount=order.tax_amount,
    )
    log.info("subscription.started", subscription_id=subscription_id, order_id=str(order.id))
    return subscription


async def renew_subscription(
    session: AsyncSession,
    subscription: Subscription,
    *,
    invoice_id: str,
    amount: int,
    tax_amount: int,
    currency: str,
    payment_intent_id: str | None,
    current_period_end: datetime | None,
) -> Order | None:
    """Record a paid renewal invoice as an order, post the sale and announce the renewal.

    Returns None when the invoice was already recorded.
    """
    runtime = runtime_of(session)
    settings = settings_of(session)
    now = runtime.clock.now()

    existing = (await session.execute(select(Order.id).where(Order.invoice_id == invoice_id))).first()
    if existing is not None:
        return None

    order = Order(
        id=uuid.uuid4(),
        user_id=subscription.user_id,
        organisation_id=subscription.organisation_id,
        product_id=subscription.product_id,
        tier_id=subscription.tier_id,
        price_id=subscription.price_id,
        kind="renewal",
        mode="subscription",
        status="paid",
        currency=currency,
        list_amount=amount,
        amount=amount,
        tax_amount=tax_amount,
        fee_amount=ledger.platform_fee(amount - tax_amount, settings.platform_fee_basis_points),
        refunded_amount=0,
        payment_intent_id=payment_intent_id,
        invoice_id=invoice_id,
        subscription_id=subscription.id,
        created_at=now,
        paid_at=now,
    )
    session.add(order)
    await session.flush()
    await ledger.record_sale(session, order, occurred_at=now)

    # A renewal can be delivered after a later subscription update, so the period only moves forward.
    if current_period_end is not None and (
        subscription.current_period_end is None or current_period_end > subscription.current_period_end
    ):
        subscription.current_period_end = current_period_end
    if subscription.status != "canceled":
        subscription.status = "active"
    subscription.updated_at = now
    await session.flush()

    await _announce(
        session,
        "billing.subscription.renewed",
        subscription,
        amount=amount,
        currency=currency,
        order_id=order.id,
        tax_amount=tax_amount,
    )
    log.info("subscription.renewed", subscription_id=subscription.id, order_id=str(order.id))
    return order


async def cancel_subscription(session: AsyncSession, subscription: Subscription, *, canceled_at: datetime | None = None) -> bool:
    """End a subscription once. Return False if it was already canceled."""
    if subscription.status == "canceled":
        return False
    now = runtime_of(session).clock.now()
    subscription.status = "canceled"
    subscription.canceled_at = canceled_at or now
    subscription.updated_at = now
    await session.flush()

    await _announce(session, "billing.subscription.canceled", subscription)
    log.info("subscription.canceled", subscription_id=subscription.id)
    return True


async def mark_payment_failed(session: AsyncSession, subscription: Subscription) -> None:
    if subscription.status == "canceled":
        return
    subscription.status = "past_due"
    subscription.updated_at = runtime_of(session).clock.now()
    await session.flush()
    await _announce(session, "billing.subscription.payment_failed", subscription)
    log.warning("subscription.payment_failed", subscription_id=subscription.id)


async def update_subscription(
    session: AsyncSession,
    subscription: Subscription,
    *,
    status: str,
    cancel_at_period_end: bool,
    current_period_end: datetime | None,
) -> None:
    """Apply Stripe's view of a subscription. A canceled subscription stays canceled."""
    if status == "canceled":
        await cancel_subscription(session, subscription)
        return
    if subscription.status == "canceled":
        log.info("subscription.update.after_cancel", subscription_id=subscription.id, status=status)
        return

    subscription.status = status
    subscription.cancel_at_period_end = cancel_at_period_end
    if current_period_end is not None and (
        subscription.current_period_end is None or current_period_end > subscription.current_period_end
    ):
        subscription.current_period_end = current_period_end
    subscription.updated_at = runtime_of(session).clock.now()
    await session.flush()


async def _announce(
    session: AsyncSession,
    event_type: str,
    subscription: Subscription,
    *,
    amount: int | None = None,
    currency: str | None = None,
    order_id: uuid.UUID | None = None,
    tax_amount: int | None = None,
) -> None:
    await emit(
        session,
        event_type,
        subject=subscription.id,
        data={
            "subscription_id": subscription.id,
            "user_id": subscription.user_id,
            "product_id": subscription.product_id,
            "tier_id": subscription.tier_id,
            "organisation_id": subscription.organisation_id,
            "current_period_end": subscription.current_period_end,
            "amount": amount,
            "currency": currency,
            "order_id": order_id,
            "tax_amount": tax_amount,
            "status": subscription.status,
            "cancel_at_period_end": subscription.cancel_at_period_end,
        },
    )
