"""Pulls through the real registry with skopeo, decided by the product's access policy."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from tests.licensing.catalog import published_product
from tests.licensing.stack import ACME, USERS, pull


async def test_public_product_anonymous_pull_works(stack):
    product = await published_product(stack, access_policy="everyone")

    result = await pull(stack, product.repository, "1.0", None)

    assert result.ok, result.output


async def test_logged_in_product_anonymous_pull_refused(stack):
    product = await published_product(stack, access_policy="logged_in")

    anonymous = await pull(stack, product.repository, "1.0", None)
    customer = await pull(stack, product.repository, "1.0", "bob")

    assert not anonymous.ok
    assert "unauthorized" in anonymous.output.lower() or "authentication required" in anonymous.output.lower()
    assert customer.ok, customer.output


async def test_purchasers_tier_needs_entitlement_event(stack):
    product = await published_product(stack, access_policy="purchasers", price=900)
    alice = USERS["alice"]

    before = await pull(stack, product.repository, "1.0", "alice")
    await stack.deliver(
        "billing.checkout.completed",
        {
            "order_id": str(uuid.uuid4()),
            "user_id": str(alice.user_id),
            "product_id": str(product.product_id),
            "tier_id": str(product.tier_id),
            "organisation_id": str(ACME),
            "amount": 900,
            "currency": "EUR",
            "mode": "subscription",
            "subscription_id": f"sub_{uuid.uuid4().hex[:12]}",
            "current_period_end": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
        },
    )
    after = await pull(stack, product.repository, "1.0", "alice")
    other_customer = await pull(stack, product.repository, "1.0", "bob")

    assert not before.ok
    assert after.ok, after.output
    assert not other_customer.ok


async def test_licence_acceptance_gates_pull(stack):
    product = await published_product(
        stack, access_policy="everyone", licence_required=True, licence_version="2024-01"
    )

    before = await pull(stack, product.repository, "1.0", "alice")
    accepted = await stack.service.client.post(
        f"/products/{product.product_id}/licence-acceptances",
        json={"licence_version": "2024-01"},
        headers=stack.bearer("alice"),
    )
    after = await pull(stack, product.repository, "1.0", "alice")
    anonymous = await pull(stack, product.repository, "1.0", None)

    assert not before.ok
    assert accepted.status_code == 201
    assert after.ok, after.output
    assert not anonymous.ok


async def test_changed_licence_needs_new_acceptance(stack):
    from tests.licensing.catalog import publication

    product = await published_product(
        stack, access_policy="logged_in", licence_required=True, licence_version="v1"
    )
    accepted = await stack.service.client.post(
        f"/products/{product.product_id}/licence-acceptances",
        json={"licence_version": "v1"},
        headers=stack.bearer("alice"),
    )
    await stack.deliver(
        "catalog.version.published",
        publication(
            product,
            access_policy="logged_in",
            licence_required=True,
            licence_version="v2",
            version="1.1",
            version_id=uuid.uuid4(),
        ),
    )

    result = await pull(stack, product.repository, "1.0", "alice")

    assert accepted.status_code == 201
    assert not result.ok


async def test_held_listing_keeps_pulling(stack):
    product = await published_product(stack, access_policy="logged_in")
    await stack.deliver(
        "moderation.listing.held",
        {"product_id": str(product.product_id), "organisation_id": str(ACME), "reason": "SLA missed"},
    )

    result = await pull(stack, product.repository, "1.0", "bob")

    assert result.ok, result.output


async def test_revoked_listing_only_paid_entitlements_pull(stack):
    product = await published_product(stack, access_policy="purchasers", price=500)
    alice = USERS["alice"]
    await stack.deliver(
        "billing.checkout.completed",
        {
            "order_id": str(uuid.uuid4()),
            "user_id": str(alice.user_id),
            "product_id": str(product.product_id),
            "tier_id": str(product.tier_id),
            "organisation_id": str(ACME),
            "amount": 500,
            "currency": "EUR",
            "mode": "subscription",
            "subscription_id": f"sub_{uuid.uuid4().hex[:12]}",
            "current_period_end": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
        },
    )
    await stack.deliver(
        "moderation.listing.revoked",
        {"product_id": str(product.product_id), "organisation_id": str(ACME), "reason": "hold expired"},
    )

    paid = await pull(stack, product.repository, "1.0", "alice")
    publisher = await pull(stack, product.repository, "1.0", "vera")
    staff = await pull(stack, product.repository, "1.0", "rita")

    assert paid.ok, paid.output
    assert not publisher.ok
    assert staff.ok, staff.output


async def test_revoked_public_listing_refuses_everyone(stack):
    product = await published_product(stack, access_policy="everyone")
    await stack.deliver(
        "moderation.listing.revoked",
        {"product_id": str(product.product_id), "organisation_id": str(ACME), "reason": "hold expired"},
    )

    anonymous = await pull(stack, product.repository, "1.0", None)
    customer = await pull(stack, product.repository, "1.0", "bob")

    assert not anonymous.ok
    assert not customer.ok
