"""ES256 signing keys: stored encrypted in the database, published as JWKS, rotated by admins.

One key signs at a time. Rotation retires it, and a retired key stays in the JWKS until
every access token it signed has expired, so rotation keeps every session valid.
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta
from typing import Any

import structlog
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt import PyJWK
from jwt.algorithms import ECAlgorithm
from sqlalchemy import or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.identity.models import SigningKey
from services.identity.settings import IdentitySettings
from shared.auth import JwksCache

log = structlog.get_logger()

# Serialises key creation across replicas that start at the same moment.
_KEY_CREATION_LOCK = 0x5748_4B45  # "WHKE"


class KeyDecryptionError(RuntimeError):
    pass


def _password(settings: IdentitySettings) -> bytes:
    return settings.key_encryption_secret.get_secret_value().encode()


def _generate(settings: IdentitySettings, now: datetime) -> SigningKey:
    private_key = ec.generate_private_key(ec.SECP256R1())
    kid = uuid.uuid4().hex
    public_jwk = ECAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    encrypted = private_key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.BestAvailableEncryption(_password(settings)),
    )
    return SigningKey(
        kid=kid,
        private_key=encrypted,
        public_jwk={**public_jwk, "kid": kid, "alg": "ES256", "use": "sig"},
        created_at=now,
    )


def load_private_key(key: SigningKey, settings: IdentitySettings) -> ec.EllipticCurvePrivateKey:
    try:
        private_key = serialization.load_pem_private_key(key.private_key, password=_password(settings))
    except (ValueError, TypeError) as exc:
        raise KeyDecryptionError(
            f"Signing key {key.kid} cannot be decrypted: WHARF_IDENTITY_KEY_ENCRYPTION_SECRET "
            "differs from the secret the key was stored with"
        ) from exc
    if not isinstance(private_key, ec.EllipticCurvePrivateKey):
        raise KeyDecryptionError(f"Signing key {key.kid} is not an elliptic-curve key")
    return private_key


async def active_key(session: AsyncSession) -> SigningKey | None:
    stmt = (
        select(SigningKey)
        .where(SigningKey.retired_at.is_(None))
        .order_by(SigningKey.created_at.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def ensure_active_key(session: AsyncSession, settings: IdentitySettings, now: datetime) -> SigningKey:
    """Return the signing key, creating the first one when the database has none."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": _KEY_CREATION_LOCK})
    key = await active_key(session)
    if key is not None:
        # Fail at start-up, not at the first login, when the secret does not match.
        load_private_key(key, settings)
        return key

    key = _generate(settings, now)
    session.add(key)
    await session.flush()
    log.info("signing_key.created", kid=key.kid)
    return key


async def rotate(session: AsyncSession, settings: IdentitySettings, now: datetime) -> tuple[SigningKey, list[str]]:
    """Retire the signing key(s) in use and create a new one; return it and the retired kids."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": _KEY_CREATION_LOCK})
    retired = (
        await session.execute(
            update(SigningKey)
            .where(SigningKey.retired_at.is_(None))
            .values(retired_at=now)
            .returning(SigningKey.kid)
        )
    ).scalars().all()

    key = _generate(settings, now)
    session.add(key)
    await session.flush()
    log.info("signing_key.rotated", kid=key.kid, retired=list(retired))
    return key, list(retired)


def retention(settings: IdentitySettings) -> timedelta:
    """Return how long a retired key stays published: one access-token lifetime plus a margin."""
    return timedelta(seconds=settings.access_token_ttl + settings.key_retention_margin)


async def jwks_document(session: AsyncSession, settings: IdentitySettings, now: datetime) -> dict[str, Any]:
    stmt = (
        select(SigningKey.public_jwk)
        .where(or_(SigningKey.retired_at.is_(None), SigningKey.retired_at > now - retention(settings)))
        # The signing key first, then retired keys from the most recent.
        .order_by(SigningKey.retired_at.desc().nulls_first(), SigningKey.created_at.desc())
    )
    keys = (await session.execute(stmt)).scalars().all()
    return {"keys": list(keys)}


class DatabaseJwksCache(JwksCache):
    """JWKS cache of the identity service itself, filled from its database instead of over HTTP.

    Identity verifies its own access tokens with the shared dependency that every service
    uses. Reading its own table avoids a call through the gateway back to itself.
    """

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: IdentitySettings,
        clock,
        *,
        min_refresh_seconds: float = 1.0,
    ) -> None:
        super().__init__("database:signing_keys", min_refresh_seconds=min_refresh_seconds)
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.clock = clock

    async def reload(self) -> None:
        async with self.sessionmaker() as session:
            document = await jwks_document(session, self.settings, self.clock.now())
        self.set_keys(document)

    async def _refresh(self) -> None:
        self._fetched_at = time.monotonic()
        await self.reload()

    def add_key(self, public_jwk: dict[str, Any]) -> None:
        """Trust a key created by this replica at once, without waiting for a reload."""
        self._keys = {**self._keys, public_jwk["kid"]: PyJWK(public_jwk, algorithm="ES256")}
