"""Accounts: sign-up, email verification, password reset and profile changes."""

from __future__ import annotations

import hmac
import uuid
from datetime import datetime, timedelta

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.identity import links, names
from services.identity.models import User
from services.identity.runtime import now_of, passwords_of, settings_of
from services.identity.sessions import revoke_all_sessions
from services.identity.users import user_by_email, user_by_id
from shared.errors import Conflict, Forbidden, InvalidValue
from shared.events import emit

log = structlog.get_logger()


async def create_user(
    session: AsyncSession,
    *,
    email: str,
    username: str,
    password: str,
    display_name: str,
    verified: bool = False,
) -> User | None:
    """Create an account and request its email verification.

    Returns None, and creates nothing, when the email address already has an account.
    The route then returns the same response as for a new account, so sign-up does not
    reveal which addresses are registered. The owner of that address gets a password-reset link instead.
    """
    username = names.check_username(username)
    email = names.normalise_email(email)
    names.check_password(password, username=username, email=email)
    display_name = names.check_display_name(display_name)
    now = now_of(session)

    if (await session.execute(select(User.id).where(User.username == username))).first():
        raise Conflict(f"The username {username!r} is taken: choose another", field="username")

    existing = await user_by_email(session, email)
    if existing is not None:
        await request_password_reset_for(session, existing, reason="sign_up_attempt")
        log.info("user.sign_up.existing_email", user_id=str(existing.id))
        return None

    user = User(
        id=uuid.uuid4(),
        username=username,
        email=email,
        display_name=display_name,
        password_hash=await passwords_of(session).hash(password),
        email_verified_at=now if verified else None,
        created_at=now,
        password_changed_at=now,
    )
    session.add(user)
    await session.flush()

    await emit(
        session,
        "identity.user.registered",
        subject=str(user.id),
        data={"user_id": user.id, "username": username, "email": email, "display_name": user.display_name},
    )
    if not verified:
        await request_verification(session, user, email)
    log.info("user.registered", user_id=str(user.id), username=username)
    return user


async def request_verification(session: AsyncSession, user: User, email: str) -> None:
    """Emit a signed link that proves control of `email` (the account's or a pending one)."""
    settings = settings_of(session)
    expires_at = now_of(session) + timedelta(seconds=settings.verification_link_ttl)
    token = links.sign(settings, links.EMAIL_VERIFICATION, user.id, links.stamp_of(email), expires_at)
    await emit(
        session,
        "identity.user.verification_requested",
        subject=str(user.id),
        data={
            "user_id": user.id,
            "email": email,
            "link": links.public_url(settings, "/email/verify", token=token),
            "expires_at": expires_at,
        },
    )


async def resend_verification(session: AsyncSession, email: str) -> None:
    """Send a new verification link if an unverified account or pending change has `email`."""
    email = names.normalise_email(email)
    user = await user_by_email(session, email)
    if user is not None and user.email_verified_at is None:
        await request_verification(session, user, email)
        return
    pending = (await session.execute(select(User).where(User.pending_email == email))).scalars().first()
    if pending is not None:
        await request_verification(session, pending, email)


async def verify_email(session: AsyncSession, token: str) -> User:
    settings = settings_of(session)
    now = now_of(session)
    claims = links.verify(settings, token, links.EMAIL_VERIFICATION, now)
    user = await session.get(User, claims.user_id, with_for_update=True)
    if user is None:
        raise InvalidValue("The link token is invalid: request a new link")

    if user.pending_email and hmac.compare_digest(claims.stamp, links.stamp_of(user.pending_email)):
        if await user_by_email(session, user.pending_email) is not None:
            raise Conflict(f"The email address {user.pending_email!r} now belongs to another account")
        log.info("user.email.changed", user_id=str(user.id))
        user.email = user.pending_email
        user.pending_email = None
        user.email_verified_at = now
    elif hmac.compare_digest(claims.stamp, links.stamp_of(user.email)):
        # A second click on the same link is harmless, and keeps the first time.
        user.email_verified_at = user.email_verified_at or now
    else:
        raise InvalidValue("The link is for an email address this account no longer uses: request a new link")

    await session.flush()
    log.info("user.email.verified", user_id=str(user.id))
    return user


async def request_password_reset(session: AsyncSession, email: str) -> None:
    """Emit a reset link if an account has `email`; do nothing otherwise, without a sign."""
    try:
        email = names.normalise_email(email)
    except InvalidValue:
        return
    user = await user_by_email(session, email)
    if user is not None:
        await request_password_reset_for(session, user, reason="requested")


async def request_password_reset_for(session: AsyncSession, user: User, *, reason: str) -> None:
    settings = settings_of(session)
    expires_at = now_of(session) + timedelta(seconds=settings.password_reset_link_ttl)
    token = links.sign(settings, links.PASSWORD_RESET, user.id, links.stamp_of(user.password_hash), expires_at)
    await emit(
        session,
        "identity.user.password_reset_requested",
        subject=str(user.id),
        data={
            "user_id": user.id,
            "email": user.email,
            "link": links.public_url(settings, "/password/reset", token=token),
            "expires_at": expires_at,
            "reason": reason,
        },
    )


async def reset_password(session: AsyncSession, token: str, password: str) -> User:
    """Set a new password from a reset link and sign the account out everywhere."""
    now = now_of(session)
    claims = links.verify(settings_of(session), token, links.PASSWORD_RESET, now)
    user = await session.get(User, claims.user_id, with_for_update=True)
    if user is None or not hmac.compare_digest(claims.stamp, links.stamp_of(user.password_hash)):
        raise InvalidValue("The link token was already used or is invalid: request a new link")

    await _set_password(session, user, password, now)
    # Following the link proved control of the address.
    user.email_verified_at = user.email_verified_at or now
    await session.flush()
    log.info("user.password.reset", user_id=str(user.id))
    return user


async def change_password(session: AsyncSession, user_id: uuid.UUID, current: str, new: str) -> None:
    user = await user_by_id(session, user_id)
    if not await passwords_of(session).verify(user.password_hash, current):
        raise Forbidden("The current password is wrong", field="current_password")
    await _set_password(session, user, new, now_of(session))
    log.info("user.password.changed", user_id=str(user.id))


async def _set_password(session: AsyncSession, user: User, password: str, now: datetime) -> None:
    names.check_password(password, username=user.username, email=user.email)
    user.password_hash = await passwords_of(session).hash(password)
    user.password_changed_at = now
    await revoke_all_sessions(session, user.id, now)


async def update_profile(
    session: AsyncSession,
    user_id: uuid.UUID,
    *,
    display_name: str | None,
    email: str | None,
    current_password: str | None,
) -> User:
    user = await user_by_id(session, user_id)
    if display_name is not None:
        user.display_name = names.check_display_name(display_name)

    if email is not None:
        email = names.normalise_email(email)
        if email != user.email:
            await _request_email_change(session, user, email, current_password)
    await session.flush()
    return user


async def _request_email_change(session: AsyncSession, user: User, email: str, current_password: str | None) -> None:
    if current_password is None:
        raise InvalidValue("Changing the email address needs current_password", field="current_password")
    if not await passwords_of(session).verify(user.password_hash, current_password):
        raise Forbidden("The current password is wrong", field="current_password")

    # The address stays pending until its owner follows the link. An address that
    # belongs to another account gets no link, but the response is the same as for a
    # free one, so this does not reveal registered addresses.
    user.pending_email = email
    if await user_by_email(session, email) is None:
        await request_verification(session, user, email)
    log.info("user.email.change_requested", user_id=str(user.id))
