"""Settings of the billing service, read from `WHARF_BILLING_*` variables."""

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class BillingSettings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="WHARF_BILLING_", env_file=".env", extra="ignore", populate_by_name=True
    )

    # Stripe secret key. Without it the service runs its sandbox checkout instead of Stripe,
    # which the service rejects at startup when WHARF_ENVIRONMENT=production.
    stripe_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("WHARF_BILLING_STRIPE_API_KEY", "STRIPE_API_KEY")
    )
    # Signing secret of the Stripe webhook endpoint (`whsec_...`).
    stripe_webhook_secret: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("WHARF_BILLING_STRIPE_WEBHOOK_SECRET", "STRIPE_WEBHOOK_SECRET"),
    )
    # Base URL of the Stripe API. Empty means the SDK's default (https://api.stripe.com).
    stripe_api_base: str = ""
    stripe_max_network_retries: int = Field(default=2, ge=0, le=5)
    # Maximum age in seconds of a webhook signature's timestamp.
    stripe_webhook_tolerance: int = Field(default=300, ge=1)
    # Ask Stripe Checkout to compute tax (needs Stripe Tax set up on the account).
    automatic_tax: bool = False
    # Pay publishers with transfers to their Stripe Connect accounts. Without it,
    # statements are paid by hand.
    stripe_connect: bool = False

    # Platform share of each sale net of tax, in basis points (2000 = 20 %).
    platform_fee_basis_points: int = Field(default=2000, ge=0, le=10000)

    # Public base URL of this service's API as the browser reaches it (the sandbox
    # checkout page and its links are built from it).
    public_url: str = "http://127.0.0.1:8080/api/billing"
    # Where Checkout sends the customer back to; `{ORDER_ID}` is replaced by the order id.
    success_url: str = "http://127.0.0.1:8080/orders/{ORDER_ID}?checkout=success"
    cancel_url: str = "http://127.0.0.1:8080/orders/{ORDER_ID}?checkout=canceled"
    # Where the customer portal links back to.
    portal_return_url: str = "http://127.0.0.1:8080/account/subscriptions"
    # Origins a client may name in its own return URLs. The origins of the
    # three defaults above are always allowed.
    allowed_return_origins: list[str] = Field(default_factory=list)

    # How often, in seconds, the scheduler checks whether last month's statements are due.
    statement_check_interval: float = Field(default=3600.0, gt=0)
    # Minimum number of comparable tiers before the pricing help shows any figure.
    pricing_minimum_sample: int = Field(default=5, ge=5)
