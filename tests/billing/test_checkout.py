"""Checkout against the Stripe stand-in: sessions, customers, prices and idempotency keys."""

from __future__ import annotations

import uuid

from tests.billing.conftest import checkout_completed_event
from tests.support.tokens import TestUser


async def test_checkout_creates_stripe_session(billing):
    publisher = billing.publisher()
    [tier_id] = await billing.publish_product(publisher, [{"price_amount": 1200, "billing_period": "one_time"}])
    customer = TestUser(username="carol")

    response = await billing.checkout(customer, tier_id)

    assert response.status_code == 201
    body = response.json()
    assert body["provider"] == "stripe"
    assert body["mode"] == "payment"
    assert body["amount"] == 1200
    assert body["currency"] == "EUR"
    assert body["url"].startswith("https://checkout.stripe.test/")
    [created] = billing.stand_in.creates("/v1/checkout/sessions")
    assert created.params["line_items"][0]["quantity"] == "1"
    assert created.params["client_reference_id"] == body["order_id"]
    assert created.params["payment_intent_data"]["metadata"]["wharf_order_id"] == body["order_id"]
    assert created.params["customer"].startswith("cus_")


async def test_stripe_creates_carry_idempotency_keys(billing):
    publisher = billing.publisher()
    [tier_id] = await billing.publish_product(publisher, [{"price_amount": 900, "billing_period": "monthly"}])
    customer = TestUser(username="dave")

    await billing.checkout(customer, tier_id)
    await billing.checkout(customer, tier_id)

    creates = [request for request in billing.stand_in.requests if request.method == "POST"]
    assert {request.path for request in creates} == {
        "/v1/customers",
        "/v1/products",
        "/v1/prices",
        "/v1/checkout/sessions",
    }
    assert all(request.idempotency_key for request in creates)
    assert len(billing.stand_in.creates("/v1/customers")) == 1
    assert len(billing.stand_in.creates("/v1/prices")) == 1
    assert len(billing.stand_in.creates("/v1/checkout/sessions")) == 2


async def test_checkout_reuses_stripe_customer(billing):
    publisher = billing.publisher()
    first, second = await billing.publish_product(
        publisher,
        [
            {"name": "Basic", "price_amount": 500, "billing_period": "one_time"},
            {"name": "Pro", "price_amount": 1500, "billing_period": "yearly"},
        ],
    )
    customer = TestUser(username="erin")

    await billing.checkout(customer, first)
    await billing.checkout(customer, second)

    sessions = billing.stand_in.creates("/v1/checkout/sessions")
    assert sessions[0].params["customer"] == sessions[1].params["customer"]
    assert sessions[1].params["mode"] == "subscription"
    [yearly] = [price for price in billing.stand_in.creates("/v1/prices") if "recurring" in price.params]
    assert yearly.params["recurring"]["interval"] == "year"


async def test_checkout_unknown_tier_not_found(billing):
    missing = uuid.uuid4()

    response = await billing.checkout(TestUser(), missing)

    assert response.status_code == 404
    assert str(missing) in response.json()["detail"]


async def test_checkout_needs_sign_in(billing):
    response = await billing.client.post("/checkouts", json={"tier_id": str(uuid.uuid4())})

    assert response.status_code == 401


async def test_checkout_foreign_return_url_rejected(billing):
    publisher = billing.publisher()
    [tier_id] = await billing.publish_product(publisher, [{"price_amount": 1200, "billing_period": "one_time"}])

    response = await billing.checkout(TestUser(), tier_id, success_url="https://evil.example/phish")

    assert response.status_code == 422
    assert "https://evil.example/phish" in response.json()["detail"]


async def test_checkout_idempotency_key_replays(billing):
    publisher = billing.publisher()
    [tier_id] = await billing.publish_product(publisher, [{"price_amount": 1200, "billing_period": "one_time"}])
    customer = TestUser()
    headers = {**billing.headers(customer), "Idempotency-Key": "buy-once"}

    first = await billing.client.post("/checkouts", json={"tier_id": str(tier_id)}, headers=headers)
    second = await billing.client.post("/checkouts", json={"tier_id": str(tier_id)}, headers=headers)

    assert second.json() == first.json()
    assert len(billing.stand_in.creates("/v1/checkout/sessions")) == 1


async def test_completed_checkout_posts_sale(billing):
    publisher = billing.publisher()
    [tier_id] = await billing.publish_product(publisher, [{"price_amount": 1000, "billing_period": "one_time"}])
    customer = TestUser(username="frank")
    checkout = (await billing.checkout(customer, tier_id)).json()

    response = await billing.send_webhook(
        checkout_completed_event(checkout, amount_total=1190, amount_tax=190, payment_intent="pi_1")
    )

    assert response.status_code == 200
    assert response.json()["status"] == "processed"
    [completed] = (await billing.wait_for_received("billing.checkout.completed"))
    assert completed.data["order_id"] == checkout["order_id"]
    assert completed.data["user_id"] == str(customer.user_id)
    assert completed.data["tier_id"] == str(tier_id)
    assert completed.data["amount"] == 1190
    assert completed.data["tax_amount"] == 190
    order = (await billing.client.get(f"/orders/{checkout['order_id']}", headers=billing.headers(customer))).json()
    assert order["status"] == "paid"
    assert order["tax_amount"] == 190
    balances = await billing.client.get(
        f"/organisations/{publisher.organisation_id}/balances", headers=billing.headers(publisher.owner)
    )
    by_account = {row["account"]: row["balance"] for row in balances.json()}
    # 1190 paid, 190 tax, fee 20 % of the 1000 net of tax.
    assert by_account == {"cash": 1190, "tax_held": 190, "platform_fee": 200, "publisher_payable": 800}
