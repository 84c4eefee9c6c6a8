"""App factory of the catalog service."""

from pathlib import Path

from shared.service import ServiceSpec, create_service_app
from services.catalog import handlers, routes
from services.catalog.models import Base
from services.catalog.settings import CatalogSettings

SPEC = ServiceSpec(
    name="catalog",
    title="Catalog",
    description="Publisher profiles, products, versions, tiers, media, listing state, badges, warning labels, search and pull counts.",
    metadata=Base.metadata,
    migrations_dir=Path(__file__).parent / "migrations",
    settings_class=CatalogSettings,
    routers=[routes.router],
    handlers=handlers.HANDLERS,
)


def create_app(**options):
    """Build the catalog app; `options` go to `create_service_app` (transport, clock, ...)."""
    return create_service_app(SPEC, **options)
