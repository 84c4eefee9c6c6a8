"""App factory of the audit service."""

from pathlib import Path

from shared.service import ServiceSpec, create_service_app
from services.audit import handlers, routes
from services.audit.models import Base
from services.audit.settings import AuditSettings

SPEC = ServiceSpec(
    name="audit",
    title="Audit",
    description="The append-only activity log of every event and pull, its retention, and monthly publisher reports.",
    metadata=Base.metadata,
    migrations_dir=Path(__file__).parent / "migrations",
    settings_class=AuditSettings,
    routers=[routes.router],
    handlers=handlers.HANDLERS,
)


def create_app(**options):
    """Build the audit app; `options` go to `create_service_app` (transport, clock, ...)."""
    return create_service_app(SPEC, **options)
