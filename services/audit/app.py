"""App factory of the audit service."""

from pathlib import Path

from services.audit import handlers
from services.audit.api import ROUTERS
from services.audit.models import Base
from services.audit.scheduler import create_partitions_on_startup, run_scheduler
from services.audit.settings import AuditSettings
from shared.service import ServiceSpec, create_service_app

SPEC = ServiceSpec(
    name="audit",
    title="Audit",
    description="The append-only activity log of every event and pull, its retention, and monthly publisher reports.",
    metadata=Base.metadata,
    migrations_dir=Path(__file__).parent / "migrations",
    settings_class=AuditSettings,
    routers=ROUTERS,
    handlers=handlers.HANDLERS,
    background_tasks=[run_scheduler],
    on_startup=[create_partitions_on_startup],
)


def create_app(**options):
    """Build the audit app; `options` go to `create_service_app` (transport, clock, ...)."""
    return create_service_app(SPEC, **options)
