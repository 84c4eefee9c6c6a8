"""App factory of the identity service."""

from pathlib import Path

from services.identity import handlers, startup
from services.identity.api import routers
from services.identity.models import Base
from services.identity.settings import IdentitySettings
from shared.service import ServiceSpec, create_service_app

SPEC = ServiceSpec(
    name="identity",
    title="Identity",
    description="Accounts, publisher organisations and members, staff roles, access and refresh tokens, personal access tokens and the signing keys (JWKS).",
    metadata=Base.metadata,
    migrations_dir=Path(__file__).parent / "migrations",
    settings_class=IdentitySettings,
    routers=routers,
    handlers=handlers.HANDLERS,
    on_startup=[startup.prepare],
)


def create_app(**options):
    """Build the identity app; `options` go to `create_service_app` (transport, clock, ...)."""
    return create_service_app(SPEC, **options)
