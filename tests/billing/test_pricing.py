"""Pricing help and the Stripe prices kept in step with catalog's tiers."""

from __future__ import annotations

from tests.billing.conftest import checkout_completed_event
from tests.support.tokens import TestUser


async def _suggest(billing, user, **params):
    query = {"category": "databases", "currency": "EUR", "billing_period": "monthly", **params}
    response = await billing.client.get("/pricing/suggestion", params=query, headers=billing.headers(user))
    assert response.status_code == 200, response.text
    return response.json()


async def test_pricing_hidden_below_five_comparables(billing):
    for price in (1000, 2000, 3000, 4000):
        await billing.publish_product(billing.publisher(), [{"price_amount": price, "billing_period": "monthly"}])

    suggestion = await _suggest(billing, TestUser())

    assert suggestion["available"] is False
    assert suggestion["median"] is None
    assert suggestion["lower_quartile"] is None
    assert suggestion["upper_quartile"] is None


async def test_pricing_quartiles_from_five_comparables(billing):
    for price in (1000, 2000, 3000, 4000, 5000):
        await billing.publish_product(billing.publisher(), [{"price_amount": price, "billing_period": "monthly"}])
    await billing.publish_product(
        billing.publisher(), [{"price_amount": 99_000, "billing_period": "monthly"}], category="security"
    )
    await billing.publish_product(billing.publisher(), [{"price_amount": 99_000, "billing_period": "yearly"}])

    suggestion = await _suggest(billing, TestUser())

    assert suggestion["available"] is True
    assert suggestion["lower_quartile"] == 2000
    assert suggestion["median"] == 3000
    assert suggestion["upper_quartile"] == 4000


async def test_pricing_leaves_out_asking_publisher(billing):
    own = billing.publisher("own")
    for price in (1000, 2000, 3000, 4000):
        await billing.publish_product(billing.publisher(), [{"price_amount": price, "billing_period": "monthly"}])
    await billing.publish_product(own, [{"price_amount": 5000, "billing_period": "monthly"}])

    suggestion = await _suggest(billing, own.owner, organisation_id=str(own.organisation_id))

    assert suggestion["available"] is False


async def test_price_change_keeps_subscribers(billing):
    publisher = billing.publisher()
    [tier_id] = await billing.publish_product(publisher, [{"price_amount": 900, "billing_period": "monthly"}])
    subscriber = TestUser(username="early")
    checkout = (await billing.checkout(subscriber, tier_id)).json()
    billing.stand_in.add_subscription("sub_old_price", period_end=int(billing.clock.now().timestamp()) + 2_592_000)
    await billing.send_webhook(checkout_completed_event(checkout, amount_total=900, subscription="sub_old_price"))

    await billing.publish_product(
        publisher, [{"tier_id": tier_id, "price_amount": 1200, "billing_period": "monthly"}]
    )
    later = await billing.checkout(TestUser(username="late"), tier_id)

    assert later.json()["amount"] == 1200
    prices = billing.stand_in.creates("/v1/prices")
    assert [price.params["unit_amount"] for price in prices] == ["900", "1200"]
    sessions = billing.stand_in.creates("/v1/checkout/sessions")
    assert sessions[0].params["line_items"][0]["price"] != sessions[1].params["line_items"][0]["price"]
    # No subscription update call exists: Stripe keeps the subscriber on the price it was sold.
    assert not [request for request in billing.stand_in.requests if request.path.startswith("/v1/subscriptions/") and request.method == "POST"]
    subscriptions = (await billing.client.get("/subscriptions", headers=billing.headers(subscriber))).json()
    assert subscriptions["items"][0]["status"] == "active"


async def test_unlisted_tier_cannot_be_bought(billing):
    publisher = billing.publisher()
    [basic, pro] = await billing.publish_product(
        publisher,
        [
            {"name": "Basic", "price_amount": 500, "billing_period": "one_time"},
            {"name": "Pro", "price_amount": 900, "billing_period": "one_time"},
        ],
    )
    await billing.publish_product(publisher, [{"tier_id": pro, "name": "Pro", "price_amount": 900, "billing_period": "one_time"}])

    dropped = await billing.checkout(TestUser(), basic)
    remaining = await billing.checkout(TestUser(), pro)

    assert dropped.status_code == 404
    assert remaining.status_code == 201


async def test_free_tier_not_sold(billing):
    publisher = billing.publisher()
    [free] = await billing.publish_product(publisher, [{"price_amount": 0, "billing_period": "free"}])

    response = await billing.checkout(TestUser(), free)

    assert response.status_code == 404
