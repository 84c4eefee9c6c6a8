"""Stripe webhooks: signature checks, redelivery, order of arrival, subscriptions."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from sqlalchemy import func, select

from services.billing.models import LedgerEntry, StripeEvent
from tests.billing.conftest import (
    checkout_completed_event,
    invoice_paid_event,
    subscription_event,
)
from tests.billing.stripe_stand_in import encode_event, sign, stripe_event
from tests.support.tokens import TestUser

DAY = 86_400


async def _count(billing, model, *where) -> int:
    async with billing.service.runtime.sessionmaker() as session:
        return (await session.execute(select(func.count()).select_from(model).where(*where))).scalar()


async def _paid_checkout(billing, *, billing_period="one_time", price=1000):
    publisher = billing.publisher()
    [tier_id] = await billing.publish_product(publisher, [{"price_amount": price, "billing_period": billing_period}])
    customer = TestUser(username="grace")
    checkout = (await billing.checkout(customer, tier_id)).json()
    return publisher, customer, tier_id, checkout


async def test_webhook_wrong_secret_rejected(billing):
    _publisher, _customer, _tier, checkout = await _paid_checkout(billing)
    event = checkout_completed_event(checkout, amount_total=1000, payment_intent="pi_bad")

    response = await billing.send_webhook(event, secret="whsec_not_the_endpoint_secret")

    assert response.status_code == 400
    assert "Stripe-Signature" in response.json()["detail"]
    assert await _count(billing, StripeEvent) == 0
    assert await billing.outbox("billing.checkout.completed") == []


async def test_webhook_tampered_payload_rejected(billing):
    _publisher, _customer, _tier, checkout = await _paid_checkout(billing)
    event = checkout_completed_event(checkout, amount_total=1000, payment_intent="pi_1")
    signature = sign(encode_event(event), billing.webhook_secret)
    event["data"]["object"]["amount_total"] = 1

    response = await billing.send_webhook(event, signature=signature)

    assert response.status_code == 400
    assert await _count(billing, StripeEvent) == 0


async def test_webhook_old_timestamp_rejected(billing):
    event = stripe_event("charge.refunded", {"id": "ch_1", "payment_intent": "pi_1"})
    payload = encode_event(event)
    signature = sign(payload, billing.webhook_secret, timestamp=int(time.time()) - 3600)

    response = await billing.send_webhook(event, signature=signature)

    assert response.status_code == 400


async def test_webhook_missing_signature_rejected(billing):
    response = await billing.client.post("/webhooks/stripe", content=b"{}")

    assert response.status_code == 400


async def test_replayed_event_has_one_effect(billing):
    publisher, _customer, _tier, checkout = await _paid_checkout(billing)
    event = checkout_completed_event(checkout, amount_total=1000, payment_intent="pi_replay")

    first = await billing.send_webhook(event)
    second = await billing.send_webhook(event)

    assert first.json()["status"] == "processed"
    assert second.status_code == 200
    assert second.json()["status"] == "duplicate"
    assert len(await billing.outbox("billing.checkout.completed")) == 1
    sales = await _count(billing, LedgerEntry, LedgerEntry.kind == "sale", LedgerEntry.account == "cash")
    assert sales == 1


async def test_same_session_in_new_event_has_one_effect(billing):
    """Stripe may send the same completion under a second event id (e.g. async payment)."""
    _publisher, _customer, _tier, checkout = await _paid_checkout(billing)

    await billing.send_webhook(checkout_completed_event(checkout, amount_total=1000, payment_intent="pi_twice"))
    await billing.send_webhook(checkout_completed_event(checkout, amount_total=1000, payment_intent="pi_twice"))

    assert len(await billing.outbox("billing.checkout.completed")) == 1


async def test_unknown_event_type_acknowledged(billing):
    response = await billing.send_webhook(stripe_event("customer.created", {"id": "cus_1"}))

    assert response.status_code == 200
    assert response.json()["status"] == "ignored"


async def test_subscription_renewal_and_cancel_reach_licensing(billing):
    _publisher, customer, tier_id, checkout = await _paid_checkout(billing, billing_period="monthly", price=900)
    first_end = int(billing.clock.now().timestamp()) + 30 * DAY
    billing.stand_in.add_subscription("sub_1", period_end=first_end)

    await billing.send_webhook(
        checkout_completed_event(checkout, amount_total=900, subscription="sub_1", invoice="in_first")
    )
    await billing.send_webhook(
        invoice_paid_event("sub_1", amount_paid=900, period_end=first_end, payment_intent="pi_first", billing_reason="subscription_create")
    )
    second_end = first_end + 31 * DAY
    await billing.send_webhook(
        invoice_paid_event("sub_1", amount_paid=1050, tax=150, period_end=second_end, payment_intent="pi_second")
    )
    await billing.send_webhook(subscription_event("customer.subscription.deleted", "sub_1", status="canceled", period_end=second_end))

    [started] = await billing.wait_for_received("billing.subscription.started")
    [renewed] = await billing.wait_for_received("billing.subscription.renewed")
    [canceled] = await billing.wait_for_received("billing.subscription.canceled")
    assert started.data["subscription_id"] == "sub_1"
    assert started.data["user_id"] == str(customer.user_id)
    assert started.data["tier_id"] == str(tier_id)
    assert started.data["current_period_end"].startswith(_iso_date(first_end))
    assert renewed.data["current_period_end"].startswith(_iso_date(second_end))
    assert renewed.data["amount"] == 1050
    assert renewed.data["tax_amount"] == 150
    assert renewed.data["order_id"] is not None
    assert renewed.data["order_id"] != started.data["order_id"]
    assert canceled.data["status"] == "canceled"
    assert canceled.data["user_id"] == str(customer.user_id)
    subscriptions = (await billing.client.get("/subscriptions", headers=billing.headers(customer))).json()
    assert subscriptions["items"][0]["status"] == "canceled"
    # The first invoice is counted with the checkout, the renewal on its own: two sales.
    assert await _count(billing, LedgerEntry, LedgerEntry.kind == "sale", LedgerEntry.account == "cash") == 2


async def test_renewal_before_checkout_applied_later(billing):
    _publisher, _customer, _tier, checkout = await _paid_checkout(billing, billing_period="monthly", price=900)
    first_end = int(billing.clock.now().timestamp()) + 30 * DAY
    billing.stand_in.add_subscription("sub_early", period_end=first_end)

    early = await billing.send_webhook(
        invoice_paid_event("sub_early", amount_paid=900, period_end=first_end + 30 * DAY, payment_intent="pi_early")
    )
    assert early.json()["status"] == "deferred"
    assert await billing.outbox("billing.subscription.renewed") == []

    await billing.send_webhook(checkout_completed_event(checkout, amount_total=900, subscription="sub_early"))

    assert len(await billing.outbox("billing.subscription.started")) == 1
    assert len(await billing.outbox("billing.subscription.renewed")) == 1
    assert await _count(billing, StripeEvent, StripeEvent.status == "deferred") == 0


async def test_cancel_before_checkout_applied_later(billing):
    _publisher, _customer, _tier, checkout = await _paid_checkout(billing, billing_period="monthly", price=900)
    end = int(billing.clock.now().timestamp()) + 30 * DAY
    billing.stand_in.add_subscription("sub_gone", period_end=end)

    await billing.send_webhook(subscription_event("customer.subscription.deleted", "sub_gone", status="canceled", period_end=end))
    await billing.send_webhook(checkout_completed_event(checkout, amount_total=900, subscription="sub_gone"))

    canceled = await billing.outbox("billing.subscription.canceled")
    assert len(canceled) == 1
    assert canceled[0]["subscription_id"] == "sub_gone"


async def test_late_update_does_not_revive_canceled(billing):
    _publisher, customer, _tier, checkout = await _paid_checkout(billing, billing_period="monthly", price=900)
    end = int(billing.clock.now().timestamp()) + 30 * DAY
    billing.stand_in.add_subscription("sub_late", period_end=end)
    await billing.send_webhook(checkout_completed_event(checkout, amount_total=900, subscription="sub_late"))

    await billing.send_webhook(subscription_event("customer.subscription.deleted", "sub_late", status="canceled", period_end=end))
    await billing.send_webhook(subscription_event("customer.subscription.updated", "sub_late", status="active", period_end=end))

    subscriptions = (await billing.client.get("/subscriptions", headers=billing.headers(customer))).json()
    assert subscriptions["items"][0]["status"] == "canceled"


async def test_failed_renewal_marks_past_due(billing):
    _publisher, customer, _tier, checkout = await _paid_checkout(billing, billing_period="monthly", price=900)
    end = int(billing.clock.now().timestamp()) + 30 * DAY
    billing.stand_in.add_subscription("sub_card", period_end=end)
    await billing.send_webhook(checkout_completed_event(checkout, amount_total=900, subscription="sub_card"))
    failed = invoice_paid_event("sub_card", amount_paid=0, period_end=end + 30 * DAY, payment_intent="pi_fail")
    failed["type"] = "invoice.payment_failed"

    await billing.send_webhook(failed)

    [event] = await billing.wait_for_received("billing.subscription.payment_failed")
    assert event.data["status"] == "past_due"


def _iso_date(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%S")
