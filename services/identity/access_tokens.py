"""Access tokens: short-lived ES256 JWTs whose claims carry staff roles and memberships."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.identity.models import Membership, Organisation, StaffRole, User
from services.identity.settings import IdentitySettings
from services.identity.signing_keys import active_key, load_private_key
from shared.auth import AUDIENCE, ISSUER


@dataclass(frozen=True)
class IssuedAccessToken:
    token: str
    expires_at: datetime
    kid: str


async def staff_roles_of(session: AsyncSession, user_id: uuid.UUID) -> list[str]:
    stmt = select(StaffRole.role).where(StaffRole.user_id == user_id).order_by(StaffRole.role)
    return list((await session.execute(stmt)).scalars().all())


async def memberships_of(session: AsyncSession, user_id: uuid.UUID) -> list[tuple[Organisation, str]]:
    """Return the user's organisations with the user's role in each, by namespace."""
    stmt = (
        select(Organisation, Membership.role)
        .join(Membership, Membership.organisation_id == Organisation.id)
        .where(Membership.user_id == user_id)
        .order_by(Organisation.namespace)
    )
    return [(organisation, role) for organisation, role in (await session.execute(stmt)).all()]


class AccessTokenSigner:
    """Signs access tokens with the current signing key, read from the database per token.

    Reading the key per token lets every replica switch to a new key as soon as one of
    them rotates; decrypted keys are cached by `kid` because decryption is slow.
    """

    def __init__(self, settings: IdentitySettings) -> None:
        self.settings = settings
        self._private_keys: dict[str, ec.EllipticCurvePrivateKey] = {}

    async def issue(self, session: AsyncSession, user: User, now: datetime) -> IssuedAccessToken:
        key = await active_key(session)
        if key is None:
            raise RuntimeError("No signing key exists; the start-up hook creates one")
        private_key = self._private_keys.get(key.kid)
        if private_key is None:
            private_key = load_private_key(key, self.settings)
            self._private_keys[key.kid] = private_key

        expires_at = now + timedelta(seconds=self.settings.access_token_ttl)
        claims = await self.claims(session, user, now, expires_at)
        token = jwt.encode(claims, private_key, algorithm="ES256", headers={"kid": key.kid})
        return IssuedAccessToken(token=token, expires_at=expires_at, kid=key.kid)

    async def claims(
        self, session: AsyncSession, user: User, now: datetime, expires_at: datetime
    ) -> dict[str, Any]:
        memberships = await memberships_of(session, user.id)
        return {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": str(user.id),
            "typ": "access",
            "username": user.username,
            "staff": await staff_roles_of(session, user.id),
            "orgs": [
                {"id": str(organisation.id), "ns": organisation.namespace, "role": role}
                for organisation, role in memberships
            ],
            "iat": int(now.timestamp()),
            "exp": int(expires_at.timestamp()),
            "jti": uuid.uuid4().hex,
        }
