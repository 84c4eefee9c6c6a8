"""App factory of the moderation service."""

from pathlib import Path

from services.moderation import handlers
from services.moderation.api import ROUTERS
from services.moderation.models import Base
from services.moderation.scheduler import run_scheduler
from services.moderation.settings import ModerationSettings
from shared.service import ServiceSpec, create_service_app

SPEC = ServiceSpec(
    name="moderation",
    title="Moderation",
    description="Review cases and rounds, comments, decisions, waivers, certification, and the vulnerability-fix SLA with hold and revoke.",
    metadata=Base.metadata,
    migrations_dir=Path(__file__).parent / "migrations",
    settings_class=ModerationSettings,
    routers=ROUTERS,
    handlers=handlers.HANDLERS,
    background_tasks=[run_scheduler],
)


def create_app(**options):
    """Build the moderation app; `options` go to `create_service_app` (transport, clock, ...)."""
    return create_service_app(SPEC, **options)
