"""Sending email: over SMTP with aiosmtplib, or into the local mailbox when none is set."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import aiosmtplib
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifications.models import MailboxMessage, Message
from services.notifications.settings import NotificationsSettings


@dataclass(frozen=True)
class SendResult:
    ok: bool
    detail: str
    # False when trying again cannot help (the server rejected the address for good).
    retryable: bool = True


def build_email(message: Message, settings: NotificationsSettings) -> EmailMessage:
    email = EmailMessage()
    email["From"] = settings.mail_from
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email["Date"] = format_datetime(message.created_at)
    email["Message-ID"] = make_msgid(idstring=message.id.hex, domain=_sender_domain(settings.mail_from))
    # Tells auto-responders not to reply (RFC 3834).
    email["Auto-Submitted"] = "auto-generated"
    for name, value in message.headers.items():
        email[name] = value
    email.set_content(message.body_text)
    email.add_alternative(message.body_html, subtype="html")
    return email


async def send_over_smtp(message: Message, settings: NotificationsSettings) -> SendResult:
    email = build_email(message, settings)
    password = settings.smtp_password.get_secret_value()
    try:
        await aiosmtplib.send(
            email,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username or None,
            password=password or None,
            use_tls=settings.smtp_security == "tls",
            start_tls=True if settings.smtp_security == "starttls" else False,
            timeout=settings.smtp_timeout_seconds,
            local_hostname=settings.smtp_helo_hostname or None,
        )
    except aiosmtplib.SMTPRecipientsRefused as exc:
        codes = [error.code for error in exc.recipients]
        permanent = all(500 <= code < 600 for code in codes)
        return SendResult(ok=False, detail=f"SMTP server refused the recipient: {exc}", retryable=not permanent)
    except aiosmtplib.SMTPResponseException as exc:
        permanent = 500 <= exc.code < 600
        return SendResult(
            ok=False, detail=f"SMTP error {exc.code}: {exc.message}", retryable=not permanent
        )
    except (aiosmtplib.SMTPException, OSError) as exc:
        return SendResult(ok=False, detail=f"SMTP delivery to {settings.smtp_host}:{settings.smtp_port} failed: {exc!r}")
    return SendResult(ok=True, detail=f"accepted by {settings.smtp_host}:{settings.smtp_port}")


async def store_in_mailbox(session: AsyncSession, message: Message, settings: NotificationsSettings) -> SendResult:
    """Keep the email in the local mailbox table, in the caller's transaction."""
    session.add(
        MailboxMessage(
            id=uuid.uuid4(),
            message_id=message.id,
            recipient=message.recipient,
            sender=settings.mail_from,
            subject=message.subject,
            body_text=message.body_text,
            body_html=message.body_html,
            headers=dict(message.headers),
            stored_at=session.info["runtime"].clock.now(),
        )
    )
    await session.flush()
    return SendResult(ok=True, detail="stored in the local mailbox")


def _sender_domain(mail_from: str) -> str:
    # "Wharf <notifications@wharf.localhost>" -> "wharf.localhost"
    address = mail_from.rsplit("<", 1)[-1].rstrip(">").strip()
    try:
        return Address(addr_spec=address).domain or "wharf.localhost"
    except (ValueError, IndexError):
        return "wharf.localhost"
