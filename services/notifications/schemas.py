"""Request and response bodies of the notifications API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.notifications.topics import Topic


class SubscriptionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    topic: Topic
    scope: Literal["product", "organisation"]
    scope_id: uuid.UUID
    active: bool
    created_at: datetime
    updated_at: datetime


class UnsubscribeResult(BaseModel):
    subscription_id: uuid.UUID
    topic: Topic
    scope_id: uuid.UUID
    active: bool


class WebhookCreate(BaseModel):
    url: str = Field(min_length=1, max_length=2000, description="HTTPS endpoint that receives POSTed JSON")
    topics: list[Topic] = Field(min_length=1, description="Publisher topics to deliver")
    description: str = Field(default="", max_length=200)


class WebhookUpdate(BaseModel):
    url: str | None = Field(default=None, min_length=1, max_length=2000)
    topics: list[Topic] | None = Field(default=None, min_length=1)
    description: str | None = Field(default=None, max_length=200)
    active: bool | None = Field(default=None, description="true re-enables a disabled webhook")


class WebhookOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    organisation_id: uuid.UUID
    url: str
    description: str
    topics: list[Topic]
    active: bool
    consecutive_failures: int
    disabled_at: datetime | None
    disabled_reason: str | None
    created_at: datetime
    updated_at: datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(description="Signing secret; shown only in this response")


class DeliveryLogEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    status: str
    attempt: int
    detail: str | None
    at: datetime


class MessageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    channel: Literal["email", "webhook"]
    kind: str
    event_id: uuid.UUID | None
    event_type: str | None
    recipient: str
    user_id: uuid.UUID | None
    organisation_id: uuid.UUID | None
    webhook_id: uuid.UUID | None
    subject: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    transport: str | None
    created_at: datetime
    sent_at: datetime | None


class MessageDetail(MessageOut):
    log: list[DeliveryLogEntryOut]
    payload: dict[str, Any] | None = None


class MailboxMessageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    message_id: uuid.UUID
    recipient: str
    sender: str
    subject: str
    body_text: str
    body_html: str
    headers: dict[str, Any]
    stored_at: datetime
