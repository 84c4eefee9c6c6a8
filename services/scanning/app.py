"""App factory of the scanning service."""

from pathlib import Path

from shared.service import ServiceSpec, create_service_app
from services.scanning import handlers, routes, scans
from services.scanning.models import Base
from services.scanning.settings import ScanningSettings
from services.scanning.vulns import routes as vulnerability_routes
from services.scanning.vulns.startup import import_feeds_at_start, warn_without_vulnerability_data

SPEC = ServiceSpec(
    name="scanning",
    title="Scanning",
    description="Image inventories per layer, SBOMs, the vulnerability database imported from OSV feeds, findings and best-practice checks.",
    metadata=Base.metadata,
    migrations_dir=Path(__file__).parent / "migrations",
    settings_class=ScanningSettings,
    routers=[routes.router, vulnerability_routes.router],
    handlers=handlers.HANDLERS,
    background_tasks=[scans.scan_worker, import_feeds_at_start],
    on_startup=[warn_without_vulnerability_data],
)


def create_app(**options):
    """Build the scanning app; `options` go to `create_service_app` (transport, clock, ...)."""
    return create_service_app(SPEC, **options)
