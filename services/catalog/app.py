"""App factory of the catalog service."""

from pathlib import Path

from services.catalog import handlers
from services.catalog.api import ROUTERS
from services.catalog.models import Base
from services.catalog.facets import FacetCache
from services.catalog.settings import CatalogSettings
from services.catalog.storage import LocalMediaStorage
from shared.service import Runtime, ServiceSpec, create_service_app


async def open_stores(runtime: Runtime) -> None:
    """Keep images in the configured folder, or under the platform's data folder, and start the facet cache."""
    settings: CatalogSettings = runtime.settings
    root = settings.media_dir or str(Path(runtime.platform.data_dir) / "catalog" / "media")
    runtime.state.setdefault("media_storage", LocalMediaStorage(root))
    runtime.state["facet_cache"] = FacetCache(settings.facet_cache_seconds)


SPEC = ServiceSpec(
    name="catalog",
    title="Catalog",
    description="Publisher profiles, products, versions, tiers, media, listing state, badges, warning labels, search and pull counts.",
    metadata=Base.metadata,
    migrations_dir=Path(__file__).parent / "migrations",
    settings_class=CatalogSettings,
    routers=ROUTERS,
    handlers=handlers.HANDLERS,
    on_startup=[open_stores],
)


def create_app(**options):
    """Build the catalog app; `options` go to `create_service_app` (transport, clock, ...)."""
    return create_service_app(SPEC, **options)
