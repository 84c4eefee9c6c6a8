"""Stripe webhooks: verified, stored by event id, applied once, in any order.

Stripe delivers each event at least once and in no particular order. Each event id is
stored on arrival, so a redelivery has no second effect. An event about an order or
subscription not known yet (a renewal that arrives before its checkout, say) is kept as
deferred, with the key it waits for, and applied when that object is recorded.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import stripe
import structlog
from fastapi import APIRouter, Request
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import SessionDep
from shared.errors import BadRequest, NotFound, problem_responses
from services.billing.checkout import cancel_checkout, complete_checkout, lock_order
from services.billing.deps import provider_of, runtime_of
from services.billing.models import StripeEvent
from services.billing.refunds import COUNTED_STATUSES, apply_refund
from services.billing.subscriptions import (
    cancel_subscription,
    lock_subscription,
    mark_payment_failed,
    renew_subscription,
    update_subscription,
)

log = structlog.get_logger()

router = APIRouter(tags=["webhooks"])


class Deferred(Exception):
    """The event needs an object not recorded yet. `key` names it (`subscription:sub_...`)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class Ignored(Exception):
    """The event has nothing to do with Wharf's state. The reason is logged and stored."""


# A handler applies one Stripe object and returns the keys of objects it recorded, so
# deferred events waiting for them can run.
EventHandler = Callable[[AsyncSession, dict[str, Any]], Awaitable[list[str]]]


@router.post(
    "/webhooks/stripe",
    operation_id="billing_receive_stripe_webhook",
    summary="Receive a Stripe webhook event (signed with the endpoint secret)",
    responses=problem_responses(400, 404),
)
async def receive_stripe_webhook(request: Request, session: SessionDep) -> dict[str, str]:
    settings = request.app.state.runtime.settings
    if settings.stripe_webhook_secret is None:
        raise NotFound("Stripe webhooks are not configured. Set STRIPE_WEBHOOK_SECRET to receive them")

    payload = await request.body()
    try:
        stripe.Webhook.construct_event(
            payload,
            request.headers.get("stripe-signature"),
            settings.stripe_webhook_secret.get_secret_value(),
            settings.stripe_webhook_tolerance,
        )
    except stripe.SignatureVerificationError as exc:
        log.warning("stripe.webhook.rejected", reason=str(exc))
        raise BadRequest(f"Invalid Stripe-Signature header: {exc}") from None
    except ValueError as exc:
        raise BadRequest(f"The webhook payload is not a JSON Stripe event: {exc}") from None

    event = json.loads(payload)
    status = await receive_event(session, event)
    return {"id": event["id"], "status": status}


async def receive_event(session: AsyncSession, event: dict[str, Any]) -> str:
    """Store and apply one event. Return its status, or "duplicate" for a redelivery."""
    now = runtime_of(session).clock.now()
    inserted = await session.execute(
        insert(StripeEvent)
        .values(id=event["id"], type=event["type"], payload=event, status="received", received_at=now)
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(StripeEvent.id)
    )
    if inserted.scalar_one_or_none() is None:
        log.info("stripe.event.duplicate", stripe_event_id=event["id"], stripe_event_type=event["type"])
        return "duplicate"

    record = await session.get(StripeEvent, event["id"])
    released = await _apply(session, record)
    await _release_deferred(session, released)
    return record.status


async def _apply(session: AsyncSession, record: StripeEvent) -> list[str]:
    now = runtime_of(session).clock.now()
    handler = HANDLERS.get(record.type)
    if handler is None:
        record.status = "ignored"
        record.processed_at = now
        return []

    try:
        # A savepoint, so a handler that defers or fails half-way leaves nothing behind.
        async with session.begin_nested():
            released = await handler(session, record.payload["data"]["object"])
    except Deferred as deferred:
        record.status = "deferred"
        record.waiting_for = deferred.key
        log.info("stripe.event.deferred", stripe_event_id=record.id, stripe_event_type=record.type, waiting_for=deferred.key)
        return []
    except Ignored as ignored:
        record.status = "ignored"
        record.processed_at = now
        record.waiting_for = None
        log.info("stripe.event.ignored", stripe_event_id=record.id, stripe_event_type=record.type, reason=str(ignored))
        return []

    record.status = "processed"
    record.processed_at = now
    record.waiting_for = None
    log.info("stripe.event.processed", stripe_event_id=record.id, stripe_event_type=record.type)
    return released


async def _release_deferred(session: AsyncSession, keys: list[str]) -> None:
    """Apply the deferred events waiting for `keys`, oldest first, and those they release."""
    pending = [key for key in keys if key]
    while pending:
        waiting = (
            await session.execute(
                select(StripeEvent)
                .where(StripeEvent.status == "deferred", StripeEvent.waiting_for.in_(pending))
                .order_by(StripeEvent.received_at, StripeEvent.id)
                .with_for_update()
            )
        ).scalars().all()
        waiting = sorted(waiting, key=lambda record: record.payload.get("created", 0))

        pending = []
        for record in waiting:
            pending.extend(await _apply(session, record))
        pending = [key for key in pending if key]


# Reading Stripe objects. Expandable fields arrive as an id or as the expanded object.


def _id(value: Any) -> str | None:
    if isinstance(value, dict):
        return value.get("id")
    return value


def _timestamp(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value else None


def _metadata_order_id(obj: dict[str, Any]) -> uuid.UUID | None:
    value = obj.get("client_reference_id") or (obj.get("metadata") or {}).get("wharf_order_id")
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


def subscription_period_end(subscription: dict[str, Any]) -> datetime | None:
    """Return the end of the current period, which Stripe keeps per subscription item."""
    items = (subscription.get("items") or {}).get("data") or []
    ends = [item["current_period_end"] for item in items if item.get("current_period_end")]
    if not ends and subscription.get("current_period_end"):
        ends = [subscription["current_period_end"]]
    return _timestamp(max(ends)) if ends else None


def _invoice_subscription(invoice: dict[str, Any]) -> str | None:
    details = ((invoice.get("parent") or {}).get("subscription_details")) or {}
    return _id(details.get("subscription")) or _id(invoice.get("subscription"))


def _invoice_payment_intent(invoice: dict[str, Any]) -> str | None:
    for payment in (invoice.get("payments") or {}).get("data") or []:
        intent = _id((payment.get("payment") or {}).get("payment_intent"))
        if intent:
            return intent
    return _id(invoice.get("payment_intent"))


def _invoice_period_end(invoice: dict[str, Any]) -> datetime | None:
    ends = [line["period"]["end"] for line in (invoice.get("lines") or {}).get("data") or [] if line.get("period")]
    return _timestamp(max(ends)) if ends else None


# Handlers, one per Stripe event type.


async def on_checkout_completed(session: AsyncSession, obj: dict[str, Any]) -> list[str]:
    if obj.get("payment_status") not in ("paid", "no_payment_required"):
        # Delayed payment methods complete the session first and pay later, so the money
        # counts when `checkout.session.async_payment_succeeded` arrives.
        raise Ignored(f"checkout session {obj.get('id')} is not paid yet")

    order_id = _metadata_order_id(obj)
    order = await lock_order(session, id=order_id) if order_id else None
    if order is None:
        raise Ignored(f"checkout session {obj.get('id')} names no known order")
    if (obj.get("currency") or order.currency).upper() != order.currency:
        log.error("checkout.currency_mismatch", order_id=str(order.id), stripe_currency=obj.get("currency"))

    provider = provider_of(session)
    subscription_id = _id(obj.get("subscription"))
    invoice_id = _id(obj.get("invoice"))
    payment_intent_id = _id(obj.get("payment_intent"))
    if payment_intent_id is None and invoice_id:
        payment_intent_id = await provider.invoice_payment_intent(invoice_id)
    current_period_end = None
    if subscription_id:
        current_period_end = subscription_period_end(await provider.retrieve_subscription(subscription_id))

    if invoice_id and order.invoice_id is None:
        order.invoice_id = invoice_id
    await complete_checkout(
        session,
        order,
        amount=obj.get("amount_total") or 0,
        tax_amount=(obj.get("total_details") or {}).get("amount_tax") or 0,
        payment_intent_id=payment_intent_id,
        subscription_id=subscription_id,
        current_period_end=current_period_end,
    )
    return [f"subscription:{subscription_id}" if subscription_id else "", f"payment_intent:{payment_intent_id}" if payment_intent_id else ""]


async def on_checkout_closed_unpaid(session: AsyncSession, obj: dict[str, Any]) -> list[str]:
    order_id = _metadata_order_id(obj)
    order = await lock_order(session, id=order_id) if order_id else None
    if order is None:
        raise Ignored(f"checkout session {obj.get('id')} names no known order")
    await cancel_checkout(session, order)
    return []


async def on_invoice_paid(session: AsyncSession, obj: dict[str, Any]) -> list[str]:
    subscription_id = _invoice_subscription(obj)
    if subscription_id is None:
        raise Ignored(f"invoice {obj.get('id')} belongs to no subscription")
    if obj.get("billing_reason") == "subscription_create":
        raise Ignored(f"invoice {obj.get('id')} is the first payment, recorded with its checkout")

    subscription = await lock_subscription(session, subscription_id)
    if subscription is None:
        raise Deferred(f"subscription:{subscription_id}")

    payment_intent_id = _invoice_payment_intent(obj)
    if payment_intent_id is None:
        payment_intent_id = await provider_of(session).invoice_payment_intent(obj["id"])
    taxes = sum(tax.get("amount", 0) for tax in obj.get("total_taxes") or [])
    await renew_subscription(
        session,
        subscription,
        invoice_id=obj["id"],
        amount=obj.get("amount_paid") or 0,
        tax_amount=taxes,
        currency=obj["currency"].upper(),
        payment_intent_id=payment_intent_id,
        current_period_end=_invoice_period_end(obj),
    )
    return [f"payment_intent:{payment_intent_id}" if payment_intent_id else ""]


async def on_invoice_payment_failed(session: AsyncSession, obj: dict[str, Any]) -> list[str]:
    subscription_id = _invoice_subscription(obj)
    if subscription_id is None:
        raise Ignored(f"invoice {obj.get('id')} belongs to no subscription")
    subscription = await lock_subscription(session, subscription_id)
    if subscription is None:
        raise Deferred(f"subscription:{subscription_id}")
    await mark_payment_failed(session, subscription)
    return []


async def on_subscription_updated(session: AsyncSession, obj: dict[str, Any]) -> list[str]:
    subscription = await lock_subscription(session, obj["id"])
    if subscription is None:
        raise Deferred(f"subscription:{obj['id']}")
    await update_subscription(
        session,
        subscription,
        status=obj.get("status") or subscription.status,
        cancel_at_period_end=bool(obj.get("cancel_at_period_end")),
        current_period_end=subscription_period_end(obj),
    )
    return []


async def on_subscription_deleted(session: AsyncSession, obj: dict[str, Any]) -> list[str]:
    subscription = await lock_subscription(session, obj["id"])
    if subscription is None:
        raise Deferred(f"subscription:{obj['id']}")
    await cancel_subscription(
        session, subscription, canceled_at=_timestamp(obj.get("ended_at") or obj.get("canceled_at"))
    )
    return []


async def on_charge_refunded(session: AsyncSession, obj: dict[str, Any]) -> list[str]:
    payment_intent_id = _id(obj.get("payment_intent"))
    if payment_intent_id is None:
        raise Ignored(f"charge {obj.get('id')} has no payment intent")
    order = await lock_order(session, payment_intent_id=payment_intent_id)
    if order is None:
        raise Deferred(f"payment_intent:{payment_intent_id}")

    # Charges no longer embed their refunds unless expanded, so they are listed.
    refunds = (obj.get("refunds") or {}).get("data")
    if refunds is None:
        refunds = await provider_of(session).list_refunds(obj["id"])
    for refund in sorted(refunds, key=lambda item: item.get("created", 0)):
        if refund.get("status") not in COUNTED_STATUSES:
            continue
        await apply_refund(
            session,
            order,
            stripe_refund_id=refund["id"],
            amount=refund["amount"],
            status=refund["status"],
            reason=refund.get("reason"),
            initiated_by="stripe",
        )
    return []


HANDLERS: dict[str, EventHandler] = {
    "checkout.session.completed": on_checkout_completed,
    "checkout.session.async_payment_succeeded": on_checkout_completed,
    "checkout.session.async_payment_failed": on_checkout_closed_unpaid,
    "checkout.session.expired": on_checkout_closed_unpaid,
    "invoice.paid": on_invoice_paid,
    "invoice.payment_failed": on_invoice_payment_failed,
    "customer.subscription.updated": on_subscription_updated,
    "customer.subscription.deleted": on_subscription_deleted,
    "charge.refunded": on_charge_refunded,
}
