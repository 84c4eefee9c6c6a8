"""Payment providers: Stripe through its official SDK, or the offline sandbox.

Both take the same calls, so the checkout, refund and payout code does not know which one
runs. Every call that creates something in Stripe carries an idempotency key derived from
a Wharf id, so a retried request never charges, refunds or transfers twice.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

import stripe
import structlog

from shared.errors import BadGateway
from shared.settings import Environment, PlatformSettings
from services.billing.settings import BillingSettings

log = structlog.get_logger()

# Stripe's `recurring.interval` for each subscription billing period.
INTERVALS = {"monthly": "month", "yearly": "year"}


@dataclass(frozen=True)
class CheckoutRequest:
    order_id: uuid.UUID
    customer_id: str
    price_id: str
    mode: str  # payment | subscription
    success_url: str
    cancel_url: str
    automatic_tax: bool
    metadata: dict[str, str]


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str


@dataclass(frozen=True)
class RefundResult:
    id: str
    status: str


class PaymentProvider(Protocol):
    name: str

    async def create_customer(self, *, user_id: uuid.UUID, username: str) -> str: ...

    async def create_product(self, *, tier_id: uuid.UUID, name: str, metadata: dict[str, str]) -> str: ...

    async def create_price(
        self, *, price_id: uuid.UUID, product: str, amount: int, currency: str, billing_period: str
    ) -> str: ...

    async def create_checkout_session(self, request: CheckoutRequest) -> CheckoutSession: ...

    async def create_portal_session(self, *, customer_id: str, return_url: str, key: str) -> str: ...

    async def create_refund(
        self, *, refund_id: uuid.UUID, payment_intent: str, amount: int, metadata: dict[str, str]
    ) -> RefundResult: ...

    async def create_transfer(
        self, *, key: str, amount: int, currency: str, destination: str, group: str
    ) -> str: ...

    async def retrieve_subscription(self, subscription_id: str) -> dict[str, Any]: ...

    async def list_refunds(self, charge_id: str) -> list[dict[str, Any]]: ...

    async def invoice_payment_intent(self, invoice_id: str) -> str | None: ...


class StripeProvider:
    """Stripe reached through `stripe.StripeClient` with the SDK's asynchronous httpx client."""

    name = "stripe"

    def __init__(self, settings: BillingSettings) -> None:
        base_addresses = {"api": settings.stripe_api_base} if settings.stripe_api_base else None
        self.client = stripe.StripeClient(
            settings.stripe_api_key.get_secret_value(),
            base_addresses=base_addresses,
            http_client=stripe.HTTPXClient(timeout=30),
            max_network_retries=settings.stripe_max_network_retries,
        )

    async def _call(self, action: str, coroutine):
        try:
            return await coroutine
        except stripe.StripeError as exc:
            log.warning(
                "stripe.call.failed",
                call=action,
                error=type(exc).__name__,
                message=exc.user_message,
                request_id=exc.request_id,
            )
            reason = exc.user_message or type(exc).__name__
            raise BadGateway(f"The Stripe request to {action} failed: {reason}. Retry later.") from exc

    async def create_customer(self, *, user_id: uuid.UUID, username: str) -> str:
        customer = await self._call(
            "create customer",
            self.client.v1.customers.create_async(
                {"name": username, "metadata": {"wharf_user_id": str(user_id)}},
                {"idempotency_key": f"wharf-customer-{user_id}"},
            ),
        )
        return customer.id

    async def create_product(self, *, tier_id: uuid.UUID, name: str, metadata: dict[str, str]) -> str:
        product = await self._call(
            "create product",
            self.client.v1.products.create_async(
                {"name": name, "metadata": metadata},
                {"idempotency_key": f"wharf-product-{tier_id}"},
            ),
        )
        return product.id

    async def create_price(
        self, *, price_id: uuid.UUID, product: str, amount: int, currency: str, billing_period: str
    ) -> str:
        params: dict[str, Any] = {
            "product": product,
            "unit_amount": amount,
            "currency": currency.lower(),
            "metadata": {"wharf_price_id": str(price_id)},
        }
        if billing_period in INTERVALS:
            params["recurring"] = {"interval": INTERVALS[billing_period]}
        price = await self._call(
            "create price",
            self.client.v1.prices.create_async(params, {"idempotency_key": f"wharf-price-{price_id}"}),
        )
        return price.id

    async def create_checkout_session(self, request: CheckoutRequest) -> CheckoutSession:
        params: dict[str, Any] = {
            "mode": request.mode,
            "customer": request.customer_id,
            "client_reference_id": str(request.order_id),
            "line_items": [{"price": request.price_id, "quantity": 1}],
            "success_url": request.success_url,
            "cancel_url": request.cancel_url,
            "metadata": request.metadata,
        }
        if request.automatic_tax:
            params["automatic_tax"] = {"enabled": True}
            params["customer_update"] = {"address": "auto"}

        # The metadata is copied to the payment or the subscription too, so invoice,
        # subscription and charge events can be traced back to the order.
        if request.mode == "subscription":
            params["subscription_data"] = {"metadata": request.metadata}
        else:
            params["payment_intent_data"] = {"metadata": request.metadata}

        session = await self._call(
            "create checkout session",
            self.client.v1.checkout.sessions.create_async(
                params, {"idempotency_key": f"wharf-checkout-{request.order_id}"}
            ),
        )
        return CheckoutSession(id=session.id, url=session.url)

    async def create_portal_session(self, *, customer_id: str, return_url: str, key: str) -> str:
        portal = await self._call(
            "create billing portal session",
            self.client.v1.billing_portal.sessions.create_async(
                {"customer": customer_id, "return_url": return_url},
                {"idempotency_key": f"wharf-portal-{key}"},
            ),
        )
        return portal.url

    async def create_refund(
        self, *, refund_id: uuid.UUID, payment_intent: str, amount: int, metadata: dict[str, str]
    ) -> RefundResult:
        refund = await self._call(
            "create refund",
            self.client.v1.refunds.create_async(
                {"payment_intent": payment_intent, "amount": amount, "metadata": metadata},
                {"idempotency_key": f"wharf-refund-{refund_id}"},
            ),
        )
        return RefundResult(id=refund.id, status=refund.status)

    async def create_transfer(
        self, *, key: str, amount: int, currency: str, destination: str, group: str
    ) -> str:
        transfer = await self._call(
            "create transfer",
            self.client.v1.transfers.create_async(
                {
                    "amount": amount,
                    "currency": currency.lower(),
                    "destination": destination,
                    "transfer_group": group,
                },
                {"idempotency_key": f"wharf-transfer-{key}"},
            ),
        )
        return transfer.id

    async def retrieve_subscription(self, subscription_id: str) -> dict[str, Any]:
        subscription = await self._call(
            "retrieve subscription", self.client.v1.subscriptions.retrieve_async(subscription_id)
        )
        return subscription.to_dict()

    async def list_refunds(self, charge_id: str) -> list[dict[str, Any]]:
        refunds = await self._call(
            "list refunds", self.client.v1.refunds.list_async({"charge": charge_id, "limit": 100})
        )
        # NOTE: only the first 100 refunds of a charge are read, because 100 is Stripe's maximum page size.
        return [refund.to_dict() for refund in refunds.data]

    async def invoice_payment_intent(self, invoice_id: str) -> str | None:
        payments = await self._call(
            "list invoice payments",
            self.client.v1.invoice_payments.list_async({"invoice": invoice_id, "limit": 10}),
        )
        for payment in payments.data:
            details = payment.to_dict().get("payment") or {}
            if details.get("payment_intent"):
                return details["payment_intent"]
        return None


class SandboxProvider:
    """An offline stand-in: sessions open this service's own checkout page.

    The page completes or cancels the payment by calling the same domain code that
    Stripe's webhooks reach, so the whole purchase journey runs without network access.
    """

    name = "sandbox"

    def __init__(self, settings: BillingSettings) -> None:
        self.public_url = settings.public_url.rstrip("/")

    @staticmethod
    def _new_id(prefix: str) -> str:
        return f"{prefix}_sandbox_{secrets.token_hex(12)}"

    async def create_customer(self, *, user_id: uuid.UUID, username: str) -> str:
        return self._new_id("cus")

    async def create_product(self, *, tier_id: uuid.UUID, name: str, metadata: dict[str, str]) -> str:
        return self._new_id("prod")

    async def create_price(
        self, *, price_id: uuid.UUID, product: str, amount: int, currency: str, billing_period: str
    ) -> str:
        return self._new_id("price")

    async def create_checkout_session(self, request: CheckoutRequest) -> CheckoutSession:
        session_id = self._new_id("cs")
        return CheckoutSession(id=session_id, url=f"{self.public_url}/sandbox/checkout/{session_id}")

    async def create_portal_session(self, *, customer_id: str, return_url: str, key: str) -> str:
        # The portal page and its id are created by the caller, which owns the table.
        return f"{self.public_url}/sandbox/portal/{key}"

    async def create_refund(
        self, *, refund_id: uuid.UUID, payment_intent: str, amount: int, metadata: dict[str, str]
    ) -> RefundResult:
        return RefundResult(id=self._new_id("re"), status="succeeded")

    async def create_transfer(
        self, *, key: str, amount: int, currency: str, destination: str, group: str
    ) -> str:
        return self._new_id("tr")

    async def retrieve_subscription(self, subscription_id: str) -> dict[str, Any]:
        raise LookupError(f"the sandbox keeps no subscription {subscription_id} outside the database")

    async def list_refunds(self, charge_id: str) -> list[dict[str, Any]]:
        return []

    async def invoice_payment_intent(self, invoice_id: str) -> str | None:
        return None


def select_provider(settings: BillingSettings, platform: PlatformSettings) -> PaymentProvider:
    """Return Stripe when an API key is set, else the sandbox, which production rejects."""
    if settings.stripe_api_key is not None and settings.stripe_api_key.get_secret_value():
        if settings.stripe_webhook_secret is None:
            raise RuntimeError(
                "STRIPE_WEBHOOK_SECRET (or WHARF_BILLING_STRIPE_WEBHOOK_SECRET) is missing. "
                "Set it to the signing secret of the Stripe webhook endpoint"
            )
        return StripeProvider(settings)

    if platform.environment == Environment.PRODUCTION:
        raise RuntimeError(
            "The billing sandbox is not allowed in production. Set STRIPE_API_KEY "
            "(or WHARF_BILLING_STRIPE_API_KEY) and STRIPE_WEBHOOK_SECRET"
        )
    return SandboxProvider(settings)
