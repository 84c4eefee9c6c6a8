"""The activity log: every event recorded once, append-only, with a verifiable hash chain."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.util import await_only

from services.audit.models import activity, chain_head
from shared.clock import FrozenClock
from shared.events.consumer import Consumer
from shared.events.schemas import PRODUCT_EVENT_TYPES
from tests.audit.support import at, audit_service, deliver, envelope, sample_data, staff_user


async def _rows(service, *where):
    async with service.runtime.sessionmaker() as session:
        return (await session.execute(select(activity).where(*where).order_by(activity.c.seq))).all()


async def _verify(service, issuer, **params):
    response = await service.client.get(
        "/activity/verification", params=params, headers=issuer.headers(staff_user())
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_every_event_type_recorded():
    clock = FrozenClock(at("2025-03-10T12:00:00"))
    async with audit_service(clock=clock) as (service, transport, _issuer):
        for event_type in sorted(PRODUCT_EVENT_TYPES):
            await deliver(transport, event_type, sample_data(event_type), occurred_at=clock.now())

        rows = await _rows(service)
        assert sorted(row.action for row in rows) == sorted(PRODUCT_EVENT_TYPES)
        assert [row.seq for row in rows] == list(range(1, len(PRODUCT_EVENT_TYPES) + 1))


async def test_redelivered_event_recorded_once():
    clock = FrozenClock(at("2025-03-10T12:00:00"))
    async with audit_service(clock=clock) as (service, transport, _issuer):
        event = envelope(
            "catalog.product.unlisted", sample_data("catalog.product.unlisted"), occurred_at=clock.now()
        )
        await transport.publish(event)
        await transport.publish(event)

        rows = await _rows(service)
        assert len(rows) == 1


async def test_organisation_actor_and_product_taken_from_data():
    clock = FrozenClock(at("2025-03-10T12:00:00"))
    organisation_id, user_id, product_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    async with audit_service(clock=clock) as (service, transport, _issuer):
        pulled = await deliver(
            transport,
            "licensing.image.pulled",
            sample_data(
                "licensing.image.pulled",
                organisation_id=str(organisation_id),
                user_id=str(user_id),
                product_id=str(product_id),
                pulled_at="2025-03-09T08:30:00+00:00",
            ),
            occurred_at=clock.now(),
        )
        registered = await deliver(
            transport,
            "identity.user.registered",
            sample_data("identity.user.registered", user_id=str(user_id)),
            occurred_at=clock.now(),
        )
        membership_actor = uuid.uuid4()
        membership = await deliver(
            transport,
            "identity.membership.changed",
            sample_data(
                "identity.membership.changed",
                organisation_id=str(organisation_id),
                user_id=str(user_id),
                actor_id=str(membership_actor),
            ),
            occurred_at=clock.now(),
        )

        pull_row, registered_row, membership_row = await _rows(service)
        assert pull_row.event_id == pulled.id
        assert pull_row.organisation_id == organisation_id
        assert pull_row.actor_id == user_id
        assert pull_row.product_id == product_id
        assert pull_row.occurred_at == at("2025-03-09T08:30:00")
        assert registered_row.event_id == registered.id
        assert registered_row.organisation_id is None
        assert registered_row.actor_id == user_id
        assert membership_row.event_id == membership.id
        assert membership_row.actor_id == membership_actor


async def test_signed_links_redacted():
    clock = FrozenClock(at("2025-03-10T12:00:00"))
    async with audit_service(clock=clock) as (service, transport, _issuer):
        await deliver(
            transport,
            "identity.user.password_reset_requested",
            sample_data("identity.user.password_reset_requested"),
            occurred_at=clock.now(),
        )

        (row,) = await _rows(service)
        assert row.details["link"] == "[redacted]"
        assert "secret-token-value" not in str(row.details)


async def test_concurrent_appends_keep_chain():
    clock = FrozenClock(at("2025-03-10T12:00:00"))
    async with audit_service(clock=clock) as (service, _transport, issuer):
        runtime = service.runtime
        consumer = Consumer(
            service="audit",
            sessionmaker=runtime.sessionmaker,
            metadata=runtime.metadata,
            handlers=runtime.spec.handlers,
            clock=clock,
        )
        events = [
            envelope("catalog.product.unlisted", sample_data("catalog.product.unlisted"), occurred_at=clock.now())
            for _ in range(12)
        ]

        # Each handle() runs in its own connection, so these transactions overlap.
        outcomes = await asyncio.gather(*(consumer.handle(event.model_dump(mode="json")) for event in events))

        rows = await _rows(service)
        report = await _verify(service, issuer)
        assert outcomes == ["handled"] * 12
        assert [row.seq for row in rows] == list(range(1, 13))
        assert report["valid"] is True
        assert report["checked"] == 12
        assert report["anchor"] == "genesis"


async def test_update_and_delete_rejected():
    clock = FrozenClock(at("2025-03-10T12:00:00"))
    async with audit_service(clock=clock) as (service, transport, _issuer):
        await deliver(transport, "catalog.product.unlisted", sample_data("catalog.product.unlisted"), occurred_at=clock.now())

        async with service.runtime.sessionmaker() as session:
            with pytest.raises(DBAPIError, match="append-only"):
                async with session.begin():
                    await session.execute(activity.update().values(action="changed"))
            with pytest.raises(DBAPIError, match="append-only"):
                async with session.begin():
                    await session.execute(activity.delete())

        (row,) = await _rows(service)
        assert row.action == "catalog.product.unlisted"


async def _tamper(service, sql: str) -> None:
    # A superuser can bypass the append-only trigger; the chain is what catches it.
    async with service.runtime.sessionmaker() as session, session.begin():
        await session.execute(text("SET LOCAL session_replication_role = replica"))
        await session.execute(text(sql))


async def test_modified_row_found_by_verification():
    clock = FrozenClock(at("2025-03-10T12:00:00"))
    async with audit_service(clock=clock) as (service, transport, issuer):
        for _ in range(5):
            await deliver(transport, "catalog.product.unlisted", sample_data("catalog.product.unlisted"), occurred_at=clock.now())
        before = await _verify(service, issuer)

        await _tamper(service, "UPDATE activity SET details = '{\"reason\": \"edited\"}' WHERE seq = 3")
        after = await _verify(service, issuer)

        assert before["valid"] is True
        assert after["valid"] is False
        assert after["checked"] == 2
        assert after["first_broken"]["seq"] == 3
        assert "modified" in after["first_broken"]["reason"]


async def test_rehashed_row_breaks_next_link():
    clock = FrozenClock(at("2025-03-10T12:00:00"))
    async with audit_service(clock=clock) as (service, transport, issuer):
        for _ in range(4):
            await deliver(transport, "catalog.product.unlisted", sample_data("catalog.product.unlisted"), occurred_at=clock.now())

        # The attacker also stores a matching hash for the edited row.
        async with service.runtime.sessionmaker() as session:
            row = (await session.execute(select(activity).where(activity.c.seq == 2))).one()
        from services.audit.chain import row_hash

        edited = dict(row._mapping, action="catalog.product.published")
        await _tamper(
            service,
            f"UPDATE activity SET action = 'catalog.product.published', hash = '{row_hash(edited)}' WHERE seq = 2",
        )
        report = await _verify(service, issuer)

        assert report["valid"] is False
        assert report["first_broken"]["seq"] == 3
        assert "previous_hash" in report["first_broken"]["reason"]


async def test_deleted_rows_found_by_verification():
    clock = FrozenClock(at("2025-03-10T12:00:00"))
    async with audit_service(clock=clock) as (service, transport, issuer):
        for _ in range(5):
            await deliver(transport, "catalog.product.unlisted", sample_data("catalog.product.unlisted"), occurred_at=clock.now())

        await _tamper(service, "DELETE FROM activity WHERE seq = 2")
        middle = await _verify(service, issuer)
        await _tamper(service, "DELETE FROM activity WHERE seq = 5")
        tail = await _verify(service, issuer, recorded_from="2025-03-10T12:00:00+00:00")

        assert middle["first_broken"]["seq"] == 3
        assert "missing" in middle["first_broken"]["reason"]
        assert tail["valid"] is False


async def test_verification_of_range_anchors_on_previous_row():
    clock = FrozenClock(at("2025-03-10T12:00:00"))
    async with audit_service(clock=clock) as (service, transport, issuer):
        await deliver(transport, "catalog.product.unlisted", sample_data("catalog.product.unlisted"), occurred_at=clock.now())
        clock.set(at("2025-03-11T12:00:00"))
        await deliver(transport, "catalog.product.unlisted", sample_data("catalog.product.unlisted"), occurred_at=clock.now())
        await deliver(transport, "catalog.product.unlisted", sample_data("catalog.product.unlisted"), occurred_at=clock.now())

        report = await _verify(
            service, issuer, recorded_from="2025-03-11T00:00:00+00:00", recorded_to="2025-03-12T00:00:00+00:00"
        )

        assert report["valid"] is True
        assert report["first_seq"] == 2
        assert report["checked"] == 2
        assert report["anchor"] == "previous_row"


async def test_chain_head_follows_last_row():
    clock = FrozenClock(at("2025-03-10T12:00:00"))
    async with audit_service(clock=clock) as (service, transport, _issuer):
        for _ in range(3):
            await deliver(transport, "catalog.product.unlisted", sample_data("catalog.product.unlisted"), occurred_at=clock.now())

        async with service.runtime.sessionmaker() as session:
            head = (await session.execute(select(chain_head))).one()
            last = (await session.execute(select(activity).where(activity.c.seq == 3))).one()
            count = (await session.execute(select(func.count()).select_from(activity))).scalar()
        assert head.seq == 3
        assert head.hash == last.hash
        assert count == 3


async def test_verification_reads_one_snapshot():
    clock = FrozenClock(at("2025-03-10T12:00:00"))
    async with audit_service(clock=clock) as (service, transport, issuer):
        for _ in range(3):
            await deliver(transport, "catalog.product.unlisted", sample_data("catalog.product.unlisted"), occurred_at=clock.now())
        appended = []

        # Append a row, committed by the audit consumer, after verification has read the
        # rows and before it reads the chain head. The append's own read of the head is
        # the one with FOR UPDATE.
        def append_before_head_read(connection, cursor, statement, parameters, context, executemany):
            if appended or "FROM chain_head" not in statement or "FOR UPDATE" in statement:
                return
            appended.append(
                await_only(
                    deliver(
                        transport,
                        "catalog.product.unlisted",
                        sample_data("catalog.product.unlisted"),
                        occurred_at=clock.now(),
                    )
                )
            )

        engine = service.runtime.engine.sync_engine
        event.listen(engine, "before_cursor_execute", append_before_head_read)
        try:
            during = await _verify(service, issuer)
        finally:
            event.remove(engine, "before_cursor_execute", append_before_head_read)
        after = await _verify(service, issuer)

        assert len(appended) == 1
        assert len(await _rows(service)) == 4
        assert during["first_broken"] is None
        assert during["valid"] is True
        assert during["last_seq"] == 3
        assert after["valid"] is True
        assert after["last_seq"] == 4
