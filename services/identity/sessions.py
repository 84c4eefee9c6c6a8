"""Login sessions: password sign-in, rotating refresh tokens with reuse detection, logout.

Each sign-in starts a family of refresh tokens. A refresh uses up the presented token and
returns its successor. A used token presented again means that it was copied, so the
whole family is revoked and both holders must sign in again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.identity import lockout
from services.identity.hashing import digest, new_secret
from services.identity.models import RefreshToken, User
from services.identity.runtime import now_of, passwords_of, runtime_of, settings_of, signer_of
from services.identity.users import user_by_login
from shared.errors import Forbidden, Unauthorized
from shared.events import emit

log = structlog.get_logger()

REFRESH_TOKEN_PREFIX = "wharf_rt_"


@dataclass(frozen=True)
class IssuedSession:
    access_token: str
    access_token_expires_at: datetime
    refresh_token: str
    refresh_token_expires_at: datetime
    user: User


async def login(session: AsyncSession, *, login_name: str, password: str, address: str | None) -> IssuedSession:
    """Check a password and start a session; failures count toward lockouts."""
    runtime = runtime_of(session)
    settings = settings_of(session)
    now = now_of(session)

    user = await user_by_login(session, login_name)
    subject = str(user.id) if user else "name:" + login_name.strip().lower()
    keys = [lockout.account_key(settings, subject)]
    if address:
        keys.append(lockout.address_key(settings, address))

    until = await lockout.locked_until(session, keys, now)
    if until is not None:
        raise lockout.lockout_error(until, now)

    # Unknown accounts still cost one hash verification, so response times do not reveal
    # whether an account exists.
    password_hash = user.password_hash if user else None
    passwords = passwords_of(session)
    if not await passwords.verify(password_hash, password):
        await lockout.record_failure(runtime.sessionmaker, settings, keys, now)
        log.info("login.failed", user_id=str(user.id) if user else None, client_address=address)
        raise Unauthorized("The username or password is wrong")

    if user.email_verified_at is None:
        raise Forbidden(
            f"The email address of {user.username!r} is not verified: follow the link sent to it, "
            "or request a new one with POST /email/verification-request"
        )

    await lockout.record_success(session, keys[0], now)
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = await passwords.hash(password)

    issued = await start_session(session, user, now)
    log.info("login.succeeded", user_id=str(user.id))
    return issued


async def start_session(session: AsyncSession, user: User, now: datetime) -> IssuedSession:
    return await _issue(session, user, family_id=uuid.uuid4(), now=now)


async def _issue(session: AsyncSession, user: User, *, family_id: uuid.UUID, now: datetime) -> IssuedSession:
    settings = settings_of(session)
    secret = new_secret(REFRESH_TOKEN_PREFIX)
    refresh = RefreshToken(
        id=uuid.uuid4(),
        family_id=family_id,
        user_id=user.id,
        token_hash=digest(secret),
        created_at=now,
        expires_at=now + timedelta(seconds=settings.refresh_token_ttl),
    )
    session.add(refresh)
    await session.flush()

    access = await signer_of(session).issue(session, user, now)
    return IssuedSession(
        access_token=access.token,
        access_token_expires_at=access.expires_at,
        refresh_token=secret,
        refresh_token_expires_at=refresh.expires_at,
        user=user,
    )


async def refresh(session: AsyncSession, token: str) -> IssuedSession:
    """Exchange a refresh token for a new access token and the next refresh token."""
    runtime = runtime_of(session)
    now = now_of(session)

    row = (
        await session.execute(select(RefreshToken).where(RefreshToken.token_hash == digest(token)))
    ).scalar_one_or_none()
    if row is None:
        raise Unauthorized("The refresh token is invalid: sign in again")
    if row.expires_at <= now:
        raise Unauthorized(f"The refresh token expired at {row.expires_at.isoformat()}: sign in again")
    if row.revoked_at is not None or await _family_revoked(session, row.family_id):
        raise Unauthorized("The refresh token was revoked: sign in again")

    # Claim the token with a conditional update, so two concurrent refreshes with the
    # same token cannot both succeed.
    claimed = (
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.id == row.id, RefreshToken.used_at.is_(None), RefreshToken.revoked_at.is_(None))
            .values(used_at=now)
            .returning(RefreshToken.id)
        )
    ).first()
    if claimed is None:
        # The revocation must outlive this request's rollback, so it commits on its own.
        # NOTE: a client that retries a refresh whose response it lost also lands here;
        # there is no grace period for that case.
        async with runtime.sessionmaker() as other, other.begin():
            await revoke_family(other, row.family_id, row.user_id, now)
        log.warning("refresh_token.reused", user_id=str(row.user_id), family_id=str(row.family_id))
        raise Unauthorized("The refresh token was already used, so this login is revoked: sign in again")

    user = await session.get(User, row.user_id)
    return await _issue(session, user, family_id=row.family_id, now=now)


async def _family_revoked(session: AsyncSession, family_id: uuid.UUID) -> bool:
    # A token added while its family was being revoked escapes that UPDATE; any revoked
    # sibling still marks the whole family as revoked.
    stmt = select(
        exists().where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_not(None))
    )
    return bool((await session.execute(stmt)).scalar())


async def revoke_family(session: AsyncSession, family_id: uuid.UUID, user_id: uuid.UUID, now: datetime) -> bool:
    """Revoke every token of a login; return whether anything was still active."""
    revoked = (
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
            .returning(RefreshToken.id)
        )
    ).all()
    if not revoked:
        return False
    await emit(
        session,
        "identity.token.revoked",
        subject=str(user_id),
        data={"user_id": user_id, "token_id": family_id, "kind": "refresh_family"},
    )
    log.info("refresh_family.revoked", user_id=str(user_id), family_id=str(family_id))
    return True


async def logout(session: AsyncSession, token: str) -> None:
    """Revoke the login of a refresh token; an unknown token is ignored, as after a first logout."""
    row = (
        await session.execute(select(RefreshToken).where(RefreshToken.token_hash == digest(token)))
    ).scalar_one_or_none()
    if row is not None:
        await revoke_family(session, row.family_id, row.user_id, now_of(session))


async def revoke_all_sessions(session: AsyncSession, user_id: uuid.UUID, now: datetime) -> None:
    families = (
        await session.execute(
            select(RefreshToken.family_id)
            .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None), RefreshToken.expires_at > now)
            .distinct()
        )
    ).scalars().all()
    for family_id in families:
        await revoke_family(session, family_id, user_id, now)
