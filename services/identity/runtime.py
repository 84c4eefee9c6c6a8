"""Access to the running service from a database session: settings, clock, signer."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from services.identity.settings import IdentitySettings

if TYPE_CHECKING:
    from services.identity.access_tokens import AccessTokenSigner
    from services.identity.hashing import PasswordHashing
    from shared.service import Runtime


def runtime_of(session: AsyncSession) -> Runtime:
    return session.info["runtime"]


def settings_of(session: AsyncSession) -> IdentitySettings:
    return runtime_of(session).settings


def now_of(session: AsyncSession) -> datetime:
    return runtime_of(session).clock.now()


def signer_of(session: AsyncSession) -> AccessTokenSigner:
    return runtime_of(session).state["signer"]


def passwords_of(session: AsyncSession) -> PasswordHashing:
    return runtime_of(session).state["passwords"]
