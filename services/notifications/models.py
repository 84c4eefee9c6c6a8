"""Tables of the notifications database.

Read models (users, organisations, memberships, products, downloads) are built from other
services' events; subscriptions, webhooks, messages, their delivery log and the local
mailbox are owned here.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import make_metadata


class Base(DeclarativeBase):
    metadata = make_metadata()


# Read models.


class User(Base):
    """A registered account's address, from identity's *user registered* events."""

    __tablename__ = "users"

    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    username: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Organisation(Base):
    __tablename__ = "organisations"

    organisation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    namespace: Mapped[str] = mapped_column(String(100))
    display_name: Mapped[str] = mapped_column(String(200))


class Membership(Base):
    """A user's role in an organisation, or None once the member was removed.

    `as_of` is the time of the event that set the row, so an older event arriving late
    does not undo a newer change.
    """

    __tablename__ = "memberships"

    organisation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    role: Mapped[str | None] = mapped_column(String(20))
    as_of: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_memberships_user_id", "user_id"),)


class Product(Base):
    """What messages say about a product, from catalog's submitted and published events."""

    __tablename__ = "products"

    product_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    namespace: Mapped[str] = mapped_column(String(100))
    slug: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    latest_version: Mapped[str | None] = mapped_column(String(100))
    # Customers may subscribe only to listed products.
    listed: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    as_of: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Download(Base):
    """A customer who pulled a product at least once, from licensing's *image pulled*."""

    __tablename__ = "downloads"

    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    product_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    first_pulled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_pulled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    pulls: Mapped[int] = mapped_column(Integer, server_default=text("1"))

    __table_args__ = (Index("ix_downloads_product_id", "product_id"),)


# Subscriptions and webhooks.


class Subscription(Base):
    """A user's choice for one topic of one product or organisation (`scope_id`).

    Rows are kept when a user unsubscribes (`active` false), so a publisher topic that is
    on by default for members stays off once turned off.
    """

    __tablename__ = "subscriptions"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    topic: Mapped[str] = mapped_column(String(40))
    scope_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("user_id", "topic", "scope_id", name="uq_subscriptions_user_topic_scope"),
        Index("ix_subscriptions_scope_topic", "scope_id", "topic"),
    )


class Webhook(Base):
    __tablename__ = "webhooks"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(200), server_default="")
    topics: Mapped[list[str]] = mapped_column(ARRAY(String(40)))
    # NOTE: the signing secret is stored in plain text because signing needs it.
    # Encrypting it at rest with an operator key is not done yet.
    secret: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean)
    consecutive_failures: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# Messages, their delivery log and the local mailbox.


class Message(Base):
    """One email or webhook call, rendered when queued and delivered by the dispatcher.

    `dedupe_key` is unique: a second attempt to queue the same message for the same
    cause and recipient is dropped, so one event never sends the same message twice.
    """

    __tablename__ = "messages"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))  # "email" or "webhook"
    kind: Mapped[str] = mapped_column(String(60))  # template or notice name
    dedupe_key: Mapped[str] = mapped_column(String(400), unique=True)
    event_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), index=True)
    event_type: Mapped[str | None] = mapped_column(String(200))
    # The email address, or the webhook's URL at the time it was queued.
    recipient: Mapped[str] = mapped_column(String(2000))
    user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    webhook_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("webhooks.id", ondelete="SET NULL")
    )
    subject: Mapped[str] = mapped_column(String(300), server_default="")
    body_text: Mapped[str] = mapped_column(Text, server_default="")
    body_html: Mapped[str] = mapped_column(Text, server_default="")
    headers: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSONB)  # webhook JSON body
    # queued, sending, retrying, sent, failed
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    transport: Mapped[str | None] = mapped_column(String(20))  # smtp, mailbox or http
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index(
            "ix_messages_due",
            "next_attempt_at",
            postgresql_where=text("status IN ('queued', 'retrying', 'sending')"),
        ),
        Index("ix_messages_recipient_sent_at", "recipient", "sent_at"),
        Index("ix_messages_webhook_id_created_at", "webhook_id", "created_at"),
    )


class DeliveryLogEntry(Base):
    """One step in a message's life: queued, rate_limited, sent, failed, retried, canceled."""

    __tablename__ = "delivery_log"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    message_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(20))
    attempt: Mapped[int] = mapped_column(Integer)
    detail: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class MailboxMessage(Base):
    """An email kept locally because no SMTP server is configured."""

    __tablename__ = "mailbox"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    message_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("messages.id", ondelete="CASCADE"), unique=True
    )
    recipient: Mapped[str] = mapped_column(String(320))
    sender: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    headers: Mapped[dict[str, Any]] = mapped_column(JSONB)
    stored_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_mailbox_recipient_stored_at", "recipient", "stored_at"),)
