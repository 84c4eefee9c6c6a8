"""App factory of the licensing service."""

from pathlib import Path

from shared.service import ServiceSpec, create_service_app
from services.licensing import handlers, routes
from services.licensing.models import Base
from services.licensing.settings import LicensingSettings

SPEC = ServiceSpec(
    name="licensing",
    title="Licensing",
    description="The registry token service, repository namespaces, access policies, licence acceptances, entitlements, promotion and registry notifications.",
    metadata=Base.metadata,
    migrations_dir=Path(__file__).parent / "migrations",
    settings_class=LicensingSettings,
    routers=[routes.router],
    handlers=handlers.HANDLERS,
)


def create_app(**options):
    """Build the licensing app; `options` go to `create_service_app` (transport, clock, ...)."""
    return create_service_app(SPEC, **options)
