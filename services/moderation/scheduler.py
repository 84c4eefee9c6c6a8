"""The SLA scheduler: breaches overdue cases, revokes expired holds, reopens expired waivers.

Deadlines live in the database, so a restarted or added replica picks up where another
stopped. Each step claims due rows with `FOR UPDATE SKIP LOCKED`, so replicas share the
work instead of waiting on each other, and every transition is a conditional update
whose row count decides who emits its event. Time comes from the runtime's clock.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import structlog
from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from services.moderation import holds, sla
from services.moderation.findings import has_active_waiver, open_findings_of
from services.moderation.models import Listing, SlaCase, Waiver
from shared.service import Runtime

log = structlog.get_logger()


@dataclass
class SchedulerPass:
    """How many transitions one pass made."""

    breached: int = 0
    revoked: int = 0
    waivers_expired: int = 0


async def run_once(runtime: Runtime) -> SchedulerPass:
    """Make every transition that is due now; return the counts."""
    result = SchedulerPass()
    batch_size = runtime.settings.scheduler_batch_size

    result.breached = await _each_due(runtime, _due_cases(batch_size), _breach)
    result.revoked = await _each_due(runtime, _expired_holds(batch_size), _revoke)
    result.waivers_expired = await _each_due(runtime, _expired_waivers(batch_size), _expire_waiver)
    if result.breached or result.revoked or result.waivers_expired:
        log.info(
            "sla.scheduler.pass",
            breached=result.breached,
            revoked=result.revoked,
            waivers_expired=result.waivers_expired,
        )
    return result


def _due_cases(batch_size: int):
    def build(now):
        return (
            select(SlaCase)
            .where(SlaCase.state == "open", SlaCase.deadline <= now)
            .order_by(SlaCase.deadline)
            .limit(batch_size)
            .with_for_update(skip_locked=True)
        )

    return build


def _expired_holds(batch_size: int):
    def build(now):
        return (
            select(Listing)
            .where(Listing.state == "held", Listing.hold_ends_at <= now)
            .order_by(Listing.hold_ends_at)
            .limit(batch_size)
            .with_for_update(skip_locked=True)
        )

    return build


def _expired_waivers(batch_size: int):
    def build(now):
        return (
            select(Waiver)
            .where(Waiver.expires_at <= now, Waiver.expiry_handled_at.is_(None))
            .order_by(Waiver.expires_at)
            .limit(batch_size)
            .with_for_update(skip_locked=True)
        )

    return build


async def _each_due(runtime: Runtime, build_query, transition) -> int:
    """Claim due rows in one transaction and apply `transition` to each in its own savepoint.

    A row whose transition fails is logged and rolled back alone; it is due again on the
    next pass.
    """
    moved = 0
    async with runtime.sessionmaker() as session, session.begin():
        now = runtime.clock.now()
        rows = (await session.execute(build_query(now))).scalars().all()
        for row in rows:
            try:
                async with session.begin_nested():
                    if await transition(session, row, now):
                        moved += 1
            except DBAPIError as exc:
                log.error("sla.scheduler.transition_failed", transition=transition.__name__, row=repr(row), error=repr(exc))
    return moved


async def _breach(session: AsyncSession, case: SlaCase, now) -> bool:
    return await sla.breach_case(session, case, now=now)


async def _revoke(session: AsyncSession, listing: Listing, now) -> bool:
    return await holds.revoke_listing(session, listing, now=now)


async def _expire_waiver(session: AsyncSession, waiver: Waiver, now) -> bool:
    """Start the SLA for a finding whose waiver ran out while it is still open on a live image."""
    result = await session.execute(
        update(Waiver)
        .where(Waiver.id == waiver.id, Waiver.expiry_handled_at.is_(None))
        .values(expiry_handled_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    if await has_active_waiver(session, waiver.image_digest, waiver.vulnerability_id, now=now):
        return True

    findings = await open_findings_of(session, waiver.image_digest, waiver.vulnerability_id)
    opened = await sla.open_cases_for_findings(session, findings, now=now)
    log.info("waiver.expired", waiver_id=str(waiver.id), sla_cases_opened=len(opened))
    return True


async def run_scheduler(runtime: Runtime) -> None:
    """Run passes until cancelled, one every `scheduler_interval_seconds`."""
    settings = runtime.settings
    if not settings.scheduler_enabled:
        log.info("sla.scheduler.disabled")
        return
    log.info("sla.scheduler.started", interval_seconds=settings.scheduler_interval_seconds)
    try:
        while True:
            try:
                await run_once(runtime)
            except Exception as exc:  # the database is unreachable, or a bug: keep the timers running
                log.exception(
                    "sla.scheduler.pass_failed", error=repr(exc), retry_in=settings.scheduler_interval_seconds
                )
            await asyncio.sleep(settings.scheduler_interval_seconds)
    finally:
        log.info("sla.scheduler.stopped")

