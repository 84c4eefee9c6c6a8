"""App factory of the notifications service."""

from pathlib import Path

from shared.service import ServiceSpec, create_service_app
from services.notifications import handlers, routes
from services.notifications.models import Base
from services.notifications.settings import NotificationsSettings

SPEC = ServiceSpec(
    name="notifications",
    title="Notifications",
    description="Subscriptions, email and webhook delivery, the delivery log, and the read model of who downloaded what.",
    metadata=Base.metadata,
    migrations_dir=Path(__file__).parent / "migrations",
    settings_class=NotificationsSettings,
    routers=[routes.router],
    handlers=handlers.HANDLERS,
)


def create_app(**options):
    """Build the notifications app; `options` go to `create_service_app` (transport, clock, ...)."""
    return create_service_app(SPEC, **options)
