"""Local copies of other services' facts: users, organisations, members, products, downloads.

Events arrive at least once and in any order across subjects, so each update is an
upsert that keeps the newer state (compared by the event's time) and never fails on a
row that is missing or already there.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifications.models import Download, Membership, Organisation, Product, Subscription, User
from services.notifications.topics import ORGANISATION_TOPICS


async def record_user(
    session: AsyncSession, *, user_id: uuid.UUID, email: str, username: str, at: datetime
) -> None:
    statement = insert(User).values(user_id=user_id, email=email, username=username, updated_at=at)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[User.user_id],
            set_={"email": email, "username": username, "updated_at": at},
            where=User.updated_at <= at,
        )
    )


async def record_organisation(
    session: AsyncSession, *, organisation_id: uuid.UUID, namespace: str, display_name: str
) -> None:
    statement = insert(Organisation).values(
        organisation_id=organisation_id, namespace=namespace, display_name=display_name
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[Organisation.organisation_id],
            set_={"namespace": namespace, "display_name": display_name},
        )
    )


async def record_membership(
    session: AsyncSession,
    *,
    organisation_id: uuid.UUID,
    user_id: uuid.UUID,
    role: str | None,
    at: datetime,
) -> None:
    """Set a member's role (None: removed), unless a newer change is already recorded.

    A member who joins gets the publisher topics of that organisation switched on; a
    subscription the member turned off earlier stays off.
    """
    statement = insert(Membership).values(
        organisation_id=organisation_id, user_id=user_id, role=role, as_of=at
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[Membership.organisation_id, Membership.user_id],
            set_={"role": role, "as_of": at},
            where=Membership.as_of <= at,
        )
    )
    if role is None:
        return

    for topic in sorted(ORGANISATION_TOPICS):
        await session.execute(
            insert(Subscription)
            .values(
                id=uuid.uuid4(),
                user_id=user_id,
                topic=topic.value,
                scope_id=organisation_id,
                active=True,
                created_at=at,
                updated_at=at,
            )
            .on_conflict_do_nothing(constraint="uq_subscriptions_user_topic_scope")
        )


async def record_product(
    session: AsyncSession,
    *,
    product_id: uuid.UUID,
    organisation_id: uuid.UUID,
    namespace: str,
    slug: str,
    name: str,
    version: str | None,
    listed: bool,
    at: datetime,
) -> None:
    """Record a product's names and latest version, keeping the newer of two updates."""
    values = {
        "organisation_id": organisation_id,
        "namespace": namespace,
        "slug": slug,
        "name": name,
        "latest_version": version,
        "listed": listed,
        "as_of": at,
    }
    statement = insert(Product).values(product_id=product_id, **values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[Product.product_id], set_=values, where=Product.as_of <= at
        )
    )


async def mark_product_unlisted(session: AsyncSession, *, product_id: uuid.UUID, at: datetime) -> None:
    product = await session.get(Product, product_id, with_for_update=True)
    if product is None or product.as_of > at:
        return
    product.listed = False
    product.as_of = at


async def record_download(
    session: AsyncSession, *, user_id: uuid.UUID, product_id: uuid.UUID, at: datetime
) -> None:
    statement = insert(Download).values(
        user_id=user_id, product_id=product_id, first_pulled_at=at, last_pulled_at=at, pulls=1
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[Download.user_id, Download.product_id],
            set_={
                "first_pulled_at": func.least(Download.first_pulled_at, at),
                "last_pulled_at": func.greatest(Download.last_pulled_at, at),
                "pulls": Download.pulls + 1,
            },
        )
    )


async def find_user(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id)


async def find_product(session: AsyncSession, product_id: uuid.UUID) -> Product | None:
    return await session.get(Product, product_id)


async def find_organisation(session: AsyncSession, organisation_id: uuid.UUID) -> Organisation | None:
    return await session.get(Organisation, organisation_id)


async def organisation_owners(session: AsyncSession, organisation_id: uuid.UUID) -> list[User]:
    rows = await session.execute(
        select(User)
        .join(Membership, Membership.user_id == User.user_id)
        .where(Membership.organisation_id == organisation_id, Membership.role == "owner")
        .order_by(User.email)
    )
    return list(rows.scalars())
