"""The running service's clock and settings, reached from a session."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.moderation.settings import ModerationSettings


def now(session: AsyncSession) -> datetime:
    """Return the current time from the service's injectable clock."""
    return session.info["runtime"].clock.now()


def settings(session: AsyncSession) -> ModerationSettings:
    return session.info["runtime"].settings
