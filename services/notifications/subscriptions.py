"""Subscriptions: who wants which notices, and the signed one-click unsubscribe links."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import BadRequest, NotFound
from services.notifications.models import Download, Membership, Subscription, User
from services.notifications.topics import PRODUCT_TOPICS, Topic

UNSUBSCRIBE_PURPOSE = b"wharf-unsubscribe-v1:"


async def set_subscription(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    topic: Topic,
    scope_id: uuid.UUID,
    active: bool,
    at: datetime,
) -> Subscription:
    """Switch one subscription on or off, creating its row when missing."""
    statement = insert(Subscription).values(
        id=uuid.uuid4(),
        user_id=user_id,
        topic=topic.value,
        scope_id=scope_id,
        active=active,
        created_at=at,
        updated_at=at,
    )
    statement = statement.on_conflict_do_update(
        constraint="uq_subscriptions_user_topic_scope",
        set_={"active": active, "updated_at": at},
    ).returning(Subscription)
    result = await session.execute(statement, execution_options={"populate_existing": True})
    return result.scalar_one()


async def find_subscription(
    session: AsyncSession, *, user_id: uuid.UUID, topic: Topic, scope_id: uuid.UUID
) -> Subscription | None:
    return (
        await session.execute(
            select(Subscription).where(
                Subscription.user_id == user_id,
                Subscription.topic == topic.value,
                Subscription.scope_id == scope_id,
            )
        )
    ).scalar_one_or_none()


async def subscribed_downloaders(
    session: AsyncSession, *, product_id: uuid.UUID, topic: Topic
) -> list[tuple[User, Subscription]]:
    """Return the users who downloaded the product and have `topic` on for it, by email."""
    rows = await session.execute(
        select(User, Subscription)
        .join(Subscription, Subscription.user_id == User.user_id)
        .join(
            Download,
            (Download.user_id == User.user_id) & (Download.product_id == Subscription.scope_id),
        )
        .where(
            Subscription.scope_id == product_id,
            Subscription.topic == topic.value,
            Subscription.active.is_(True),
        )
        .order_by(User.email)
    )
    return [(row.User, row.Subscription) for row in rows]


async def product_subscribers(
    session: AsyncSession, *, product_id: uuid.UUID, topic: Topic
) -> list[tuple[User, Subscription]]:
    """Return the users with `topic` on for the product, whether or not they downloaded it."""
    rows = await session.execute(
        select(User, Subscription)
        .join(Subscription, Subscription.user_id == User.user_id)
        .where(
            Subscription.scope_id == product_id,
            Subscription.topic == topic.value,
            Subscription.active.is_(True),
        )
        .order_by(User.email)
    )
    return [(row.User, row.Subscription) for row in rows]


async def subscribed_members(
    session: AsyncSession, *, organisation_id: uuid.UUID, topic: Topic
) -> list[tuple[User, Subscription]]:
    """Return the current members of the organisation with `topic` on."""
    rows = await session.execute(
        select(User, Subscription)
        .join(Subscription, Subscription.user_id == User.user_id)
        .join(
            Membership,
            (Membership.user_id == User.user_id)
            & (Membership.organisation_id == Subscription.scope_id),
        )
        .where(
            Subscription.scope_id == organisation_id,
            Subscription.topic == topic.value,
            Subscription.active.is_(True),
            Membership.role.is_not(None),
        )
        .order_by(User.email)
    )
    return [(row.User, row.Subscription) for row in rows]


# Unsubscribe links carry the subscription id and an HMAC of it, so they work without
# signing in and cannot be forged for another subscription. They do not expire: an old
# email's link must still work.


def unsubscribe_token(subscription_id: uuid.UUID, secret: str) -> str:
    mac = _mac(subscription_id, secret)
    return f"{_b64(subscription_id.bytes)}.{_b64(mac)}"


def read_unsubscribe_token(token: str, secret: str) -> uuid.UUID:
    """Return the subscription id in `token`, or raise BadRequest if it is malformed or forged."""
    invalid = BadRequest(
        f"Invalid unsubscribe link token {token[:60]!r}: open the link from the email again"
    )
    encoded_id, _, encoded_mac = token.partition(".")
    try:
        subscription_id = uuid.UUID(bytes=_unb64(encoded_id))
        given_mac = _unb64(encoded_mac)
    except ValueError:
        raise invalid from None
    if not hmac.compare_digest(given_mac, _mac(subscription_id, secret)):
        raise invalid
    return subscription_id


async def unsubscribe_by_token(
    session: AsyncSession, *, token: str, secret: str, at: datetime
) -> Subscription:
    subscription_id = read_unsubscribe_token(token, secret)
    subscription = await session.get(Subscription, subscription_id, with_for_update=True)
    if subscription is None:
        raise NotFound(f"Subscription {subscription_id} not found")
    if subscription.active:
        subscription.active = False
        subscription.updated_at = at
    return subscription


def is_product_topic(topic: Topic) -> bool:
    return topic in PRODUCT_TOPICS


def _mac(subscription_id: uuid.UUID, secret: str) -> bytes:
    return hmac.new(secret.encode(), UNSUBSCRIBE_PURPOSE + subscription_id.bytes, hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise ValueError(str(exc)) from exc
