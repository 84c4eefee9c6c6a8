"""App factory of the licensing service."""

import asyncio
from pathlib import Path

import structlog

from shared.service import Runtime, ServiceSpec, create_service_app
from shared.settings import Environment
from services.licensing import handlers, keys, registry_process, routes
from services.licensing.credentials import CredentialChecker
from services.licensing.models import Base
from services.licensing.registry_client import RegistryClient
from services.licensing.settings import DEVELOPMENT_NOTIFICATIONS_SECRET, LicensingSettings
from services.licensing.token_service import TokenSigner

log = structlog.get_logger()


async def prepare(runtime: Runtime) -> None:
    """Load or create the signing key and build the clients the routes and handlers use."""
    settings: LicensingSettings = runtime.settings
    if (
        runtime.platform.environment == Environment.PRODUCTION
        and settings.notifications_secret == DEVELOPMENT_NOTIFICATIONS_SECRET
    ):
        raise ValueError("WHARF_LICENSING_NOTIFICATIONS_SECRET must be set to a secret value in production")

    data_dir = settings.resolved_data_dir(runtime.platform.data_dir)
    signing_key = keys.load_or_create(
        data_dir / "keys",
        key_file=settings.signing_key_file,
        certificate_file=settings.signing_certificate_file,
    )
    signer = TokenSigner(settings, signing_key)
    runtime.state["signer"] = signer
    # In the all-in-one mode identity runs in this process and is called directly,
    # because the gateway never forwards `/internal/` routes.
    identity_client = runtime.state.get("internal_clients", {}).get("identity")
    runtime.state["credentials"] = CredentialChecker(
        identity_url=str(identity_client.base_url) if identity_client else runtime.platform.identity_url,
        internal_token=runtime.platform.internal_token,
        service_account=settings.service_account,
        cache_seconds=settings.credential_cache_seconds,
        timeout=settings.http_timeout_seconds,
        client=identity_client,
    )
    runtime.state["registry"] = RegistryClient(
        settings.resolved_registry_url(),
        signer=signer,
        clock=runtime.clock,
        timeout=settings.http_timeout_seconds,
    )
    log.info("licensing.signing_key.loaded", kid=signing_key.kid)


async def hold_resources(runtime: Runtime) -> None:
    """Run the managed registry, if any, and close the HTTP clients on shutdown."""
    settings: LicensingSettings = runtime.settings
    registry = None
    try:
        if settings.registry_managed:
            data_dir = settings.resolved_data_dir(runtime.platform.data_dir)
            registry = await registry_process.start_registry(settings, data_dir)
            runtime.state["registry_process"] = registry
        await asyncio.Event().wait()
    finally:
        if registry is not None:
            await registry.stop()
        await runtime.state["credentials"].close()
        await runtime.state["registry"].close()


SPEC = ServiceSpec(
    name="licensing",
    title="Licensing",
    description="The registry token service, repository namespaces, access policies, licence acceptances, entitlements, promotion and registry notifications.",
    metadata=Base.metadata,
    migrations_dir=Path(__file__).parent / "migrations",
    settings_class=LicensingSettings,
    routers=routes.ROUTERS,
    handlers=handlers.HANDLERS,
    on_startup=[prepare],
    background_tasks=[hold_resources],
)


def create_app(**options):
    """Build the licensing app; `options` go to `create_service_app` (transport, clock, ...)."""
    return create_service_app(SPEC, **options)
