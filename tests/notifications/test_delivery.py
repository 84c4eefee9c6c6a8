"""The dispatcher's delivery log, retries after SMTP failures, and the per-recipient rate limit."""

from __future__ import annotations

import uuid
from datetime import timedelta

from services.notifications.models import Message
from tests.notifications.support import START, Harness, free_port, notifications, register, smtp_server
from tests.support.tokens import TestUser as TokenUser

STAFF = TokenUser(username="admin", staff=("admin",))


async def request_reset(harness: Harness, email: str, user_id: uuid.UUID | None = None) -> None:
    await harness.publish(
        "identity.user.password_reset_requested",
        {
            "user_id": user_id or uuid.uuid4(),
            "email": email,
            "link": f"http://store.test/reset?token={uuid.uuid4().hex}",
            "expires_at": harness.clock.now() + timedelta(hours=1),
        },
    )


async def test_smtp_outage_retried_then_sent():
    port = free_port()  # nothing listens here until the server starts below
    async with notifications(smtp_host="127.0.0.1", smtp_port=port) as harness:
        await request_reset(harness, "user@example.test")
        await harness.dispatch()
        [waiting] = await harness.messages()

        with smtp_server(port) as smtp:
            harness.clock.advance(timedelta(seconds=59))
            await harness.dispatch()
            early = len(smtp.messages)
            harness.clock.advance(timedelta(seconds=1))
            await harness.dispatch()

        [delivered] = await harness.messages()
        detail = await harness.client.get(f"/messages/{delivered.id}", headers=harness.headers(STAFF))

    assert waiting.status == "retrying"
    assert "127.0.0.1" in waiting.last_error
    assert early == 0
    assert smtp.recipients() == ["user@example.test"]
    assert delivered.status == "sent"
    assert delivered.transport == "smtp"
    steps = [entry["status"] for entry in detail.json()["log"]]
    assert steps == ["queued", "failed", "retried", "sent"]


async def test_permanent_smtp_rejection_not_retried():
    with smtp_server() as smtp:
        smtp.collector.rejected.add("gone@example.test")
        async with notifications(smtp_host=smtp.host, smtp_port=smtp.port) as harness:
            await request_reset(harness, "gone@example.test")
            await harness.dispatch()
            [message] = await harness.messages()

    assert message.status == "failed"
    assert message.attempts == 1
    assert "550" in message.last_error


async def test_rate_limit_postpones_extra_emails():
    with smtp_server() as smtp:
        async with notifications(
            smtp_host=smtp.host, smtp_port=smtp.port, rate_limit_count=2, rate_limit_window_seconds=600
        ) as harness:
            for _ in range(3):
                await request_reset(harness, "busy@example.test")
            await request_reset(harness, "calm@example.test")
            await harness.dispatch()
            sent_first = len(smtp.to("busy@example.test"))
            [postponed] = await harness.messages(Message.status == "queued")
            detail = await harness.client.get(f"/messages/{postponed.id}", headers=harness.headers(STAFF))

            harness.clock.advance(timedelta(seconds=600))
            await harness.dispatch()

    assert sent_first == 2
    assert len(smtp.to("calm@example.test")) == 1
    assert postponed.recipient == "busy@example.test"
    # The first email of the window was sent at START; the window has room again 600 s later.
    assert postponed.next_attempt_at == START + timedelta(seconds=600)
    assert [entry["status"] for entry in detail.json()["log"]] == ["queued", "rate_limited"]
    assert len(smtp.to("busy@example.test")) == 3


async def test_message_log_visible_to_recipient_only():
    async with notifications() as harness:
        customer = await register(harness, "customer")
        stranger = await register(harness, "stranger")
        await request_reset(harness, customer.email, customer.user.user_id)
        await harness.dispatch()
        [message] = await harness.messages()

        own = await harness.client.get(f"/messages/{message.id}", headers=harness.headers(customer.user))
        foreign = await harness.client.get(f"/messages/{message.id}", headers=harness.headers(stranger.user))
        listing = await harness.client.get("/messages", headers=harness.headers(customer.user))
        staff_listing = await harness.client.get(
            f"/messages?recipient={customer.email}", headers=harness.headers(STAFF)
        )

    assert own.status_code == 200
    assert own.json()["transport"] == "mailbox"
    assert foreign.status_code == 404
    assert listing.status_code == 403
    assert [item["id"] for item in staff_listing.json()["items"]] == [str(message.id)]
