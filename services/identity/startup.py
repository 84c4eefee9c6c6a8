"""Start-up of the identity service: secrets check, signing key, JWKS cache and first admin."""

from __future__ import annotations

import structlog
from sqlalchemy import select, text

from services.identity import accounts, staff
from services.identity.access_tokens import AccessTokenSigner
from services.identity.hashing import PasswordHashing
from services.identity.models import User
from services.identity.settings import IdentitySettings
from services.identity.signing_keys import DatabaseJwksCache, ensure_active_key
from shared.errors import ConfigurationError, ProblemError
from shared.service import Runtime
from shared.settings import Environment

log = structlog.get_logger()

# Serialises the first-admin creation across replicas that start together.
_BOOTSTRAP_LOCK = 0x5748_4144  # "WHAD"


async def prepare(runtime: Runtime) -> None:
    settings: IdentitySettings = runtime.settings
    if runtime.platform.environment == Environment.PRODUCTION:
        try:
            settings.require_production_secrets()
        except ValueError as exc:
            raise RuntimeError(str(exc)) from None

    async with runtime.sessionmaker() as session, session.begin():
        key = await ensure_active_key(session, settings, runtime.clock.now())
    log.info("signing_key.ready", kid=key.kid)

    runtime.state["passwords"] = PasswordHashing(
        time_cost=settings.password_hash_time_cost,
        memory_kib=settings.password_hash_memory_kib,
        parallelism=settings.password_hash_parallelism,
    )
    runtime.state["signer"] = AccessTokenSigner(settings)
    jwks = DatabaseJwksCache(runtime.sessionmaker, settings, runtime.clock)
    await jwks.reload()
    runtime.state["jwks"] = jwks

    await create_first_admin(runtime)


async def create_first_admin(runtime: Runtime) -> None:
    """Create the configured admin account when no user of that name exists yet."""
    settings: IdentitySettings = runtime.settings
    username = settings.bootstrap_admin_username
    password = settings.bootstrap_admin_password.get_secret_value()
    if not username:
        return
    if not settings.bootstrap_admin_email or not password:
        raise ConfigurationError(
            "WHARF_IDENTITY_BOOTSTRAP_ADMIN_USERNAME is set, so WHARF_IDENTITY_BOOTSTRAP_ADMIN_EMAIL "
            "and WHARF_IDENTITY_BOOTSTRAP_ADMIN_PASSWORD must be set too"
        )

    async with runtime.sessionmaker() as session, session.begin():
        await session.execute(text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": _BOOTSTRAP_LOCK})
        if (await session.execute(select(User.id).where(User.username == username))).first():
            return
        try:
            user = await accounts.create_user(
                session,
                email=settings.bootstrap_admin_email,
                username=username,
                password=password,
                display_name=username,
                verified=True,
            )
        except ProblemError as error:
            raise ConfigurationError(
                f"The first admin set by WHARF_IDENTITY_BOOTSTRAP_ADMIN_USERNAME, _EMAIL and _PASSWORD "
                f"is invalid: {error.detail}"
            ) from error
        if user is None:
            raise ConfigurationError(
                f"Cannot create the first admin {username!r}: its email address belongs to another account"
            )
        await staff.grant(session, user.id, "admin", actor_id=None)
    log.info("first_admin.created", user_id=str(user.id), username=username)
