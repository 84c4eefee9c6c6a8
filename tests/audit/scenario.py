"""A month of generated activity for two publishers, fed to the audit service as events.

Organisation "acme" sells one product with a free, a monthly and a one-time tier. In
March 2025 it has free and paid downloads, a purchase, a new subscription, a partial
refund, and a renewal and a cancellation of an older subscription. Organisation "other" has a product
and one download, which must never show up in acme's report.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from tests.audit.support import at, deliver, sample_data


@dataclass
class Scenario:
    acme: uuid.UUID = field(default_factory=uuid.uuid4)
    other: uuid.UUID = field(default_factory=uuid.uuid4)
    product: uuid.UUID = field(default_factory=uuid.uuid4)
    other_product: uuid.UUID = field(default_factory=uuid.uuid4)
    free_tier: uuid.UUID = field(default_factory=uuid.uuid4)
    monthly_tier: uuid.UUID = field(default_factory=uuid.uuid4)
    one_time_tier: uuid.UUID = field(default_factory=uuid.uuid4)
    customers: list[uuid.UUID] = field(default_factory=lambda: [uuid.uuid4() for _ in range(5)])
    old_order: uuid.UUID = field(default_factory=uuid.uuid4)
    one_time_order: uuid.UUID = field(default_factory=uuid.uuid4)
    subscription_order: uuid.UUID = field(default_factory=uuid.uuid4)
    renewal_order: uuid.UUID = field(default_factory=uuid.uuid4)
    statement: uuid.UUID = field(default_factory=uuid.uuid4)


def _tier(tier_id, name, period, price):
    return {
        "tier_id": str(tier_id),
        "name": name,
        "price_amount": price,
        "currency": "EUR",
        "billing_period": period,
        "access_policy": "purchasers" if price else "everyone",
        "reference": f"staging/acme/db:{name}",
    }


async def feed_catalog(transport, s: Scenario) -> None:
    for organisation_id, namespace in ((s.acme, "acme"), (s.other, "other")):
        await deliver(
            transport,
            "identity.organisation.created",
            sample_data(
                "identity.organisation.created",
                organisation_id=str(organisation_id),
                namespace=namespace,
                display_name=namespace.capitalize(),
            ),
            occurred_at=at("2025-01-10T09:00:00"),
        )

    tiers = [
        _tier(s.free_tier, "community", "free", 0),
        _tier(s.monthly_tier, "pro", "monthly", 1000),
        _tier(s.one_time_tier, "perpetual", "one_time", 5000),
    ]
    await deliver(
        transport,
        "catalog.product.published",
        sample_data(
            "catalog.product.published",
            product_id=str(s.product),
            organisation_id=str(s.acme),
            slug="acme-db",
            name="Acme DB",
            tiers=tiers,
        ),
        occurred_at=at("2025-02-03T09:00:00"),
    )
    await deliver(
        transport,
        "catalog.product.published",
        sample_data(
            "catalog.product.published",
            product_id=str(s.other_product),
            organisation_id=str(s.other),
            slug="other-tool",
            name="Other tool",
            tiers=[_tier(uuid.uuid4(), "free", "free", 0)],
        ),
        occurred_at=at("2025-02-01T09:00:00"),
    )


async def pull(transport, s: Scenario, when: str, *, tier, customer, paid, organisation=None, product=None, registry_id=None):
    return await deliver(
        transport,
        "licensing.image.pulled",
        sample_data(
            "licensing.image.pulled",
            repository="store/acme/acme-db",
            digest="sha256:" + "ab" * 32,
            tag="1.0",
            user_id=str(customer) if customer else None,
            product_id=str(product or s.product),
            tier_id=str(tier),
            organisation_id=str(organisation or s.acme),
            paid=paid,
            registry_event_id=registry_id or str(uuid.uuid4()),
            pulled_at=at(when).isoformat(),
        ),
        occurred_at=at(when),
    )


async def feed_downloads(transport, s: Scenario) -> None:
    c = s.customers
    await pull(transport, s, "2025-02-28T23:59:59", tier=s.free_tier, customer=c[0], paid=False)
    await pull(transport, s, "2025-03-01T00:00:00", tier=s.free_tier, customer=None, paid=False)
    await pull(transport, s, "2025-03-03T10:15:00", tier=s.free_tier, customer=c[0], paid=False)
    await pull(transport, s, "2025-03-03T18:00:00", tier=s.monthly_tier, customer=c[1], paid=True, registry_id="reg-dup")
    # The registry's notification delivered twice, relayed as two events: one download.
    await pull(transport, s, "2025-03-03T18:00:00", tier=s.monthly_tier, customer=c[1], paid=True, registry_id="reg-dup")
    await pull(transport, s, "2025-03-17T09:00:00", tier=s.free_tier, customer=c[2], paid=False)
    await pull(transport, s, "2025-03-31T23:59:59", tier=s.one_time_tier, customer=c[3], paid=True)
    await pull(transport, s, "2025-04-01T00:00:00", tier=s.one_time_tier, customer=c[3], paid=True)
    await pull(
        transport, s, "2025-03-05T12:00:00", tier=uuid.uuid4(), customer=c[4], paid=False,
        organisation=s.other, product=s.other_product,
    )


def _sale(s: Scenario, tier, customer) -> dict:
    return {
        "user_id": str(customer),
        "product_id": str(s.product),
        "tier_id": str(tier),
        "organisation_id": str(s.acme),
    }


async def feed_sales(transport, s: Scenario) -> None:
    c = s.customers
    # A subscription bought in February, renewed and then canceled in March.
    await deliver(
        transport,
        "billing.checkout.completed",
        {**_sale(s, s.monthly_tier, c[4]), "order_id": str(s.old_order), "amount": 1190, "tax_amount": 190,
         "currency": "EUR", "mode": "subscription", "subscription_id": "sub_old"},
        occurred_at=at("2025-02-10T08:00:00"),
    )
    # The cancellation arrives before the start event: the read model must not care.
    await deliver(
        transport,
        "billing.subscription.canceled",
        {**_sale(s, s.monthly_tier, c[4]), "subscription_id": "sub_old"},
        occurred_at=at("2025-03-20T16:00:00"),
    )
    await deliver(
        transport,
        "billing.subscription.started",
        {**_sale(s, s.monthly_tier, c[4]), "subscription_id": "sub_old", "amount": 1190, "currency": "EUR"},
        occurred_at=at("2025-02-10T08:00:00"),
    )
    await deliver(
        transport,
        "billing.subscription.renewed",
        {**_sale(s, s.monthly_tier, c[4]), "subscription_id": "sub_old", "order_id": str(s.renewal_order),
         "amount": 1190, "tax_amount": 190, "currency": "EUR",
         "current_period_end": "2025-04-10T08:00:00+00:00"},
        occurred_at=at("2025-03-10T08:00:00"),
    )

    # A one-time purchase, partly refunded.
    await deliver(
        transport,
        "billing.checkout.completed",
        {**_sale(s, s.one_time_tier, c[3]), "order_id": str(s.one_time_order), "amount": 5950, "tax_amount": 950,
         "currency": "EUR", "mode": "payment"},
        occurred_at=at("2025-03-05T14:00:00"),
    )
    await deliver(
        transport,
        "billing.payment.refunded",
        {**_sale(s, s.one_time_tier, c[3]), "order_id": str(s.one_time_order), "refund_id": "re_1",
         "amount": 2000, "currency": "EUR", "full": False},
        occurred_at=at("2025-03-25T11:00:00"),
    )

    # A new subscription in March.
    await deliver(
        transport,
        "billing.checkout.completed",
        {**_sale(s, s.monthly_tier, c[1]), "order_id": str(s.subscription_order), "amount": 1190,
         "tax_amount": 190, "currency": "EUR", "mode": "subscription", "subscription_id": "sub_new",
         "current_period_end": "2025-04-12T09:00:00+00:00"},
        occurred_at=at("2025-03-12T09:00:00"),
    )
    await deliver(
        transport,
        "billing.subscription.started",
        {**_sale(s, s.monthly_tier, c[1]), "subscription_id": "sub_new", "amount": 1190, "currency": "EUR"},
        occurred_at=at("2025-03-12T09:00:00"),
    )


async def feed_statement(transport, s: Scenario, amount: int) -> None:
    await deliver(
        transport,
        "billing.payout_statement.issued",
        {"statement_id": str(s.statement), "organisation_id": str(s.acme), "month": "2025-03",
         "amounts": {"EUR": amount}},
        occurred_at=at("2025-04-01T00:00:01"),
    )


async def feed_month(transport, s: Scenario, *, statement_amount: int | None = 4255) -> None:
    await feed_catalog(transport, s)
    await feed_downloads(transport, s)
    await feed_sales(transport, s)
    if statement_amount is not None:
        await feed_statement(transport, s, statement_amount)
