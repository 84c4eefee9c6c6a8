"""Retention: at least 180 days, applied by dropping whole monthly partitions."""

from __future__ import annotations

import uuid

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from services.audit.models import activity, retention_drops
from services.audit.partitions import apply_retention, list_partitions
from services.audit.scheduler import maintain_partitions
from services.audit.settings import AuditSettings
from shared.clock import FrozenClock
from tests.audit.support import at, audit_service, deliver, publisher, sample_data, staff_user
from tests.support import tokens


def test_settings_reject_179_days():
    with pytest.raises(ValidationError, match="retention_days 179 is too short"):
        AuditSettings(retention_days=179)


def test_settings_accept_180_days():
    settings = AuditSettings(retention_days=180)

    assert settings.retention_days == 180


async def test_apply_retention_rejects_179_days():
    clock = FrozenClock(at("2025-04-20T00:00:00"))
    async with audit_service(clock=clock) as (service, _transport, _issuer):
        async with service.runtime.sessionmaker() as session, session.begin():
            with pytest.raises(ValueError, match="179"):
                await apply_retention(session, now=clock.now(), retention_days=179)


async def _record_at(clock, transport, moment: str) -> None:
    clock.set(at(moment))
    await deliver(
        transport, "catalog.product.unlisted", sample_data("catalog.product.unlisted"), occurred_at=clock.now()
    )


async def _seed_months(clock, transport) -> None:
    for moment in (
        "2024-09-15T10:00:00",
        "2024-09-30T23:59:59",
        "2024-10-20T10:00:00",
        "2024-11-05T10:00:00",
        "2025-04-19T10:00:00",
    ):
        await _record_at(clock, transport, moment)


async def test_retention_drops_only_whole_old_partitions():
    clock = FrozenClock(at("2024-09-01T00:00:00"))
    async with audit_service(clock=clock, retention_days=180) as (service, transport, issuer):
        await _seed_months(clock, transport)

        # 180 days before 2025-04-20 is 2024-10-22: September ended before that, October
        # did not, so October stays whole although its row of the 20th is older.
        clock.set(at("2025-04-20T00:00:00"))
        response = await service.client.post("/retention/runs", headers=issuer.headers(staff_user()))

        async with service.runtime.sessionmaker() as session:
            remaining = (await session.execute(select(activity.c.recorded_at).order_by(activity.c.seq))).scalars().all()
            partitions = [partition.name for partition in await list_partitions(session)]
            drops = (await session.execute(select(retention_drops))).all()
        assert response.status_code == 200
        assert response.json()["dropped"] == ["activity_2024_09"]
        assert remaining == [at("2024-10-20T10:00:00"), at("2024-11-05T10:00:00"), at("2025-04-19T10:00:00")]
        assert "activity_2024_09" not in partitions
        assert "activity_2024_10" in partitions
        assert len(drops) == 1
        assert drops[0].rows == 2
        assert drops[0].first_seq == 1
        assert drops[0].last_seq == 2


async def test_chain_verifies_after_retention():
    clock = FrozenClock(at("2024-09-01T00:00:00"))
    async with audit_service(clock=clock, retention_days=180) as (service, transport, issuer):
        await _seed_months(clock, transport)
        clock.set(at("2025-04-20T00:00:00"))
        await service.client.post("/retention/runs", headers=issuer.headers(staff_user()))

        response = await service.client.get("/activity/verification", headers=issuer.headers(staff_user()))

        body = response.json()
        assert body["valid"] is True
        assert body["first_seq"] == 3
        assert body["anchor"] == "retention_drop"


async def test_scheduler_creates_partitions_ahead_and_applies_retention():
    clock = FrozenClock(at("2024-09-01T00:00:00"))
    async with audit_service(clock=clock, retention_days=180, partitions_ahead=2) as (service, transport, _issuer):
        await _seed_months(clock, transport)
        clock.set(at("2025-04-20T00:00:00"))

        created, dropped = await maintain_partitions(service.runtime)

        assert created == ["activity_2025_05", "activity_2025_06"]
        assert dropped == ["activity_2024_09"]


async def test_retention_run_needs_admin():
    clock = FrozenClock(at("2025-04-20T00:00:00"))
    async with audit_service(clock=clock) as (service, _transport, issuer):
        reviewer = tokens.TestUser(username="reviewer", staff=("reviewer",))
        owner = publisher(uuid.uuid4(), "acme")

        as_reviewer = await service.client.post("/retention/runs", headers=issuer.headers(reviewer))
        as_publisher = await service.client.post("/retention/runs", headers=issuer.headers(owner))
        status_as_publisher = await service.client.get("/retention", headers=issuer.headers(owner))
        status_as_staff = await service.client.get("/retention", headers=issuer.headers(reviewer))

        assert as_reviewer.status_code == 403
        assert as_publisher.status_code == 403
        assert status_as_publisher.status_code == 403
        assert status_as_staff.status_code == 200
        assert status_as_staff.json()["minimum_retention_days"] == 180
