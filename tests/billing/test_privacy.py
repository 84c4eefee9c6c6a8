"""Privacy: customers see only their own orders, publishers only their own money."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.billing.conftest import checkout_completed_event
from tests.support.tokens import TestUser

ADMIN = TestUser(username="admin", staff=("admin",))


async def _paid_order(billing, publisher, customer):
    [tier_id] = await billing.publish_product(publisher, [{"price_amount": 1000, "billing_period": "monthly"}])
    checkout = (await billing.checkout(customer, tier_id)).json()
    billing.stand_in.add_subscription("sub_private", period_end=int(billing.clock.now().timestamp()) + 2_592_000)
    await billing.send_webhook(
        checkout_completed_event(checkout, amount_total=1000, payment_intent="pi_private", subscription="sub_private")
    )
    return checkout["order_id"]


async def test_customer_sees_only_own_orders(billing):
    publisher = billing.publisher()
    alice, bob = TestUser(username="alice"), TestUser(username="bob")
    order_id = await _paid_order(billing, publisher, alice)

    own = await billing.client.get(f"/orders/{order_id}", headers=billing.headers(alice))
    other = await billing.client.get(f"/orders/{order_id}", headers=billing.headers(bob))
    other_refunds = await billing.client.get(f"/orders/{order_id}/refunds", headers=billing.headers(bob))
    other_list = await billing.client.get("/orders", headers=billing.headers(bob))
    other_subscriptions = await billing.client.get("/subscriptions", headers=billing.headers(bob))

    assert own.status_code == 200
    assert other.status_code == 404
    assert order_id in other.json()["detail"]
    assert other_refunds.status_code == 404
    assert other_list.json()["items"] == []
    assert other_subscriptions.json()["items"] == []


async def test_publisher_sees_only_own_money(billing):
    publisher = billing.publisher("acme")
    rival = billing.publisher("rival")
    await _paid_order(billing, publisher, TestUser())
    billing.clock.set(datetime(2025, 4, 2, tzinfo=UTC))
    [statement] = (
        await billing.client.post("/statements/issue", json={"month": "2025-03"}, headers=billing.headers(ADMIN))
    ).json()
    base = f"/organisations/{publisher.organisation_id}"
    paths = [
        f"{base}/balances",
        f"{base}/ledger",
        f"{base}/statements",
        f"{base}/statements/{statement['id']}",
    ]

    for path in paths:
        own = await billing.client.get(path, headers=billing.headers(publisher.owner))
        foreign = await billing.client.get(path, headers=billing.headers(rival.owner))
        customer = await billing.client.get(path, headers=billing.headers(TestUser()))
        assert own.status_code == 200, path
        assert foreign.status_code == 404, path
        assert customer.status_code == 404, path


async def test_foreign_statement_id_not_found(billing):
    publisher = billing.publisher("acme")
    rival = billing.publisher("rival")
    await _paid_order(billing, publisher, TestUser())
    billing.clock.set(datetime(2025, 4, 2, tzinfo=UTC))
    [statement] = (
        await billing.client.post("/statements/issue", json={"month": "2025-03"}, headers=billing.headers(ADMIN))
    ).json()

    response = await billing.client.get(
        f"/organisations/{rival.organisation_id}/statements/{statement['id']}", headers=billing.headers(rival.owner)
    )

    assert response.status_code == 404


async def test_payout_account_private_and_owner_only(billing):
    publisher = billing.publisher("acme")
    rival = billing.publisher("rival")
    path = f"/organisations/{publisher.organisation_id}/payout-account"
    editor = TestUser(orgs=((publisher.organisation_id, "acme", "editor"),))

    foreign_write = await billing.client.put(path, json={"stripe_account_id": "acct_1X"}, headers=billing.headers(rival.owner))
    editor_write = await billing.client.put(path, json={"stripe_account_id": "acct_1X"}, headers=billing.headers(editor))
    owner_write = await billing.client.put(path, json={"stripe_account_id": "acct_1X"}, headers=billing.headers(publisher.owner))
    foreign_read = await billing.client.get(path, headers=billing.headers(rival.owner))

    assert foreign_write.status_code == 404
    assert editor_write.status_code == 403
    assert owner_write.status_code == 200
    assert foreign_read.status_code == 404


async def test_pricing_foreign_organisation_not_found(billing):
    rival = billing.publisher("rival")
    publisher = billing.publisher("acme")

    response = await billing.client.get(
        "/pricing/suggestion",
        params={
            "category": "databases",
            "currency": "EUR",
            "billing_period": "monthly",
            "organisation_id": str(publisher.organisation_id),
        },
        headers=billing.headers(rival.owner),
    )

    assert response.status_code == 404
