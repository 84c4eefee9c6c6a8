"""Look-ups of accounts by id, email address and login name."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.identity.models import User
from shared.errors import NotFound


async def user_by_id(session: AsyncSession, user_id: uuid.UUID) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound(f"User {user_id} not found")
    return user


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    return (await session.execute(select(User).where(User.email == email))).scalar_one_or_none()


async def user_by_login(session: AsyncSession, login: str) -> User | None:
    """Find the account for a login name, which is a username or an email address."""
    login = login.strip().lower()
    column = User.email if "@" in login else User.username
    return (await session.execute(select(User).where(column == login))).scalar_one_or_none()
