"""Transactional outbox: events are rows written with the state change, relayed after commit."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

import asyncpg
import structlog
from pydantic import BaseModel
from sqlalchemy import Table, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.clock import Clock
from shared.context import causation_id_var, correlation_id_var
from shared.events.envelope import Envelope, new_envelope
from shared.events.schemas import dump_data, schema_for
from shared.metrics import EVENTS_PUBLISHED, OUTBOX_PUBLISH_FAILURES

if TYPE_CHECKING:
    from shared.events.bus import Transport

log = structlog.get_logger()

MAX_BACKOFF_SECONDS = 30.0


def notify_channel(service: str) -> str:
    return f"wharf_outbox_{service}"


async def emit(
    session: AsyncSession,
    event_type: str,
    *,
    subject: str,
    data: BaseModel | dict[str, Any],
) -> Envelope:
    """Write an event to this service's outbox inside the caller's transaction.

    The data is validated against its schema now, so a producer cannot send what its
    consumers would reject. The relay publishes the event only after the commit.
    """
    runtime = session.info["runtime"]
    version, _model = schema_for(event_type)
    envelope = new_envelope(
        type=event_type,
        version=version,
        occurred_at=runtime.clock.now(),
        producer=runtime.service,
        subject=subject,
        data=dump_data(event_type, data),
        correlation_id=correlation_id_var.get(),
        causation_id=causation_id_var.get(),
    )
    outbox = runtime.metadata.tables["outbox"]
    await session.execute(
        outbox.insert().values(
            id=envelope.id,
            type=envelope.type,
            subject=envelope.subject,
            envelope=envelope.model_dump(mode="json"),
            created_at=envelope.occurred_at,
        )
    )

    # NOTIFY is delivered at commit and dropped on rollback, so it wakes the relay
    # exactly when a committed event is waiting.
    await session.execute(
        text("SELECT pg_notify(:channel, '')"), {"channel": notify_channel(runtime.service)}
    )
    return envelope


def asyncpg_dsn(sqlalchemy_url: str) -> str:
    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(
        hide_password=False
    )


class OutboxRelay:
    """Publishes committed outbox rows and marks them sent.

    Rows are claimed with `FOR UPDATE SKIP LOCKED` and stay locked until they are
    published and marked, so several relays (replicas of one service) never publish the
    same row twice. A broker failure leaves the rows unsent; they go out on a later pass.
    """

    def __init__(
        self,
        *,
        service: str,
        sessionmaker: async_sessionmaker[AsyncSession],
        outbox: Table,
        transport: Transport,
        clock: Clock,
        database_url: str,
        poll_interval: float = 2.0,
        batch_size: int = 100,
    ) -> None:
        self.service = service
        self.sessionmaker = sessionmaker
        self.outbox = outbox
        self.transport = transport
        self.clock = clock
        self.database_url = database_url
        self.poll_interval = poll_interval
        self.batch_size = batch_size
        self._wakeup = asyncio.Event()
        self._listener: asyncpg.Connection | None = None
        self.log = log.bind(service=service, component="outbox-relay")

    async def relay_once(self) -> int:
        """Publish one batch of unsent events in order; return how many were sent.

        Raises the transport's error after marking what did go out, so the caller can
        back off.
        """
        async with self.sessionmaker() as session, session.begin():
            rows = (
                await session.execute(
                    select(self.outbox.c.id, self.outbox.c.envelope)
                    .where(self.outbox.c.sent_at.is_(None))
                    .order_by(self.outbox.c.seq)
                    .limit(self.batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()

            sent = 0
            failure: RelayPublishFailed | None = None
            for row in rows:
                envelope = Envelope.model_validate(row.envelope)
                try:
                    await self.transport.publish(envelope)
                except Exception as exc:
                    # Record the failure on the row and stop; the rows published before
                    # it are marked sent when this transaction commits.
                    await session.execute(
                        update(self.outbox)
                        .where(self.outbox.c.id == row.id)
                        .values(attempts=self.outbox.c.attempts + 1, last_error=repr(exc)[:2000])
                    )
                    OUTBOX_PUBLISH_FAILURES.labels(service=self.service).inc()
                    failure = RelayPublishFailed(envelope, exc)
                    break

                await session.execute(
                    update(self.outbox)
                    .where(self.outbox.c.id == row.id)
                    .values(sent_at=self.clock.now(), attempts=self.outbox.c.attempts + 1)
                )
                EVENTS_PUBLISHED.labels(service=self.service, type=envelope.type).inc()
                sent += 1

        if failure is not None:
            raise failure
        return sent

    async def run(self) -> None:
        """Relay until cancelled, woken by NOTIFY or by the polling interval."""
        self.log.info("outbox.relay.started")
        backoff = 0.0
        try:
            await self._listen()
            while True:
                try:
                    sent = await self.relay_once()
                    backoff = 0.0
                except RelayPublishFailed as failure:
                    backoff = min(MAX_BACKOFF_SECONDS, max(0.5, backoff * 2))
                    self.log.warning(
                        "outbox.publish.failed",
                        event_id=str(failure.envelope.id),
                        event_type=failure.envelope.type,
                        error=repr(failure.error),
                        retry_in=backoff,
                    )
                    await asyncio.sleep(backoff)
                    continue
                except Exception as exc:  # the database itself is unreachable
                    backoff = min(MAX_BACKOFF_SECONDS, max(0.5, backoff * 2))
                    self.log.warning("outbox.relay.failed", error=repr(exc), retry_in=backoff)
                    await asyncio.sleep(backoff)
                    continue

                if sent == self.batch_size:
                    continue
                self._wakeup.clear()
                # Not wait_for, because on Python 3.11 it can swallow a cancellation that
                # arrives as the wakeup fires, and stop() then waits for the relay forever.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.poll_interval):
                        await self._wakeup.wait()
        finally:
            await self._unlisten()
            self.log.info("outbox.relay.stopped")

    async def _listen(self) -> None:
        try:
            self._listener = await asyncpg.connect(asyncpg_dsn(self.database_url))
            await self._listener.add_listener(
                notify_channel(self.service), lambda *_args: self._wakeup.set()
            )
        except (OSError, asyncpg.PostgresError) as exc:
            # Polling alone still delivers every event, only later.
            self.log.warning("outbox.listen.failed", error=repr(exc))
            self._listener = None

    async def _unlisten(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()
            self._listener = None


class RelayPublishFailed(Exception):
    def __init__(self, envelope: Envelope, error: Exception) -> None:
        super().__init__(f"publishing event {envelope.id} ({envelope.type}) failed: {error!r}")
        self.envelope = envelope
        self.error = error
