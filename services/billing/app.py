"""App factory of the billing service."""

from pathlib import Path

import structlog

from shared.service import Runtime, ServiceSpec, create_service_app
from services.billing import handlers, payout_routes, routes, sandbox, webhooks
from services.billing.deps import PROVIDER_KEY
from services.billing.models import Base
from services.billing.providers import select_provider
from services.billing.settings import BillingSettings
from services.billing.statements import run_statement_scheduler

log = structlog.get_logger()


async def choose_payment_provider(runtime: Runtime) -> None:
    """Pick Stripe or the sandbox. Raises RuntimeError in production without Stripe, so the service does not start."""
    provider = runtime.state.get(PROVIDER_KEY) or select_provider(runtime.settings, runtime.platform)
    runtime.state[PROVIDER_KEY] = provider
    log.info("billing.provider.selected", provider=provider.name)


SPEC = ServiceSpec(
    name="billing",
    title="Billing",
    description="Stripe customers, prices, checkouts, orders, subscriptions, refunds, tax, the publisher ledger and payout statements.",
    metadata=Base.metadata,
    migrations_dir=Path(__file__).parent / "migrations",
    settings_class=BillingSettings,
    routers=[routes.router, payout_routes.router, webhooks.router, sandbox.router],
    handlers=handlers.HANDLERS,
    background_tasks=[run_statement_scheduler],
    on_startup=[choose_payment_provider],
)


def create_app(**options):
    """Build the billing app; `options` go to `create_service_app` (transport, clock, ...)."""
    return create_service_app(SPEC, **options)
