"""Refunds: made by staff through the API, or in Stripe's dashboard and reported by webhook."""

from __future__ import annotations

import uuid

import structlog
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import Principal
from shared.errors import Conflict, InvalidValue, NotFound
from shared.events import emit
from services.billing import ledger
from services.billing.checkout import lock_order
from services.billing.deps import provider_of, runtime_of
from services.billing.models import Order, Refund
from services.billing.schemas import RefundCreate

log = structlog.get_logger()

# Stripe refund statuses that move money back to the customer (or are about to).
COUNTED_STATUSES = frozenset({"succeeded", "pending", "requires_action"})
# Namespace of the idempotency keys of staff refunds.
REFUND_KEYS = uuid.UUID("5b0f0b2e-4c56-4a4f-9a53-3f1d6f0c8e21")


async def refund_order(
    session: AsyncSession, principal: Principal, order_id: uuid.UUID, body: RefundCreate
) -> Refund:
    """Refund part or all of what is left of a paid order, in Stripe and in the ledger."""
    order = await lock_order(session, id=order_id)
    if order is None:
        raise NotFound(f"Order {order_id} not found")
    if order.status != "paid":
        raise Conflict(f"Order {order_id} is {order.status}. Only paid orders can be refunded")
    if order.payment_intent_id is None:
        raise Conflict(f"Order {order_id} has no recorded payment to refund")

    remaining = order.amount - order.refunded_amount
    amount = body.amount if body.amount is not None else remaining
    if remaining <= 0:
        raise Conflict(f"Order {order_id} is already fully refunded")
    if amount > remaining:
        raise InvalidValue(
            f"Refund amount {amount} exceeds the {remaining} {order.currency} left to refund on order {order_id}",
            field="amount",
        )

    # The key depends on the order's refund state, so a retried request reuses the
    # Stripe refund it already made, while a later, deliberate refund gets a new key.
    refund_id = uuid.uuid5(REFUND_KEYS, f"{order.id}:{order.refunded_amount}:{amount}")
    result = await provider_of(session).create_refund(
        refund_id=refund_id,
        payment_intent=order.payment_intent_id,
        amount=amount,
        metadata={"wharf_order_id": str(order.id), "wharf_refund_id": str(refund_id)},
    )
    refund = await apply_refund(
        session,
        order,
        stripe_refund_id=result.id,
        amount=amount,
        status=result.status,
        reason=body.reason,
        initiated_by="staff",
        actor_id=principal.user_id,
        refund_id=refund_id,
    )
    log.info("refund.created", order_id=str(order.id), refund_id=str(refund.id), amount=amount, actor_id=str(principal.user_id))
    return refund


async def apply_refund(
    session: AsyncSession,
    order: Order,
    *,
    stripe_refund_id: str,
    amount: int,
    status: str,
    reason: str | None,
    initiated_by: str,
    actor_id: uuid.UUID | None = None,
    refund_id: uuid.UUID | None = None,
) -> Refund:
    """Record one refund once: reverse the sale in the ledger and announce it.

    The caller holds the order's row lock. A refund already recorded under its Stripe id
    (the webhook of a refund made through the API) is returned unchanged.
    """
    now = runtime_of(session).clock.now()
    inserted = await session.execute(
        insert(Refund)
        .values(
            id=refund_id or uuid.uuid4(),
            stripe_refund_id=stripe_refund_id,
            order_id=order.id,
            amount=amount,
            currency=order.currency,
            status=status,
            reason=reason,
            initiated_by=initiated_by,
            actor_id=actor_id,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["stripe_refund_id"])
        .returning(Refund.id)
    )
    new_id = inserted.scalar_one_or_none()
    refund = (
        await session.execute(select(Refund).where(Refund.stripe_refund_id == stripe_refund_id))
    ).scalar_one()
    if new_id is None:
        return refund

    refunded_before = order.refunded_amount
    if refunded_before + amount > order.amount:
        # Stripe never refunds more than was paid, so the stored order must be wrong.
        log.error("refund.exceeds_order", order_id=str(order.id), stripe_refund_id=stripe_refund_id, amount=amount)
    order.refunded_amount = refunded_before + amount
    await session.flush()

    await ledger.record_refund(session, order, refund, refunded_before=refunded_before, occurred_at=now)
    tax_part, _fee_part = ledger.refund_parts(order, refunded_before=refunded_before, amount=amount)
    await emit(
        session,
        "billing.payment.refunded",
        subject=str(order.id),
        data={
            "order_id": order.id,
            "refund_id": stripe_refund_id,
            "user_id": order.user_id,
            "product_id": order.product_id,
            "tier_id": order.tier_id,
            "organisation_id": order.organisation_id,
            "amount": amount,
            "currency": order.currency,
            "full": order.refunded_amount >= order.amount,
            "tax_amount": tax_part,
            "refunded_total": order.refunded_amount,
        },
    )
    return refund
