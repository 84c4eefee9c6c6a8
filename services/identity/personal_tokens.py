"""Personal access tokens: passwords for `docker login` with a scope, shown once, stored hashed."""

from __future__ import annotations

import uuid
from datetime import datetime

import structlog
from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.identity.hashing import digest, new_secret
from services.identity.models import PersonalAccessToken
from services.identity.runtime import now_of
from shared.errors import InvalidValue, NotFound
from shared.events import emit

log = structlog.get_logger()

# Like Docker Hub's "dckr_pat_": the prefix tells secret scanners and people what it is.
TOKEN_PREFIX = "wharf_pat_"
SHOWN_PREFIX_LENGTH = len(TOKEN_PREFIX) + 6


async def create(
    session: AsyncSession, user_id: uuid.UUID, *, name: str, scope: str, expires_at: datetime | None
) -> tuple[PersonalAccessToken, str]:
    now = now_of(session)
    if expires_at is not None and expires_at <= now:
        raise InvalidValue(f"Invalid expires_at {expires_at.isoformat()}: it must be in the future", field="expires_at")

    secret = new_secret(TOKEN_PREFIX)
    token = PersonalAccessToken(
        id=uuid.uuid4(),
        user_id=user_id,
        name=name.strip(),
        scope=scope,
        token_prefix=secret[:SHOWN_PREFIX_LENGTH],
        token_hash=digest(secret),
        created_at=now,
        expires_at=expires_at,
    )
    session.add(token)
    await session.flush()
    log.info("personal_access_token.created", user_id=str(user_id), token_id=str(token.id), scope=scope)
    return token, secret


def active_tokens_of(user_id: uuid.UUID) -> Select:
    return select(PersonalAccessToken).where(
        PersonalAccessToken.user_id == user_id, PersonalAccessToken.revoked_at.is_(None)
    )


async def revoke(session: AsyncSession, user_id: uuid.UUID, token_id: uuid.UUID) -> None:
    revoked = (
        await session.execute(
            update(PersonalAccessToken)
            .where(
                PersonalAccessToken.id == token_id,
                PersonalAccessToken.user_id == user_id,
                PersonalAccessToken.revoked_at.is_(None),
            )
            .values(revoked_at=now_of(session))
            .returning(PersonalAccessToken.id)
        )
    ).first()
    if revoked is None:
        # Another user's token is as unknown as a missing one.
        raise NotFound(f"Personal access token {token_id} not found")
    await emit(
        session,
        "identity.token.revoked",
        subject=str(user_id),
        data={"user_id": user_id, "token_id": token_id, "kind": "personal_access_token"},
    )
    log.info("personal_access_token.revoked", user_id=str(user_id), token_id=str(token_id))


async def find_usable(session: AsyncSession, secret: str, user_id: uuid.UUID, now: datetime) -> PersonalAccessToken | None:
    """Return the user's token with this secret if it is neither revoked nor expired."""
    token = (
        await session.execute(select(PersonalAccessToken).where(PersonalAccessToken.token_hash == digest(secret)))
    ).scalar_one_or_none()
    if token is None or token.user_id != user_id or token.revoked_at is not None:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    return token
