"""Routes for staff roles, managed by admins."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Query
from sqlalchemy import select

from services.identity import staff
from services.identity.access_tokens import staff_roles_of
from services.identity.models import StaffRole, User
from services.identity.schemas import StaffRoleGrant, StaffRoleName, StaffRolesOut, UserNameOut
from services.identity.users import user_by_id, user_by_login
from shared.auth import CurrentPrincipal
from shared.db import SessionDep
from shared.errors import Forbidden, NotFound, problem_responses
from shared.pagination import Page, check_limit, finish_page, paginate

router = APIRouter(tags=["staff"])


async def roles_out(session, user: User) -> StaffRolesOut:
    return StaffRolesOut(user_id=user.id, username=user.username, roles=await staff_roles_of(session, user.id))


@router.get(
    "/staff",
    operation_id="identity_list_staff",
    summary="Users who hold a staff role, by username, with their roles (admins only)",
    responses=problem_responses(400, 401, 403),
)
async def list_staff(
    principal: CurrentPrincipal, session: SessionDep, cursor: str | None = None, limit: int | None = None
) -> Page[StaffRolesOut]:
    await staff.require_admin(session, principal.user_id)
    limit = check_limit(limit)
    stmt = paginate(
        select(User).where(User.id.in_(select(StaffRole.user_id))),
        columns=[User.username, User.id],
        cursor=cursor,
        limit=limit,
        descending=False,
    )
    users, next_cursor = finish_page(
        list((await session.execute(stmt)).scalars()), limit=limit, key=lambda user: (user.username, user.id)
    )

    roles: dict[uuid.UUID, list[str]] = {user.id: [] for user in users}
    granted = await session.execute(
        select(StaffRole.user_id, StaffRole.role).where(StaffRole.user_id.in_(list(roles))).order_by(StaffRole.role)
    )
    for user_id, role in granted.all():
        roles[user_id].append(role)
    items = [StaffRolesOut(user_id=user.id, username=user.username, roles=roles[user.id]) for user in users]
    return Page(items=items, next_cursor=next_cursor)


# Ids per request of GET /staff/users: enough for a page of audit entries or review cases.
MAX_USER_IDS = 200


@router.get(
    "/staff/users",
    operation_id="identity_name_users",
    summary="Usernames and display names of accounts by id, for staff pages (any staff role)",
    responses=problem_responses(401, 403, 422),
)
async def name_users(
    principal: CurrentPrincipal,
    session: SessionDep,
    id: list[uuid.UUID] = Query(
        min_length=1, max_length=MAX_USER_IDS, description=f"Account ids, 1 to {MAX_USER_IDS}; unknown ids are left out"
    ),
) -> list[UserNameOut]:
    # The roles are read now, so a withdrawn role ends this access before the token expires.
    if not await staff_roles_of(session, principal.user_id):
        raise Forbidden("Naming accounts needs a staff role")
    users = (await session.execute(select(User).where(User.id.in_(set(id))).order_by(User.username))).scalars()
    return [UserNameOut(user_id=user.id, username=user.username, display_name=user.display_name) for user in users]


@router.get(
    "/staff/lookup",
    operation_id="identity_find_staff_candidate",
    summary="Find an account by username or email address, with its staff roles (admins only)",
    responses=problem_responses(401, 403, 404, 422),
)
async def find_staff_candidate(
    principal: CurrentPrincipal,
    session: SessionDep,
    login: str = Query(min_length=1, max_length=320, description="A username or an email address"),
) -> StaffRolesOut:
    await staff.require_admin(session, principal.user_id)
    user = await user_by_login(session, login)
    if user is None:
        raise NotFound(f"No account has the username or email address {login!r}", field="login")
    return await roles_out(session, user)


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
