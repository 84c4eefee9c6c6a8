"""Store staff roles (reviewer, security, admin), granted and withdrawn by admins."""

from __future__ import annotations

import uuid

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.identity.access_tokens import staff_roles_of
from services.identity.models import StaffRole, User
from services.identity.runtime import now_of
from services.identity.users import user_by_id
from shared.errors import Conflict, Forbidden, NotFound
from shared.events import emit

log = structlog.get_logger()


async def grant(session: AsyncSession, user_id: uuid.UUID, role: str, *, actor_id: uuid.UUID | None) -> User:
    """Grant `role` to the user. Granting a role the user already has changes nothing."""
    user = await user_by_id(session, user_id)
    if await session.get(StaffRole, (user_id, role)) is not None:
        return user

    session.add(StaffRole(user_id=user_id, role=role, granted_at=now_of(session), granted_by=actor_id))
    await session.flush()
    await emit(
        session,
        "identity.staff_role.granted",
        subject=str(user_id),
        data={"user_id": user_id, "role": role, "actor_id": actor_id},
    )
    log.info("staff_role.granted", user_id=str(user_id), role=role, actor_id=str(actor_id))
    return user


async def withdraw(session: AsyncSession, user_id: uuid.UUID, role: str, *, actor_id: uuid.UUID) -> User:
    user = await user_by_id(session, user_id)
    held = await session.get(StaffRole, (user_id, role), with_for_update=True)
    if held is None:
        raise NotFound(f"User {user_id} does not hold the staff role {role!r}")

    if role == "admin":
        admins = (
            await session.execute(select(StaffRole.user_id).where(StaffRole.role == "admin").with_for_update())
        ).all()
        if len(admins) <= 1:
            raise Conflict(f"User {user_id} is the last admin: grant admin to someone else first")

    await session.delete(held)
    await session.flush()
    await emit(
        session,
        "identity.staff_role.withdrawn",
        subject=str(user_id),
        data={"user_id": user_id, "role": role, "actor_id": actor_id},
    )
    log.info("staff_role.withdrawn", user_id=str(user_id), role=role, actor_id=str(actor_id))
    return user



async def require_admin(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Raise Forbidden unless the user is an admin now, whatever an older token claims."""
    if "admin" not in await staff_roles_of(session, user_id):
        raise Forbidden("This action needs the staff role admin")
