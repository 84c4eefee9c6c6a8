"""Entitlements from billing's events, in any arrival order, and the customer's list."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from tests.licensing.catalog import published_product
from tests.licensing.stack import ACME, USERS


def _checkout(product, user, **overrides) -> dict:
    data = {
        "order_id": str(uuid.uuid4()),
        "user_id": str(user.user_id),
        "product_id": str(product.product_id),
        "tier_id": str(product.tier_id),
        "organisation_id": str(ACME),
        "amount": 700,
        "currency": "EUR",
        "mode": "payment",
    }
    data.update(overrides)
    return data


def _subscription(product, user, subscription_id: str, period_end: datetime) -> dict:
    return {
        "subscription_id": subscription_id,
        "user_id": str(user.user_id),
        "product_id": str(product.product_id),
        "tier_id": str(product.tier_id),
        "organisation_id": str(ACME),
        "current_period_end": period_end.isoformat(),
    }


async def _entitlements(stack, username: str, product) -> list[dict]:
    response = await stack.service.client.get("/entitlements?limit=200", headers=stack.bearer(username))
    assert response.status_code == 200
    return [e for e in response.json()["items"] if e["product_id"] == str(product.product_id)]


async def test_checkout_grants_and_emits(stack):
    product = await published_product(stack, access_policy="purchasers", price=700)

    await stack.deliver("billing.checkout.completed", _checkout(product, USERS["alice"]))
    listed = await _entitlements(stack, "alice", product)
    granted = [e for e in await stack.emitted("licensing.entitlement.granted") if e["product_id"] == str(product.product_id)]

    assert len(listed) == 1
    assert listed[0]["status"] == "active"
    assert listed[0]["valid_until"] is None
    assert len(granted) == 1


async def test_entitlements_list_only_own(stack):
    product = await published_product(stack, access_policy="purchasers", price=700)
    await stack.deliver("billing.checkout.completed", _checkout(product, USERS["alice"]))

    others = await _entitlements(stack, "bob", product)

    assert others == []


async def test_full_refund_revokes(stack):
    product = await published_product(stack, access_policy="purchasers", price=700)
    checkout = _checkout(product, USERS["alice"])
    await stack.deliver("billing.checkout.completed", checkout)

    await stack.deliver(
        "billing.payment.refunded",
        {**{k: checkout[k] for k in ("order_id", "user_id", "product_id", "tier_id", "organisation_id")},
         "refund_id": "re_1", "amount": 700, "currency": "EUR", "full": True},
    )
    listed = await _entitlements(stack, "alice", product)

    assert listed[0]["status"] == "revoked"


async def test_refund_before_checkout_never_grants(stack):
    product = await published_product(stack, access_policy="purchasers", price=700)
    checkout = _checkout(product, USERS["alice"])

    await stack.deliver(
        "billing.payment.refunded",
        {**{k: checkout[k] for k in ("order_id", "user_id", "product_id", "tier_id", "organisation_id")},
         "refund_id": "re_2", "amount": 700, "currency": "EUR", "full": True},
    )
    await stack.deliver("billing.checkout.completed", checkout)
    listed = await _entitlements(stack, "alice", product)
    granted = [e for e in await stack.emitted("licensing.entitlement.granted") if e["product_id"] == str(product.product_id)]

    assert listed == []
    assert granted == []


async def test_cancellation_keeps_until_period_end(stack):
    product = await published_product(stack, access_policy="purchasers", price=700)
    period_end = datetime.now(UTC) + timedelta(days=12)
    subscription = _subscription(product, USERS["alice"], f"sub_{uuid.uuid4().hex[:10]}", period_end)

    await stack.deliver("billing.subscription.started", subscription)
    await stack.deliver("billing.subscription.canceled", subscription)
    listed = await _entitlements(stack, "alice", product)

    assert listed[0]["status"] == "canceled"
    assert datetime.fromisoformat(listed[0]["valid_until"]) == period_end


async def test_cancellation_before_start_honoured(stack):
    product = await published_product(stack, access_policy="purchasers", price=700)
    ended = datetime.now(UTC) - timedelta(days=1)
    subscription = _subscription(product, USERS["alice"], f"sub_{uuid.uuid4().hex[:10]}", ended)

    await stack.deliver("billing.subscription.canceled", subscription)
    await stack.deliver("billing.subscription.started", subscription)
    listed = await _entitlements(stack, "alice", product)

    assert listed[0]["status"] == "canceled"
    assert datetime.fromisoformat(listed[0]["valid_until"]) == ended


async def test_older_renewal_never_shortens(stack):
    product = await published_product(stack, access_policy="purchasers", price=700)
    subscription_id = f"sub_{uuid.uuid4().hex[:10]}"
    later = datetime.now(UTC) + timedelta(days=60)
    earlier = datetime.now(UTC) + timedelta(days=30)

    await stack.deliver("billing.subscription.renewed", _subscription(product, USERS["alice"], subscription_id, later))
    await stack.deliver("billing.subscription.renewed", _subscription(product, USERS["alice"], subscription_id, earlier))
    listed = await _entitlements(stack, "alice", product)

    assert datetime.fromisoformat(listed[0]["valid_until"]) == later


async def test_revoked_listing_grants_nothing_new(stack):
    product = await published_product(stack, access_policy="purchasers", price=700)
    await stack.deliver(
        "moderation.listing.revoked",
        {"product_id": str(product.product_id), "organisation_id": str(ACME), "reason": "hold expired"},
    )

    await stack.deliver("billing.checkout.completed", _checkout(product, USERS["alice"]))
    listed = await _entitlements(stack, "alice", product)

    assert listed == []


async def test_entitlements_need_sign_in(stack):
    response = await stack.service.client.get("/entitlements")

    assert response.status_code == 401
