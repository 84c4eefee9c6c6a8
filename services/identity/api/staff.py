"""Routes for staff roles, managed by admins."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from services.identity import staff
from services.identity.access_tokens import staff_roles_of
from services.identity.models import User
from services.identity.schemas import StaffRoleGrant, StaffRoleName, StaffRolesOut
from services.identity.users import user_by_id
from shared.auth import CurrentPrincipal
from shared.db import SessionDep
from shared.errors import problem_responses

router = APIRouter(tags=["staff"])


async def roles_out(session, user: User) -> StaffRolesOut:
    return StaffRolesOut(user_id=user.id, username=user.username, roles=await staff_roles_of(session, user.id))


@router.get(
    "/staff/{user_id}/roles",
    operation_id="identity_get_staff_roles",
    summary="A user's staff roles (admins only)",
    responses=problem_responses(401, 403, 404),
)
async def get_staff_roles(user_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep) -> StaffRolesOut:
    await staff.require_admin(session, principal.user_id)
    return await roles_out(session, await user_by_id(session, user_id))


@router.post(
    "/staff/{user_id}/roles",
    operation_id="identity_grant_staff_role",
    summary="Grant a staff role (admins only); granting a held role changes nothing",
    responses=problem_responses(401, 403, 404),
)
async def grant_staff_role(
    user_id: uuid.UUID, body: StaffRoleGrant, principal: CurrentPrincipal, session: SessionDep
) -> StaffRolesOut:
    await staff.require_admin(session, principal.user_id)
    user = await staff.grant(session, user_id, body.role, actor_id=principal.user_id)
    return await roles_out(session, user)


@router.delete(
    "/staff/{user_id}/roles/{role}",
    operation_id="identity_withdraw_staff_role",
    summary="Withdraw a staff role (admins only); the last admin cannot lose admin",
    responses=problem_responses(401, 403, 404, 409),
)
async def withdraw_staff_role(
    user_id: uuid.UUID, role: StaffRoleName, principal: CurrentPrincipal, session: SessionDep
) -> StaffRolesOut:
    await staff.require_admin(session, principal.user_id)
    user = await staff.withdraw(session, user_id, role, actor_id=principal.user_id)
    return await roles_out(session, user)
