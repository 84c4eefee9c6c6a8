"""App factory of the billing service."""

from pathlib import Path

from shared.service import ServiceSpec, create_service_app
from services.billing import handlers, routes
from services.billing.models import Base
from services.billing.settings import BillingSettings

SPEC = ServiceSpec(
    name="billing",
    title="Billing",
    description="Stripe customers, prices, checkouts, orders, subscriptions, refunds, tax, the publisher ledger and payout statements.",
    metadata=Base.metadata,
    migrations_dir=Path(__file__).parent / "migrations",
    settings_class=BillingSettings,
    routers=[routes.router],
    handlers=handlers.HANDLERS,
)


def create_app(**options):
    """Build the billing app; `options` go to `create_service_app` (transport, clock, ...)."""
    return create_service_app(SPEC, **options)
