"""Step 6: a customer accepts the licence, pulls, buys the paid tier and pulls again."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from wharf.demo import images
from wharf.demo.accounts import new_account, personal_token, sign_up_verified
from wharf.demo.client import StepFailed, eventually
from wharf.demo.journey import Journey
from wharf.demo.steps.common import LICENCE, registry_error


async def customer_accepts_buys_and_pulls(journey: Journey) -> None:
    state = journey.state
    state.customer = await sign_up_verified(journey, new_account(journey, "customer"), "Demo Customer")
    customer = journey.client(state.customer)
    token = await personal_token(customer, state.customer, "pull")
    credentials = (state.customer.username, token)

    await _expect_pull_rejected(journey, None, "anonymous pull")
    await _expect_pull_rejected(journey, credentials, "pull before accepting the licence")

    await customer.post(
        f"/api/licensing/products/{state.product_id}/licence-acceptances",
        json={"licence_version": LICENCE["version"], "tier_id": state.free_tier_id},
        what="accept the licence",
        expect=(200, 201),
    )
    state.free_pull_at = datetime.now(UTC)
    digest = await asyncio.to_thread(images.pull_image, state.store_reference, credentials=credentials)
    journey.say(f"licence {LICENCE['version']} accepted; free pull of {state.store_reference}: {digest[:19]}...")

    await customer.put(
        f"/api/notifications/subscriptions/security/{state.product_id}", json={}, what="subscribe to security notices"
    )
    journey.say("customer subscribed to the product's security notices")

    checkout = await customer.post(
        "/api/billing/checkouts", json={"tier_id": state.paid_tier_id}, what="start the checkout", expect=(200, 201)
    )
    session_id = checkout["checkout_session_id"]
    order = await customer.post(
        f"/api/billing/sandbox/checkout/{session_id}/complete",
        headers={"Accept": "application/json"},
        what="pay in the sandbox checkout",
    )
    state.order = order
    journey.say(
        f"sandbox checkout paid: order {order['id']}, {order['amount']} {order['currency']} "
        f"minor units including tax {order['tax_amount']}"
    )

    async def entitled() -> dict | None:
        page = await customer.get("/api/licensing/entitlements", what="list entitlements")
        return next(
            (e for e in page["items"] if e["tier_id"] == state.paid_tier_id and e["status"] == "active"), None
        )

    entitlement = await eventually(entitled, what="licensing grants the paid tier", timeout=60)
    journey.say(f"entitlement to Professional granted until {entitlement['valid_until']}")

    state.paid_pull_at = datetime.now(UTC)
    await asyncio.to_thread(images.pull_image, state.store_reference, credentials=credentials)
    journey.say("paid pull succeeded")
    state.pull_month = journey.store.now()


async def _expect_pull_rejected(journey: Journey, credentials, what: str) -> None:
    try:
        await asyncio.to_thread(images.pull_image, journey.state.store_reference, credentials=credentials)
    except images.SkopeoError as exc:
        journey.say(f"{what} rejected: {registry_error(exc.stderr)}")
        return
    raise StepFailed(f"{what} of {journey.state.store_reference} succeeded")
