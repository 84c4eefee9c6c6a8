"""Routes for the delivery log and the local mailbox."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from sqlalchemy import func, select

from shared.auth import CurrentPrincipal, OptionalPrincipal, require_staff
from shared.db import SessionDep
from shared.errors import Forbidden, NotFound, Unauthorized, problem_responses
from shared.pagination import Page, check_limit, finish_page, paginate
from shared.settings import Environment
from services.notifications import read_models
from services.notifications.models import DeliveryLogEntry, MailboxMessage, Message
from services.notifications.schemas import DeliveryLogEntryOut, MailboxMessageOut, MessageDetail, MessageOut

router = APIRouter(tags=["delivery"])


def message_out(message: Message) -> MessageOut:
    return MessageOut.model_validate(message)


@router.get(
    "/messages",
    operation_id="notifications_list_messages",
    summary="List queued and delivered messages, newest first (staff)",
    response_model=Page[MessageOut],
    responses=problem_responses(400, 401, 403),
)
async def list_messages(
    session: SessionDep,
    principal: CurrentPrincipal,
    recipient: str | None = None,
    status: Literal["queued", "sending", "retrying", "sent", "failed"] | None = None,
    channel: Literal["email", "webhook"] | None = None,
    event_id: uuid.UUID | None = None,
    cursor: str | None = None,
    limit: int | None = None,
) -> Page[MessageOut]:
    require_staff(principal)
    limit = check_limit(limit)
    statement = select(Message)
    if recipient is not None:
        statement = statement.where(Message.recipient == recipient)
    if status is not None:
        statement = statement.where(Message.status == status)
    if channel is not None:
        statement = statement.where(Message.channel == channel)
    if event_id is not None:
        statement = statement.where(Message.event_id == event_id)
    statement = paginate(statement, columns=[Message.created_at, Message.id], cursor=cursor, limit=limit)
    rows = list((await session.execute(statement)).scalars())
    page_rows, next_cursor = finish_page(rows, limit=limit, key=lambda row: (row.created_at, row.id))
    return Page(items=[message_out(row) for row in page_rows], next_cursor=next_cursor)


@router.get(
    "/messages/{message_id}",
    operation_id="notifications_get_message",
    summary="Read one message with its delivery log",
    response_model=MessageDetail,
    responses=problem_responses(401, 404),
)
async def get_message(message_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal) -> MessageDetail:
    message = await session.get(Message, message_id)
    # Staff read every message. A user reads emails addressed to them, and members read
    # their organisation's webhook calls. Anyone else learns nothing.
    visible = message is not None and (
        principal.is_staff
        or (message.user_id is not None and message.user_id == principal.user_id)
        or (
            message.channel == "webhook"
            and message.organisation_id is not None
            and principal.role_in(message.organisation_id) is not None
        )
    )
    if not visible:
        raise NotFound(f"Message {message_id} not found")

    entries = (
        await session.execute(
            select(DeliveryLogEntry)
            .where(DeliveryLogEntry.message_id == message_id)
            .order_by(DeliveryLogEntry.id)
        )
    ).scalars()
    return MessageDetail(
        **message_out(message).model_dump(),
        log=[DeliveryLogEntryOut.model_validate(entry) for entry in entries],
        payload=message.payload,
    )


@router.get(
    "/mailbox",
    operation_id="notifications_list_mailbox",
    summary="List emails page_rows in the local mailbox when no SMTP server is configured",
    description=(
        "Staff read every address. Outside production, a signed-in user may read the "
        "mailbox of their own address, and with `WHARF_NOTIFICATIONS_MAILBOX_OPEN_READ` "
        "anyone may read the mailbox of the address given in `to`, so development tools can "
        "follow verification links."
    ),
    response_model=Page[MailboxMessageOut],
    responses=problem_responses(400, 401, 403, 404),
)
async def list_mailbox(
    session: SessionDep,
    principal: OptionalPrincipal,
    request: Request,
    to: Annotated[str | None, Query(max_length=320, description="Recipient address")] = None,
    cursor: str | None = None,
    limit: int | None = None,
) -> Page[MailboxMessageOut]:
    await _check_mailbox_access(session, principal, request, to)
    limit = check_limit(limit)
    statement = select(MailboxMessage)
    if to is not None:
        statement = statement.where(func.lower(MailboxMessage.recipient) == to.lower())
    statement = paginate(
        statement, columns=[MailboxMessage.stored_at, MailboxMessage.id], cursor=cursor, limit=limit
    )
    rows = list((await session.execute(statement)).scalars())
    page_rows, next_cursor = finish_page(rows, limit=limit, key=lambda row: (row.stored_at, row.id))
    return Page(items=[MailboxMessageOut.model_validate(row) for row in page_rows], next_cursor=next_cursor)


async def _check_mailbox_access(session, principal, request: Request, to: str | None) -> None:
    runtime = request.app.state.runtime
    if principal is not None and principal.is_staff:
        return

    if runtime.platform.environment == Environment.PRODUCTION:
        if principal is None:
            raise Unauthorized("Sign in as staff to read the local mailbox", headers={"WWW-Authenticate": "Bearer"})
        raise Forbidden("In production the local mailbox is readable by staff only")

    if to is None:
        raise Forbidden("Give the recipient address in `to`; only staff may list the whole mailbox")
    if runtime.settings.mailbox_open_read:
        return
    if principal is None:
        raise Unauthorized(
            "Sign in to read your mailbox, or set WHARF_NOTIFICATIONS_MAILBOX_OPEN_READ=true in development",
            headers={"WWW-Authenticate": "Bearer"},
        )
    user = await read_models.find_user(session, principal.user_id)
    if user is None or user.email.lower() != to.lower():
        raise NotFound(f"Mailbox of {to!r} not found")
