"""The sandbox checkout, used when no Stripe key is configured, and its refusal in production."""

from __future__ import annotations

import pytest

from shared.settings import PlatformSettings
from services.billing.app import create_app
from services.billing.providers import SandboxProvider, select_provider
from services.billing.settings import BillingSettings
from tests.support.services import running_service, test_platform
from tests.support.tokens import TestUser

ADMIN = TestUser(username="admin", staff=("admin",))


async def _start(sandbox, billing_period="one_time", price=1500):
    publisher = sandbox.publisher()
    [tier_id] = await sandbox.publish_product(publisher, [{"price_amount": price, "billing_period": billing_period}])
    customer = TestUser(username="ivy")
    response = await sandbox.checkout(customer, tier_id)
    assert response.status_code == 201, response.text
    return publisher, customer, response.json()


def _page_path(checkout) -> str:
    return checkout["url"].removeprefix("http://testserver")


async def test_sandbox_checkout_page_shows_price(sandbox):
    _publisher, _customer, checkout = await _start(sandbox)

    page = await sandbox.client.get(_page_path(checkout))

    assert checkout["provider"] == "sandbox"
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "15.00 EUR" in page.text
    assert f'action="{checkout["checkout_session_id"]}/complete"' in page.text


async def test_sandbox_payment_completes_order(sandbox):
    _publisher, customer, checkout = await _start(sandbox)

    response = await sandbox.client.post(_page_path(checkout) + "/complete")

    assert response.status_code == 303
    assert checkout["order_id"] in response.headers["location"]
    [completed] = await sandbox.wait_for_received("billing.checkout.completed")
    assert completed.data["order_id"] == checkout["order_id"]
    assert completed.data["user_id"] == str(customer.user_id)
    assert completed.data["amount"] == 1500
    order = (await sandbox.client.get(f"/orders/{checkout['order_id']}", headers=sandbox.headers(customer))).json()
    assert order["status"] == "paid"


async def test_sandbox_completion_twice_one_effect(sandbox):
    _publisher, _customer, checkout = await _start(sandbox)

    first = await sandbox.client.post(_page_path(checkout) + "/complete", headers={"Accept": "application/json"})
    second = await sandbox.client.post(_page_path(checkout) + "/complete", headers={"Accept": "application/json"})

    assert first.json()["status"] == "paid"
    assert second.json()["status"] == "paid"
    assert len(await sandbox.outbox("billing.checkout.completed")) == 1


async def test_sandbox_cancel_leaves_order_unpaid(sandbox):
    _publisher, customer, checkout = await _start(sandbox)

    canceled = await sandbox.client.post(_page_path(checkout) + "/cancel")
    paid_after = await sandbox.client.post(_page_path(checkout) + "/complete")

    assert canceled.status_code == 303
    assert paid_after.status_code == 409
    order = (await sandbox.client.get(f"/orders/{checkout['order_id']}", headers=sandbox.headers(customer))).json()
    assert order["status"] == "canceled"
    assert await sandbox.outbox("billing.checkout.completed") == []


async def test_sandbox_subscription_renew_and_cancel(sandbox):
    _publisher, customer, checkout = await _start(sandbox, billing_period="monthly", price=900)
    await sandbox.client.post(_page_path(checkout) + "/complete")
    [started] = await sandbox.wait_for_received("billing.subscription.started")
    subscription_id = started.data["subscription_id"]

    renewed = await sandbox.client.post(f"/sandbox/subscriptions/{subscription_id}/renew", headers=sandbox.headers(ADMIN))
    portal = await sandbox.client.post("/portal-sessions", json={}, headers=sandbox.headers(customer))
    portal_path = portal.json()["url"].removeprefix("http://testserver")
    page = await sandbox.client.get(portal_path)
    canceled = await sandbox.client.post(f"{portal_path}/subscriptions/{subscription_id}/cancel")

    assert started.data["current_period_end"].startswith("2025-04-10")
    assert renewed.status_code == 200
    assert renewed.json()["current_period_end"].startswith("2025-05-10")
    assert "Cancel subscription" in page.text
    assert canceled.status_code == 303
    [event] = await sandbox.wait_for_received("billing.subscription.canceled")
    assert event.data["subscription_id"] == subscription_id


async def test_sandbox_portal_hides_other_customers_subscription(sandbox):
    _publisher, _customer, checkout = await _start(sandbox, billing_period="monthly", price=900)
    await sandbox.client.post(_page_path(checkout) + "/complete")
    [started] = await sandbox.wait_for_received("billing.subscription.started")
    stranger = TestUser(username="mallory")
    other = await _start(sandbox, billing_period="one_time")
    await sandbox.client.post(_page_path(other[2]) + "/complete")
    portal = await sandbox.client.post("/portal-sessions", json={}, headers=sandbox.headers(other[1]))
    portal_path = portal.json()["url"].removeprefix("http://testserver")

    response = await sandbox.client.post(f"{portal_path}/subscriptions/{started.data['subscription_id']}/cancel")
    no_purchase = await sandbox.client.post("/portal-sessions", json={}, headers=sandbox.headers(stranger))

    assert response.status_code == 404
    assert no_purchase.status_code == 404


async def test_stripe_webhook_endpoint_off_in_sandbox(sandbox):
    response = await sandbox.client.post("/webhooks/stripe", content=b"{}")

    assert response.status_code == 404


async def test_sandbox_pages_off_with_stripe(billing):
    response = await billing.client.get("/sandbox/checkout/cs_anything")

    assert response.status_code == 404


def test_sandbox_rejected_in_production():
    platform = PlatformSettings(environment="production", internal_token="a-real-secret")

    with pytest.raises(RuntimeError, match="not allowed in production"):
        select_provider(BillingSettings(), platform)


def test_sandbox_chosen_without_api_key():
    provider = select_provider(BillingSettings(), PlatformSettings())

    assert isinstance(provider, SandboxProvider)


async def test_service_does_not_start_in_production_without_stripe():
    platform = test_platform(environment="production", internal_token="a-real-secret")

    with pytest.raises(RuntimeError, match="STRIPE_API_KEY"):
        async with running_service(create_app, database="billing", platform=platform, settings=BillingSettings()):
            pass


def test_stripe_key_without_webhook_secret_rejected():
    settings = BillingSettings(stripe_api_key="sk_test_x")

    with pytest.raises(RuntimeError, match="STRIPE_WEBHOOK_SECRET"):
        select_provider(settings, PlatformSettings())
