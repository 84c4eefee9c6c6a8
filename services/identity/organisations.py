"""Publisher organisations and their members.

Identity owns memberships, so it decides from its own tables, not from the claims of an
access token that may be up to one token lifetime old.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import structlog
from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.identity import names
from services.identity.models import Membership, Organisation, User
from services.identity.runtime import now_of
from shared.auth import OrgRole, Principal
from shared.errors import Conflict, Forbidden, NotFound
from shared.events import emit

log = structlog.get_logger()


async def create_organisation(
    session: AsyncSession, principal: Principal, *, namespace: str, display_name: str
) -> Organisation:
    namespace = names.check_namespace(namespace)
    display_name = names.check_display_name(display_name)
    now = now_of(session)
    taken = (await session.execute(select(Organisation.id).where(Organisation.namespace == namespace))).first()
    if taken:
        raise Conflict(f"The namespace {namespace!r} is taken: choose another", field="namespace")

    organisation = Organisation(
        id=uuid.uuid4(),
        namespace=namespace,
        display_name=display_name,
        created_at=now,
        created_by=principal.user_id,
    )
    try:
        async with session.begin_nested():
            session.add(organisation)
            await session.flush()
    except IntegrityError as exc:
        # Another request took the namespace between the check and the insert.
        raise Conflict(f"The namespace {namespace!r} is taken: choose another", field="namespace") from exc
    session.add(
        Membership(organisation_id=organisation.id, user_id=principal.user_id, role="owner", created_at=now, updated_at=now)
    )
    await session.flush()

    await emit(
        session,
        "identity.organisation.created",
        subject=str(organisation.id),
        data={
            "organisation_id": organisation.id,
            "namespace": namespace,
            "display_name": organisation.display_name,
            "owner_id": principal.user_id,
        },
    )
    await _emit_membership(session, organisation, principal.user_id, "owner", actor_id=principal.user_id)
    log.info("organisation.created", organisation_id=str(organisation.id), namespace=namespace)
    return organisation


async def role_of(session: AsyncSession, organisation_id: uuid.UUID, user_id: uuid.UUID) -> OrgRole | None:
    stmt = select(Membership.role).where(
        Membership.organisation_id == organisation_id, Membership.user_id == user_id
    )
    role = (await session.execute(stmt)).scalar_one_or_none()
    return OrgRole.parse(role) if role else None


async def authorise(
    session: AsyncSession,
    principal: Principal,
    organisation_id: uuid.UUID,
    minimum: OrgRole,
    *,
    staff_may_read: bool = True,
) -> tuple[Organisation, OrgRole | None]:
    """Return the organisation and the caller's role, or raise.

    Non-members get 404, so they cannot tell whether the organisation exists; members
    below `minimum` get 403. Staff may read any organisation, but change none.
    """
    organisation = await session.get(Organisation, organisation_id)
    role = await role_of(session, organisation_id, principal.user_id) if organisation else None
    staff_reader = staff_may_read and principal.is_staff and minimum == OrgRole.VIEWER
    if organisation is None or (role is None and not staff_reader):
        raise NotFound(f"Organisation {organisation_id} not found")
    if role is not None and role < minimum and not staff_reader:
        raise Forbidden(
            f"Your role in organisation {organisation_id} is {role.name.lower()}; "
            f"this action needs {minimum.name.lower()} or higher"
        )
    return organisation, role


def organisations_of(user_id: uuid.UUID) -> Select:
    """Select the user's organisations with the user's role, for paging by creation time."""
    return (
        select(Organisation, Membership.role)
        .join(Membership, Membership.organisation_id == Organisation.id)
        .where(Membership.user_id == user_id)
    )


def members_of(organisation_id: uuid.UUID) -> Select:
    """Select an organisation's members with their names, for paging."""
    return (
        select(Membership, User.username, User.display_name)
        .join(User, User.id == Membership.user_id)
        .where(Membership.organisation_id == organisation_id)
    )


async def _owner_count(session: AsyncSession, organisation_id: uuid.UUID) -> int:
    # Lock the owner rows so that two concurrent demotions cannot both pass the check.
    rows = (
        await session.execute(
            select(Membership.user_id)
            .where(Membership.organisation_id == organisation_id, Membership.role == "owner")
            .with_for_update()
        )
    ).all()
    return len(rows)


async def _membership(session: AsyncSession, organisation_id: uuid.UUID, user_id: uuid.UUID) -> Membership:
    membership = await session.get(Membership, (organisation_id, user_id), with_for_update=True)
    if membership is None:
        raise NotFound(f"User {user_id} is not a member of organisation {organisation_id}")
    return membership


async def _last_owner(session: AsyncSession, organisation: Organisation, user_id: uuid.UUID) -> Conflict:
    user = await session.get(User, user_id)
    who = user.username if user is not None else str(user_id)
    return Conflict(
        f"{who} is the last owner of {organisation.namespace}: make another member owner first",
        user_id=str(user_id),
        organisation_id=str(organisation.id),
    )


async def change_role(
    session: AsyncSession, principal: Principal, organisation_id: uuid.UUID, user_id: uuid.UUID, role: str
) -> Membership:
    organisation, _ = await authorise(session, principal, organisation_id, OrgRole.OWNER)
    membership = await _membership(session, organisation_id, user_id)
    if membership.role == role:
        return membership

    if membership.role == "owner" and await _owner_count(session, organisation_id) <= 1:
        raise await _last_owner(session, organisation, user_id)
    membership.role = role
    membership.updated_at = now_of(session)
    await session.flush()
    await _emit_membership(session, organisation, user_id, role, actor_id=principal.user_id)
    log.info("membership.role_changed", organisation_id=str(organisation_id), user_id=str(user_id), role=role)
    return membership


async def remove_member(
    session: AsyncSession, principal: Principal, organisation_id: uuid.UUID, user_id: uuid.UUID
) -> None:
    """Remove a member: owners remove anyone, and every member may leave."""
    leaving = user_id == principal.user_id
    organisation, _ = await authorise(
        session, principal, organisation_id, OrgRole.VIEWER if leaving else OrgRole.OWNER, staff_may_read=False
    )
    membership = await _membership(session, organisation_id, user_id)
    if membership.role == "owner" and await _owner_count(session, organisation_id) <= 1:
        raise await _last_owner(session, organisation, user_id)

    await session.delete(membership)
    await session.flush()
    await _emit_membership(session, organisation, user_id, None, actor_id=principal.user_id)
    log.info("membership.removed", organisation_id=str(organisation_id), user_id=str(user_id))


async def add_member(
    session: AsyncSession, organisation: Organisation, user_id: uuid.UUID, role: str, *, actor_id: uuid.UUID, now: datetime
) -> Membership:
    existing = await session.get(Membership, (organisation.id, user_id))
    if existing is not None:
        raise Conflict(f"User {user_id} is already a member of organisation {organisation.id} as {existing.role}")
    membership = Membership(organisation_id=organisation.id, user_id=user_id, role=role, created_at=now, updated_at=now)
    session.add(membership)
    await session.flush()
    await _emit_membership(session, organisation, user_id, role, actor_id=actor_id)
    log.info("membership.added", organisation_id=str(organisation.id), user_id=str(user_id), role=role)
    return membership


async def _emit_membership(
    session: AsyncSession, organisation: Organisation, user_id: uuid.UUID, role: str | None, *, actor_id: uuid.UUID
) -> None:
    await emit(
        session,
        "identity.membership.changed",
        subject=str(organisation.id),
        data={
            "organisation_id": organisation.id,
            "namespace": organisation.namespace,
            "user_id": user_id,
            "role": role,
            "actor_id": actor_id,
        },
    )

