"""The dispatcher: delivers due messages, retries failures later, disables failing webhooks.

Messages are claimed with `FOR UPDATE SKIP LOCKED` and leased, so several replicas never
deliver one message at the same time; the network call happens outside any transaction.
A replica that dies mid-delivery leaves its lease to expire, and the message is claimed
again, so an email or webhook call can in rare cases go out twice but is never lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import timedelta

import asyncpg
import httpx
import structlog
from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.events.outbox import asyncpg_dsn
from shared.settings import Environment
from services.notifications import mailer
from services.notifications.messages import DISPATCH_CHANNEL, append_log, queue_email
from services.notifications.models import Message, Webhook
from services.notifications.read_models import find_organisation, organisation_owners
from services.notifications.webhooks import call_webhook

log = structlog.get_logger()

PENDING = ("queued", "retrying")


class Dispatcher:
    def __init__(self, runtime) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self._wakeup = asyncio.Event()
        self.log = log.bind(service=runtime.service, component="dispatcher")

    @property
    def production(self) -> bool:
        return self.runtime.platform.environment == Environment.PRODUCTION

    async def run(self) -> None:
        """Dispatch until cancelled, woken by NOTIFY from a queued message or by the interval."""
        self.log.info("dispatcher.started")
        listener = await self._listen()
        try:
            while True:
                try:
                    delivered = await self.dispatch_once()
                except Exception as exc:  # the database is unreachable, so try again later
                    self.log.warning("dispatcher.pass.failed", error=repr(exc))
                    delivered = 0
                if delivered == self.settings.dispatch_batch_size:
                    continue
                self._wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._wakeup.wait(), timeout=self.settings.dispatch_interval_seconds
                    )
        finally:
            if listener is not None:
                with contextlib.suppress(Exception):
                    await listener.close()
            self.log.info("dispatcher.stopped")

    async def dispatch_once(self) -> int:
        """Deliver one batch of due messages and return how many were claimed."""
        message_ids = await self._claim()
        if not message_ids:
            return 0

        async with httpx.AsyncClient(timeout=self.settings.webhook_timeout_seconds) as client:
            for message_id in message_ids:
                try:
                    await self._deliver(message_id, client)
                except Exception as exc:
                    # The lease runs out and the message is claimed again later.
                    self.log.exception("message.delivery.crashed", message_id=str(message_id), error=repr(exc))
        return len(message_ids)

    async def _claim(self) -> list[uuid.UUID]:
        now = self.runtime.clock.now()
        async with self.runtime.sessionmaker() as session, session.begin():
            due = (
                await session.execute(
                    select(Message.id)
                    .where(
                        or_(
                            Message.status.in_(PENDING) & (Message.next_attempt_at <= now),
                            (Message.status == "sending") & (Message.lease_until < now),
                        )
                    )
                    .order_by(Message.next_attempt_at, Message.id)
                    .limit(self.settings.dispatch_batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).scalars().all()
            if due:
                await session.execute(
                    update(Message)
                    .where(Message.id.in_(due))
                    .values(
                        status="sending",
                        lease_until=now + timedelta(seconds=self.settings.dispatch_lease_seconds),
                    )
                )
        return list(due)

    async def _deliver(self, message_id: uuid.UUID, client: httpx.AsyncClient) -> None:
        if await self._postpone_if_rate_limited(message_id):
            return

        async with self.runtime.sessionmaker() as session, session.begin():
            message = await session.get(Message, message_id)
            if message.channel == "email" and not self.settings.smtp_host:
                # The mailbox row and the "sent" mark commit together.
                result = await mailer.store_in_mailbox(session, message, self.settings)
                await self._record_email_result(session, message, result, transport="mailbox")
                return
            webhook = await session.get(Webhook, message.webhook_id) if message.webhook_id else None

        if message.channel == "email":
            result = await mailer.send_over_smtp(message, self.settings)
            async with self.runtime.sessionmaker() as session, session.begin():
                message = await session.get(Message, message_id, with_for_update=True)
                await self._record_email_result(session, message, result, transport="smtp")
            return

        await self._deliver_webhook_call(message, webhook, client)

    async def _postpone_if_rate_limited(self, message_id: uuid.UUID) -> bool:
        """Move an email to later when its recipient already got the maximum in the window."""
        now = self.runtime.clock.now()
        window = timedelta(seconds=self.settings.rate_limit_window_seconds)
        async with self.runtime.sessionmaker() as session, session.begin():
            message = await session.get(Message, message_id, with_for_update=True)
            if message.channel != "email":
                return False

            sent_count, oldest = (
                await session.execute(
                    select(func.count(), func.min(Message.sent_at)).where(
                        Message.channel == "email",
                        Message.recipient == message.recipient,
                        Message.status == "sent",
                        Message.sent_at > now - window,
                    )
                )
            ).one()
            # NOTE: replicas counting at the same moment can each send one email more than
            # the limit allows. The limit is exact with a single dispatcher.
            if sent_count < self.settings.rate_limit_count:
                return False

            message.status = "queued" if message.attempts == 0 else "retrying"
            message.next_attempt_at = oldest + window
            message.lease_until = None
            await append_log(
                session,
                message_id=message.id,
                status="rate_limited",
                attempt=message.attempts,
                detail=(
                    f"{sent_count} emails sent to this recipient in the last "
                    f"{self.settings.rate_limit_window_seconds:g} s; next attempt at "
                    f"{message.next_attempt_at.isoformat()}"
                ),
            )
        self.log.info("message.rate_limited", message_id=str(message_id))
        return True

    async def _record_email_result(
        self, session: AsyncSession, message: Message, result: mailer.SendResult, *, transport: str
    ) -> None:
        if result.ok:
            await self._mark_sent(session, message, result.detail, transport=transport)
        else:
            await self._mark_failed(
                session,
                message,
                result.detail,
                delays=self.settings.email_retry_delays,
                retryable=result.retryable,
            )

    async def _deliver_webhook_call(
        self, message: Message, webhook: Webhook | None, client: httpx.AsyncClient
    ) -> None:
        if webhook is None or not webhook.active:
            async with self.runtime.sessionmaker() as session, session.begin():
                message = await session.get(Message, message.id, with_for_update=True)
                reason = "the webhook was deleted" if webhook is None else "the webhook is disabled"
                await self._cancel(session, message, reason)
            return

        result = await call_webhook(
            client,
            url=webhook.url,
            secret=webhook.secret,
            payload=message.payload,
            message_id=message.id,
            event_type=message.event_type or message.kind,
            now=self.runtime.clock.now(),
            allow_private=self.settings.webhook_allow_private_addresses,
            require_https=self.production,
        )

        async with self.runtime.sessionmaker() as session, session.begin():
            message = await session.get(Message, message.id, with_for_update=True)
            if result.ok:
                await self._mark_sent(session, message, result.detail, transport="http")
                await session.execute(
                    update(Webhook).where(Webhook.id == webhook.id).values(consecutive_failures=0)
                )
                return

            await self._mark_failed(
                session, message, result.detail, delays=self.settings.webhook_retry_delays, retryable=True
            )
            failures = (
                await session.execute(
                    update(Webhook)
                    .where(Webhook.id == webhook.id)
                    .values(consecutive_failures=Webhook.consecutive_failures + 1)
                    .returning(Webhook.consecutive_failures)
                )
            ).scalar_one()
            if failures >= self.settings.webhook_disable_after_failures:
                await self._disable_webhook(session, webhook.id, result.detail, failures)

    async def _mark_sent(self, session: AsyncSession, message: Message, detail: str, *, transport: str) -> None:
        now = self.runtime.clock.now()
        message.attempts += 1
        message.status = "sent"
        message.sent_at = now
        message.lease_until = None
        message.last_error = None
        message.transport = transport
        await append_log(session, message_id=message.id, status="sent", attempt=message.attempts, detail=detail)
        self.log.info("message.sent", message_id=str(message.id), channel=message.channel, transport=transport)

    async def _mark_failed(
        self,
        session: AsyncSession,
        message: Message,
        detail: str,
        *,
        delays: list[float],
        retryable: bool,
    ) -> None:
        """Record a failed attempt and schedule the next one, while the delays last."""
        now = self.runtime.clock.now()
        message.attempts += 1
        message.last_error = detail
        message.lease_until = None
        await append_log(session, message_id=message.id, status="failed", attempt=message.attempts, detail=detail)

        if retryable and message.attempts <= len(delays):
            delay = delays[message.attempts - 1]
            message.status = "retrying"
            message.next_attempt_at = now + timedelta(seconds=delay)
            await append_log(
                session,
                message_id=message.id,
                status="retried",
                attempt=message.attempts,
                detail=f"next attempt in {delay:g} s, at {message.next_attempt_at.isoformat()}",
            )
            self.log.warning(
                "message.delivery.failed",
                message_id=str(message.id),
                attempt=message.attempts,
                retry_in=delay,
                error=detail,
            )
            return

        message.status = "failed"
        self.log.error(
            "message.delivery.given_up", message_id=str(message.id), attempts=message.attempts, error=detail
        )

    async def _cancel(self, session: AsyncSession, message: Message, reason: str) -> None:
        message.status = "failed"
        message.last_error = reason
        message.lease_until = None
        await append_log(session, message_id=message.id, status="canceled", attempt=message.attempts, detail=reason)
        self.log.info("message.canceled", message_id=str(message.id), reason=reason)

    async def _disable_webhook(
        self, session: AsyncSession, webhook_id: uuid.UUID, last_error: str, failures: int
    ) -> None:
        """Disable a webhook that keeps failing, cancel its pending calls and tell the owners."""
        now = self.runtime.clock.now()
        webhook = await session.get(Webhook, webhook_id, with_for_update=True)
        if not webhook.active:
            return
        webhook.active = False
        webhook.disabled_at = now
        webhook.disabled_reason = f"{failures} failed attempts in a row; the last one: {last_error}"
        webhook.updated_at = now

        pending = (
            await session.execute(
                select(Message).where(Message.webhook_id == webhook_id, Message.status.in_(PENDING))
            )
        ).scalars().all()
        for message in pending:
            await self._cancel(session, message, "the webhook was disabled after repeated failures")

        organisation = await find_organisation(session, webhook.organisation_id)
        for owner in await organisation_owners(session, webhook.organisation_id):
            await queue_email(
                session,
                kind="webhook_disabled",
                dedupe_key=f"webhook_disabled:{webhook.id}:{now.isoformat()}:{owner.user_id}",
                to=owner.email,
                user_id=owner.user_id,
                organisation_id=webhook.organisation_id,
                context={
                    "recipient": owner.username,
                    "organisation": organisation.display_name if organisation else str(webhook.organisation_id),
                    "webhook_url": webhook.url,
                    "failures": failures,
                    "last_error": last_error,
                    "settings_url": f"{self.settings.store_url}/organisations/{webhook.organisation_id}/webhooks",
                },
            )
        self.log.warning(
            "webhook.disabled",
            webhook_id=str(webhook_id),
            organisation_id=str(webhook.organisation_id),
            failures=failures,
        )

    async def _listen(self) -> asyncpg.Connection | None:
        try:
            connection = await asyncpg.connect(asyncpg_dsn(self.runtime.database_url))
            await connection.add_listener(DISPATCH_CHANNEL, lambda *_args: self._wakeup.set())
            return connection
        except (OSError, asyncpg.PostgresError) as exc:
            # Polling alone still delivers every message, only later.
            self.log.warning("dispatcher.listen.failed", error=repr(exc))
            return None


async def run_dispatcher(runtime) -> None:
    """Background task of the service: the dispatcher loop, unless turned off in settings."""
    if not runtime.settings.dispatcher_enabled:
        log.info("dispatcher.disabled", service=runtime.service)
        return
    await runtime.state["dispatcher"].run()
