"""Failed-login counting and growing lockouts, per account and per client address.

The counters live in the database so that every replica sees the same state, and they
are written in their own transaction: a failed login ends in an error response, which
rolls back the request's transaction, but its failure must still count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from fastapi import Request
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.identity.models import LoginThrottle
from services.identity.settings import IdentitySettings
from shared.errors import ProblemError

log = structlog.get_logger()


@dataclass(frozen=True)
class ThrottleKey:
    key: str
    max_failures: int


def account_key(settings: IdentitySettings, subject: str) -> ThrottleKey:
    """Key of an account: its user id, or the login name given when no account matches.

    Unknown names are counted and locked like real accounts, so a lockout reveals nothing
    about whether an account exists.
    """
    return ThrottleKey(f"account:{subject}"[:400], settings.account_max_failures)


def address_key(settings: IdentitySettings, address: str) -> ThrottleKey:
    return ThrottleKey(f"address:{address}"[:400], settings.address_max_failures)


def client_address(request: Request, settings: IdentitySettings) -> str | None:
    """Return the caller's address: the last entry of the configured proxy header, or the peer."""
    if settings.client_address_header:
        # The gateway appends its own header after any the client sent, so the last entry
        # of the last header is the one to trust. Earlier entries may be forged.
        forwarded = ",".join(request.headers.getlist(settings.client_address_header))
        entries = [entry.strip() for entry in forwarded.split(",") if entry.strip()]
        if entries:
            return entries[-1]
    return request.client.host if request.client else None


class LockedOut(ProblemError):
    status = 429
    type = "login-locked"
    title = "Too many failed sign-in attempts"


async def locked_until(session: AsyncSession, keys: list[ThrottleKey], now: datetime) -> datetime | None:
    """Return the latest lockout end among `keys` that is still in the future."""
    stmt = select(LoginThrottle.locked_until).where(
        LoginThrottle.key.in_([k.key for k in keys]), LoginThrottle.locked_until > now
    )
    ends = (await session.execute(stmt)).scalars().all()
    return max(ends, default=None)


def lockout_error(
    until: datetime, now: datetime, *, error_class: type[ProblemError] = LockedOut
) -> ProblemError:
    seconds = max(1, math.ceil((until - now).total_seconds()))
    return error_class(
        f"Too many failed sign-in attempts: try again in {seconds} seconds",
        headers={"Retry-After": str(seconds)},
        retry_after=seconds,
    )


async def record_failure(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: IdentitySettings,
    keys: list[ThrottleKey],
    now: datetime,
) -> datetime | None:
    """Count one failed attempt against each key, in a transaction of its own.

    Returns the end of a lockout that this failure started, if any.
    """
    started: datetime | None = None
    async with sessionmaker() as session, session.begin():
        for key in keys:
            until = await _count_failure(session, settings, key, now)
            if until is not None:
                started = max(started, until) if started else until
    return started


async def _count_failure(
    session: AsyncSession, settings: IdentitySettings, key: ThrottleKey, now: datetime
) -> datetime | None:
    await session.execute(
        insert(LoginThrottle).values(key=key.key, failures=0, lockouts=0, updated_at=now).on_conflict_do_nothing()
    )
    row = (
        await session.execute(select(LoginThrottle).where(LoginThrottle.key == key.key).with_for_update())
    ).scalar_one()

    # A long quiet period forgives earlier lockouts.
    if row.last_failure_at and row.last_failure_at < now - timedelta(seconds=settings.lockout_reset_after):
        row.lockouts = 0

    # Failures count within a window that starts at the first one, or anew after a lockout.
    window_over = row.first_failure_at is None or row.first_failure_at < now - timedelta(
        seconds=settings.failure_window
    )
    if window_over:
        row.failures = 0
        row.first_failure_at = now

    row.failures += 1
    row.last_failure_at = now
    row.updated_at = now
    if row.failures < key.max_failures:
        return None

    row.lockouts += 1
    seconds = min(settings.lockout_base * 2 ** (row.lockouts - 1), settings.lockout_max)
    row.locked_until = now + timedelta(seconds=seconds)
    row.failures = 0
    row.first_failure_at = None
    log.warning("login.locked", throttle_key=key.key, lockouts=row.lockouts, seconds=seconds)
    return row.locked_until


async def record_success(session: AsyncSession, account: ThrottleKey, now: datetime) -> None:
    """Clear the account's failure count after a correct password.

    The address counter is left alone: otherwise an attacker could reset it by signing in
    to an account of their own between guesses.
    """
    await session.execute(
        update(LoginThrottle)
        .where(LoginThrottle.key == account.key)
        .values(failures=0, first_failure_at=None, lockouts=0, updated_at=now)
    )
