"""Fixtures of the billing tests: the service on a real PostgreSQL, the Stripe stand-in,
access tokens, and a probe that receives billing's events as licensing would."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from shared.clock import FrozenClock
from shared.events.consumer import Consumer
from shared.events.envelope import Envelope, new_envelope
from shared.events.memory import InMemoryTransport
from shared.events.schemas import dump_data
from services.billing.app import create_app
from services.billing.settings import BillingSettings
from tests.billing.stripe_stand_in import StripeStandIn, encode_event, sign, stripe_event
from tests.support.services import RunningService, running_service
from tests.support.tokens import TestUser, TokenIssuer

BILLING_EVENT_TYPES = (
    "billing.checkout.completed",
    "billing.subscription.started",
    "billing.subscription.renewed",
    "billing.subscription.canceled",
    "billing.subscription.payment_failed",
    "billing.payment.refunded",
    "billing.payout_statement.issued",
)

START = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)


@dataclass
class Publisher:
    organisation_id: uuid.UUID
    owner: TestUser
    product_id: uuid.UUID = field(default_factory=uuid.uuid4)


@dataclass
class Billing:
    """The running billing service and what the tests drive it with."""

    service: RunningService
    transport: InMemoryTransport
    clock: FrozenClock
    issuer: TokenIssuer
    webhook_secret: str | None
    stand_in: StripeStandIn | None
    received: list[Envelope] = field(default_factory=list)

    @property
    def client(self) -> httpx.AsyncClient:
        return self.service.client

    def headers(self, user: TestUser) -> dict[str, str]:
        return self.issuer.headers(user)

    def publisher(self, namespace: str = "acme") -> Publisher:
        organisation_id = uuid.uuid4()
        owner = TestUser(username=f"{namespace}-owner", orgs=((organisation_id, namespace, "owner"),))
        return Publisher(organisation_id=organisation_id, owner=owner)

    async def publish_product(
        self,
        publisher: Publisher,
        tiers: list[dict[str, Any]],
        *,
        category: str = "databases",
        name: str = "Acme DB",
    ) -> list[uuid.UUID]:
        """Deliver `catalog.product.published` for the product, as catalog would send it."""
        tier_ids = []
        published = []
        for tier in tiers:
            tier_id = tier.get("tier_id") or uuid.uuid4()
            tier_ids.append(tier_id)
            published.append(
                {
                    "tier_id": tier_id,
                    "name": tier.get("name", "Standard"),
                    "price_amount": tier["price_amount"],
                    "currency": tier.get("currency", "EUR"),
                    "billing_period": tier["billing_period"],
                    "access_policy": "purchasers",
                }
            )
        data = {
            "product_id": publisher.product_id,
            "version_id": uuid.uuid4(),
            "version": "1.0.0",
            "organisation_id": publisher.organisation_id,
            "namespace": "acme",
            "slug": "acme-db",
            "name": name,
            "category": category,
            "tiers": published,
        }
        envelope = new_envelope(
            type="catalog.product.published",
            version=1,
            occurred_at=self.clock.now(),
            producer="catalog",
            subject=str(publisher.product_id),
            data=dump_data("catalog.product.published", data),
            correlation_id=None,
            causation_id=None,
        )
        await self.transport.publish(envelope)
        return tier_ids

    async def checkout(self, customer: TestUser, tier_id: uuid.UUID, **extra) -> httpx.Response:
        return await self.client.post(
            "/checkouts", json={"tier_id": str(tier_id), **extra}, headers=self.headers(customer)
        )

    async def send_webhook(self, event: dict, *, secret: str | None = None, signature: str | None = None) -> httpx.Response:
        payload = encode_event(event)
        header = signature or sign(payload, secret or self.webhook_secret)
        return await self.client.post(
            "/webhooks/stripe",
            content=payload,
            headers={"Stripe-Signature": header, "Content-Type": "application/json"},
        )

    async def outbox(self, event_type: str) -> list[dict]:
        """Return the data of every event of `event_type` billing has written, oldest first."""
        outbox = self.service.runtime.metadata.tables["outbox"]
        async with self.service.runtime.sessionmaker() as session:
            rows = await session.execute(
                select(outbox.c.envelope).where(outbox.c.type == event_type).order_by(outbox.c.created_at, outbox.c.seq)
            )
            return [row.envelope["data"] for row in rows]

    async def wait_for_received(self, event_type: str, count: int = 1, timeout: float = 10.0) -> list[Envelope]:
        """Wait until the probe has received `count` events of `event_type` through the bus."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            matching = [envelope for envelope in self.received if envelope.type == event_type]
            if len(matching) >= count:
                return matching
            if asyncio.get_running_loop().time() > deadline:
                seen = [envelope.type for envelope in self.received]
                raise AssertionError(f"expected {count} {event_type} within {timeout} s; received {seen}")
            await asyncio.sleep(0.05)


def checkout_completed_event(
    checkout: dict,
    *,
    amount_total: int,
    amount_tax: int = 0,
    payment_intent: str | None = None,
    subscription: str | None = None,
    invoice: str | None = None,
    currency: str = "eur",
) -> dict:
    """A `checkout.session.completed` event for a session the service created."""
    session = {
        "id": checkout["checkout_session_id"],
        "object": "checkout.session",
        "client_reference_id": checkout["order_id"],
        "metadata": {"wharf_order_id": checkout["order_id"]},
        "mode": "subscription" if subscription else "payment",
        "payment_status": "paid",
        "status": "complete",
        "amount_total": amount_total,
        "amount_subtotal": amount_total - amount_tax,
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": amount_tax},
        "currency": currency,
        "customer": "cus_test",
        "payment_intent": payment_intent,
        "subscription": subscription,
        "invoice": invoice,
    }
    return stripe_event("checkout.session.completed", session)


def invoice_paid_event(
    subscription_id: str,
    *,
    amount_paid: int,
    period_end: int,
    payment_intent: str,
    billing_reason: str = "subscription_cycle",
    tax: int = 0,
) -> dict:
    invoice = {
        "id": f"in_{secrets.token_hex(8)}",
        "object": "invoice",
        "billing_reason": billing_reason,
        "amount_paid": amount_paid,
        "currency": "eur",
        "status": "paid",
        "parent": {
            "type": "subscription_details",
            "subscription_details": {"subscription": subscription_id, "metadata": {}},
        },
        "total_taxes": [{"amount": tax, "tax_behavior": "exclusive"}] if tax else [],
        "payments": {
            "object": "list",
            "data": [{"object": "invoice_payment", "payment": {"type": "payment_intent", "payment_intent": payment_intent}}],
        },
        "lines": {"object": "list", "data": [{"period": {"start": period_end - 2_592_000, "end": period_end}}]},
    }
    return stripe_event("invoice.paid", invoice)


def subscription_event(event_type: str, subscription_id: str, *, status: str, period_end: int) -> dict:
    subscription = {
        "id": subscription_id,
        "object": "subscription",
        "status": status,
        "cancel_at_period_end": False,
        "ended_at": int(START.timestamp()) if status == "canceled" else None,
        "items": {"object": "list", "data": [{"current_period_end": period_end}]},
    }
    return stripe_event(event_type, subscription)


@contextlib.asynccontextmanager
async def start_billing(*, stand_in: StripeStandIn | None, **settings_overrides):
    """Run billing with Stripe pointed at `stand_in`, or in sandbox mode when it is None."""
    clock = FrozenClock(START)
    transport = InMemoryTransport(retry_delays=[0.01])
    issuer = TokenIssuer()
    webhook_secret = None
    values: dict[str, Any] = {"statement_check_interval": 3600.0, "public_url": "http://testserver"}
    if stand_in is not None:
        webhook_secret = f"whsec_{secrets.token_hex(16)}"
        values.update(
            stripe_api_key="sk_test_wharf",
            stripe_webhook_secret=webhook_secret,
            stripe_api_base=stand_in.base_url,
            stripe_max_network_retries=0,
        )
    values.update(settings_overrides)
    settings = BillingSettings(**values)

    async with running_service(
        create_app, database="billing", transport=transport, clock=clock, settings=settings
    ) as service:
        issuer.install(service.runtime.state["jwks"])
        # Billing subscribes to catalog's events in the background; wait so none is missed.
        await asyncio.wait_for(service.runtime.subscribed.wait(), timeout=10)
        billing = Billing(
            service=service,
            transport=transport,
            clock=clock,
            issuer=issuer,
            webhook_secret=webhook_secret,
            stand_in=stand_in,
        )

        async def record(session, envelope, data) -> None:
            billing.received.append(envelope)

        probe = Consumer(
            service="licensing-probe",
            sessionmaker=service.runtime.sessionmaker,
            metadata=service.runtime.metadata,
            handlers={event_type: record for event_type in BILLING_EVENT_TYPES},
            clock=clock,
        )
        await transport.subscribe(probe)
        yield billing


@pytest.fixture
def stand_in():
    server = StripeStandIn()
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def billing(stand_in):
    async with start_billing(stand_in=stand_in) as running:
        yield running


@pytest.fixture
async def sandbox():
    async with start_billing(stand_in=None) as running:
        yield running
