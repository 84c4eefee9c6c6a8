"""Refunds, the publisher ledger and monthly payout statements."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from sqlalchemy import func, select

from services.billing.models import LedgerEntry
from tests.billing.conftest import checkout_completed_event
from tests.billing.stripe_stand_in import stripe_event
from tests.support.tokens import TestUser

ADMIN = TestUser(username="admin", staff=("admin",))


async def _sale(billing, publisher, *, price=1000, tax=0, currency="EUR", payment_intent=None, customer=None):
    [tier_id] = await billing.publish_product(
        publisher, [{"price_amount": price, "billing_period": "one_time", "currency": currency}]
    )
    customer = customer or TestUser(username="hank")
    checkout = (await billing.checkout(customer, tier_id)).json()
    payment_intent = payment_intent or f"pi_{checkout['order_id'][:8]}"
    response = await billing.send_webhook(
        checkout_completed_event(
            checkout, amount_total=price + tax, amount_tax=tax, payment_intent=payment_intent, currency=currency.lower()
        )
    )
    assert response.json()["status"] == "processed"
    return checkout["order_id"], payment_intent, customer


async def _refund(billing, order_id, amount=None, **headers):
    body = {} if amount is None else {"amount": amount}
    return await billing.client.post(
        f"/orders/{order_id}/refunds", json=body, headers={**billing.headers(ADMIN), **headers}
    )


async def _issue(billing, month: str):
    response = await billing.client.post("/statements/issue", json={"month": month}, headers=billing.headers(ADMIN))
    assert response.status_code == 200, response.text
    return response.json()


async def _statement(billing, publisher, statement_id):
    response = await billing.client.get(
        f"/organisations/{publisher.organisation_id}/statements/{statement_id}",
        headers=billing.headers(publisher.owner),
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_partial_refund_in_ledger_and_statement(billing):
    publisher = billing.publisher()
    order_id, payment_intent, customer = await _sale(billing, publisher, price=1000, tax=200)

    response = await _refund(billing, order_id, 600)

    assert response.status_code == 201
    refund = response.json()
    assert refund["amount"] == 600
    [stripe_refund] = billing.stand_in.creates("/v1/refunds")
    assert stripe_refund.params["payment_intent"] == payment_intent
    assert stripe_refund.params["amount"] == "600"
    assert stripe_refund.idempotency_key
    [refunded] = await billing.wait_for_received("billing.payment.refunded")
    assert refunded.data["amount"] == 600
    assert refunded.data["full"] is False
    assert refunded.data["tax_amount"] == 100

    # Paid 1200 with 200 tax: 1000 net, 200 fee, 800 to the publisher. Half the payment
    # is refunded, so half of each part goes back.
    balances = await billing.client.get(
        f"/organisations/{publisher.organisation_id}/balances", headers=billing.headers(publisher.owner)
    )
    by_account = {row["account"]: row["balance"] for row in balances.json()}
    assert by_account == {"cash": 600, "tax_held": 100, "platform_fee": 100, "publisher_payable": 400}

    billing.clock.set(datetime(2025, 4, 1, 0, 5, tzinfo=UTC))
    [issued] = await _issue(billing, "2025-03")
    statement = await _statement(billing, publisher, issued["id"])
    assert statement["amounts"] == {"EUR": 400}
    kinds = [(line["kind"], line["gross"], line["tax"], line["fee"], line["net"]) for line in statement["lines"]]
    assert kinds == [("sale", 1200, 200, 200, 800), ("refund", -600, -100, -100, -400)]
    order = (await billing.client.get(f"/orders/{order_id}", headers=billing.headers(customer))).json()
    assert order["refunded_amount"] == 600


async def test_refund_webhook_after_api_refund_no_double(billing):
    publisher = billing.publisher()
    order_id, payment_intent, _customer = await _sale(billing, publisher, price=1000)
    await _refund(billing, order_id, 300)
    charge_id = billing.stand_in.charge_of_intent[payment_intent]

    response = await billing.send_webhook(
        stripe_event("charge.refunded", {"id": charge_id, "object": "charge", "payment_intent": payment_intent, "amount_refunded": 300})
    )

    assert response.json()["status"] == "processed"
    assert len(await billing.outbox("billing.payment.refunded")) == 1


async def test_refund_made_in_stripe_recorded(billing):
    publisher = billing.publisher()
    order_id, payment_intent, customer = await _sale(billing, publisher, price=1000)
    billing.stand_in.add_refund("ch_dashboard", amount=1000, payment_intent=payment_intent)

    await billing.send_webhook(
        stripe_event("charge.refunded", {"id": "ch_dashboard", "object": "charge", "payment_intent": payment_intent, "amount_refunded": 1000})
    )

    [refunded] = await billing.outbox("billing.payment.refunded")
    assert refunded["full"] is True
    assert refunded["order_id"] == order_id
    refunds = (await billing.client.get(f"/orders/{order_id}/refunds", headers=billing.headers(customer))).json()
    assert refunds[0]["initiated_by"] == "stripe"


async def test_refund_before_checkout_applied_later(billing):
    publisher = billing.publisher()
    [tier_id] = await billing.publish_product(publisher, [{"price_amount": 1000, "billing_period": "one_time"}])
    checkout = (await billing.checkout(TestUser(), tier_id)).json()
    billing.stand_in.add_refund("ch_early", amount=250, payment_intent="pi_early")

    early = await billing.send_webhook(
        stripe_event("charge.refunded", {"id": "ch_early", "object": "charge", "payment_intent": "pi_early"})
    )
    await billing.send_webhook(checkout_completed_event(checkout, amount_total=1000, payment_intent="pi_early"))

    assert early.json()["status"] == "deferred"
    [refunded] = await billing.outbox("billing.payment.refunded")
    assert refunded["amount"] == 250


async def test_refund_beyond_remaining_rejected(billing):
    publisher = billing.publisher()
    order_id, _intent, _customer = await _sale(billing, publisher, price=1000)
    await _refund(billing, order_id, 700)

    response = await _refund(billing, order_id, 400)

    assert response.status_code == 422
    assert "400" in response.json()["detail"]
    assert "300" in response.json()["detail"]


async def test_refund_needs_admin(billing):
    publisher = billing.publisher()
    order_id, _intent, customer = await _sale(billing, publisher, price=1000)

    response = await billing.client.post(f"/orders/{order_id}/refunds", json={}, headers=billing.headers(customer))

    assert response.status_code == 403


async def test_full_refunds_reverse_sale_exactly(billing):
    publisher = billing.publisher()
    order_id, _intent, _customer = await _sale(billing, publisher, price=999, tax=190)
    for amount in (333, 333, 333):
        assert (await _refund(billing, order_id, amount)).status_code == 201

    response = await _refund(billing, order_id)

    assert response.status_code == 201
    assert response.json()["amount"] == 190
    balances = await billing.client.get(
        f"/organisations/{publisher.organisation_id}/balances", headers=billing.headers(publisher.owner)
    )
    assert {row["balance"] for row in balances.json()} == {0}


async def test_statement_adds_up_to_its_lines(billing):
    publisher = billing.publisher()
    first, _, _ = await _sale(billing, publisher, price=1999, tax=380)
    await _sale(billing, publisher, price=4999, tax=0)
    await _sale(billing, publisher, price=12000, tax=0, currency="USD")
    await _refund(billing, first, 777)
    billing.clock.set(datetime(2025, 4, 2, tzinfo=UTC))

    [issued] = await _issue(billing, "2025-03")

    statement = await _statement(billing, publisher, issued["id"])
    totals = defaultdict(int)
    for line in statement["lines"]:
        assert line["gross"] - line["tax"] - line["fee"] == line["net"]
        totals[line["currency"]] += line["net"]
    assert statement["amounts"] == dict(totals)
    assert set(statement["amounts"]) == {"EUR", "USD"}
    [announced] = await billing.outbox("billing.payout_statement.issued")
    assert announced["amounts"] == statement["amounts"]
    assert announced["month"] == "2025-03"


async def test_ledger_transactions_balance(billing):
    publisher = billing.publisher()
    order_id, _, _ = await _sale(billing, publisher, price=1234, tax=56)
    await _refund(billing, order_id, 99)
    billing.clock.set(datetime(2025, 4, 2, tzinfo=UTC))
    await _issue(billing, "2025-03")

    async with billing.service.runtime.sessionmaker() as session:
        sums = (
            await session.execute(select(LedgerEntry.transaction_id, func.sum(LedgerEntry.amount)).group_by(LedgerEntry.transaction_id))
        ).all()
    assert len(sums) == 3
    assert {total for _transaction, total in sums} == {0}


async def test_statement_moves_payable_to_payout_due(billing):
    publisher = billing.publisher()
    await _sale(billing, publisher, price=1000)
    billing.clock.set(datetime(2025, 4, 2, tzinfo=UTC))

    await _issue(billing, "2025-03")

    balances = await billing.client.get(
        f"/organisations/{publisher.organisation_id}/balances", headers=billing.headers(publisher.owner)
    )
    by_account = {row["account"]: row["balance"] for row in balances.json()}
    assert by_account["publisher_payable"] == 0
    assert by_account["payout_due"] == 800


async def test_statement_only_once_per_month(billing):
    publisher = billing.publisher()
    await _sale(billing, publisher, price=1000)
    billing.clock.set(datetime(2025, 4, 2, tzinfo=UTC))

    first = await _issue(billing, "2025-03")
    second = await _issue(billing, "2025-03")

    assert len(first) == 1
    assert second == []


async def test_statement_for_running_month_rejected(billing):
    response = await billing.client.post("/statements/issue", json={"month": "2025-03"}, headers=billing.headers(ADMIN))

    assert response.status_code == 422
    assert "2025-03" in response.json()["detail"]


async def test_sale_after_month_end_waits(billing):
    publisher = billing.publisher()
    await _sale(billing, publisher, price=1000)
    billing.clock.set(datetime(2025, 4, 3, tzinfo=UTC))
    await _sale(billing, publisher, price=3000)

    [march] = await _issue(billing, "2025-03")

    assert march["amounts"] == {"EUR": 800}


async def test_net_refund_carried_forward(billing):
    publisher = billing.publisher()
    order_id, _, _ = await _sale(billing, publisher, price=1000)
    billing.clock.set(datetime(2025, 4, 2, tzinfo=UTC))
    await _issue(billing, "2025-03")
    await _refund(billing, order_id, 1000)

    billing.clock.set(datetime(2025, 5, 2, tzinfo=UTC))
    april = await _issue(billing, "2025-04")
    await _sale(billing, publisher, price=2000)
    billing.clock.set(datetime(2025, 6, 2, tzinfo=UTC))
    [may] = await _issue(billing, "2025-05")

    assert april == []
    statement = await _statement(billing, publisher, may["id"])
    assert [line["net"] for line in statement["lines"]] == [-800, 1600]
    assert statement["amounts"] == {"EUR": 800}


async def test_connect_transfer_made_for_statement(stand_in):
    from tests.billing.conftest import start_billing

    async with start_billing(stand_in=stand_in, stripe_connect=True) as billing:
        publisher = billing.publisher()
        account = await billing.client.put(
            f"/organisations/{publisher.organisation_id}/payout-account",
            json={"stripe_account_id": "acct_1Publisher"},
            headers=billing.headers(publisher.owner),
        )
        assert account.status_code == 200
        await _sale(billing, publisher, price=1000)
        billing.clock.set(datetime(2025, 4, 2, tzinfo=UTC))

        [issued] = await _issue(billing, "2025-03")

        [transfer] = stand_in.creates("/v1/transfers")
        assert transfer.params["destination"] == "acct_1Publisher"
        assert transfer.params["amount"] == "800"
        assert transfer.params["currency"] == "eur"
        assert transfer.idempotency_key
        assert issued["payout_method"] == "stripe_connect"
        assert issued["transfers"]["EUR"].startswith("tr_")
