"""App factory of the notifications service."""

from pathlib import Path

import structlog

from shared.service import Runtime, ServiceSpec, create_service_app
from shared.settings import Environment
from services.notifications import handlers
from services.notifications.api import ROUTERS
from services.notifications.dispatcher import Dispatcher, run_dispatcher
from services.notifications.models import Base
from services.notifications.settings import DEVELOPMENT_LINK_SECRET, NotificationsSettings

log = structlog.get_logger()


async def check_settings(runtime: Runtime) -> None:
    """Refuse to start in production with development-only settings."""
    settings: NotificationsSettings = runtime.settings
    if runtime.platform.environment == Environment.PRODUCTION:
        if settings.link_secret.get_secret_value() == DEVELOPMENT_LINK_SECRET:
            raise RuntimeError("WHARF_NOTIFICATIONS_LINK_SECRET must be set to a secret value in production")
        if settings.mailbox_open_read:
            raise RuntimeError("WHARF_NOTIFICATIONS_MAILBOX_OPEN_READ must be false in production")
    if not settings.smtp_host:
        log.info("mail.local_mailbox", service=runtime.service, reason="no SMTP host configured")


async def start_dispatcher(runtime: Runtime) -> None:
    runtime.state["dispatcher"] = Dispatcher(runtime)


SPEC = ServiceSpec(
    name="notifications",
    title="Notifications",
    description="Subscriptions, email and webhook delivery, the delivery log, and the read model of who downloaded what.",
    metadata=Base.metadata,
    migrations_dir=Path(__file__).parent / "migrations",
    settings_class=NotificationsSettings,
    routers=ROUTERS,
    handlers=handlers.HANDLERS,
    background_tasks=[run_dispatcher],
    on_startup=[check_settings, start_dispatcher],
)


def create_app(**options):
    """Build the notifications app; `options` go to `create_service_app` (transport, clock, ...)."""
    return create_service_app(SPEC, **options)
