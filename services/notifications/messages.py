"""Queueing messages and writing their delivery log.

A message is rendered and stored in the transaction of the event or request that causes
it, then delivered by the dispatcher after the commit. Its unique `dedupe_key` names
the cause and the recipient, so queueing the same message again is a no-op.
"""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifications.models import DeliveryLogEntry, Message, Webhook
from services.notifications.rendering import render_email

log = structlog.get_logger()

DISPATCH_CHANNEL = "wharf_notifications_dispatch"


async def queue_email(
    session: AsyncSession,
    *,
    kind: str,
    dedupe_key: str,
    to: str,
    context: dict[str, Any],
    event_id: uuid.UUID | None = None,
    event_type: str | None = None,
    user_id: uuid.UUID | None = None,
    organisation_id: uuid.UUID | None = None,
    unsubscribe_url: str | None = None,
) -> uuid.UUID | None:
    """Render and queue one email. Return its id, or None when it was queued before."""
    rendered = render_email(kind, {**context, "unsubscribe_url": unsubscribe_url})
    headers: dict[str, str] = {}
    if unsubscribe_url:
        # RFC 8058 one-click unsubscribe: mail clients POST to the link.
        headers["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"

    return await _insert_message(
        session,
        channel="email",
        kind=kind,
        dedupe_key=dedupe_key,
        recipient=to,
        event_id=event_id,
        event_type=event_type,
        user_id=user_id,
        organisation_id=organisation_id,
        subject=rendered.subject,
        body_text=rendered.text,
        body_html=rendered.html,
        headers=headers,
    )


async def queue_webhook_call(
    session: AsyncSession,
    *,
    webhook: Webhook,
    kind: str,
    dedupe_key: str,
    event_type: str,
    data: dict[str, Any],
    event_id: uuid.UUID | None = None,
) -> uuid.UUID | None:
    """Queue one webhook call with a JSON body. Return its id, or None when queued before."""
    runtime = session.info["runtime"]
    message_id = uuid.uuid4()
    # The body carries the message id, so a receiver can recognise a retried delivery.
    payload = {
        "id": str(message_id),
        "type": event_type,
        "created_at": runtime.clock.now().isoformat(),
        "organisation_id": str(webhook.organisation_id),
        "data": data,
    }
    return await _insert_message(
        session,
        message_id=message_id,
        channel="webhook",
        kind=kind,
        dedupe_key=dedupe_key,
        recipient=webhook.url,
        event_id=event_id,
        event_type=event_type,
        organisation_id=webhook.organisation_id,
        webhook_id=webhook.id,
        payload=payload,
    )


async def _insert_message(
    session: AsyncSession, *, message_id: uuid.UUID | None = None, **values: Any
) -> uuid.UUID | None:
    runtime = session.info["runtime"]
    now = runtime.clock.now()
    message_id = message_id or uuid.uuid4()

    inserted = await session.execute(
        insert(Message)
        .values(id=message_id, status="queued", attempts=0, next_attempt_at=now, created_at=now, **values)
        .on_conflict_do_nothing(index_elements=[Message.dedupe_key])
        .returning(Message.id)
    )
    if inserted.first() is None:
        log.info("message.duplicate", dedupe_key=values["dedupe_key"], kind=values["kind"])
        return None

    await append_log(session, message_id=message_id, status="queued", attempt=0)
    # Delivered at commit, dropped on rollback: wakes the dispatcher exactly when a
    # committed message is waiting.
    await session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": DISPATCH_CHANNEL})
    log.info("message.queued", message_id=str(message_id), kind=values["kind"], channel=values["channel"])
    return message_id


async def append_log(
    session: AsyncSession, *, message_id: uuid.UUID, status: str, attempt: int, detail: str | None = None
) -> None:
    runtime = session.info["runtime"]
    session.add(
        DeliveryLogEntry(
            message_id=message_id, status=status, attempt=attempt, detail=detail, at=runtime.clock.now()
        )
    )
    await session.flush()
