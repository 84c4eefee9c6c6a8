"""Read model of organisations: their namespaces, from identity's events and from tokens."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.models import Organisation
from shared.auth import Principal
from shared.errors import NotFound


async def record_organisation(
    session: AsyncSession, *, organisation_id: uuid.UUID, namespace: str, display_name: str | None
) -> None:
    """Insert or refresh an organisation; a name already known is kept when none is given."""
    now = session.info["runtime"].clock.now()
    values = {"id": organisation_id, "namespace": namespace, "display_name": display_name or namespace, "updated_at": now}
    statement = insert(Organisation).values(**values)
    updates = {"namespace": statement.excluded.namespace, "updated_at": now}
    if display_name:
        updates["display_name"] = statement.excluded.display_name
    await session.execute(statement.on_conflict_do_update(index_elements=["id"], set_=updates))


async def namespace_of(session: AsyncSession, organisation_id: uuid.UUID, principal: Principal | None) -> str:
    """Return the organisation's namespace, from the caller's token or the read model.

    A namespace seen in a token is recorded, so the read model also contains organisations
    whose creation event the catalog has not handled yet.
    """
    membership = principal.memberships.get(organisation_id) if principal else None
    if membership is not None:
        await record_organisation(
            session, organisation_id=organisation_id, namespace=membership.namespace, display_name=None
        )
        return membership.namespace

    namespace = (
        await session.execute(select(Organisation.namespace).where(Organisation.id == organisation_id))
    ).scalar_one_or_none()
    if namespace is None:
        raise NotFound(f"Organisation {organisation_id} not found")
    return namespace


async def display_name_of(session: AsyncSession, organisation_id: uuid.UUID) -> str | None:
    return (
        await session.execute(select(Organisation.display_name).where(Organisation.id == organisation_id))
    ).scalar_one_or_none()
