"""The audit scheduler: partitions ahead, retention, and last month's reports.

Every replica runs it. Partition DDL is serialised by an advisory lock, and each report
is claimed through its unique (organisation, month) row, so replicas never duplicate work
that matters. Time comes from the runtime's clock, so tests move it.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import structlog

from services.audit.months import Month
from services.audit.partitions import apply_retention, ensure_partitions_ahead
from services.audit.reports import generate_report, publishers_for
from shared.service import Runtime

log = structlog.get_logger()


async def maintain_partitions(runtime: Runtime) -> tuple[list[str], list[str]]:
    """Create the partitions ahead and drop those past retention; return (created, dropped)."""
    now = runtime.clock.now()
    settings = runtime.settings
    async with runtime.sessionmaker() as session, session.begin():
        created = await ensure_partitions_ahead(session, now, settings.partitions_ahead)
    async with runtime.sessionmaker() as session, session.begin():
        dropped = await apply_retention(session, now=now, retention_days=settings.retention_days)
    return created, dropped


async def build_due_reports(runtime: Runtime) -> list[dict]:
    """Build last month's report for every publisher that has none yet; return those built.

    Last month is the one before the current month, once the grace period has passed.

    Run on any day, this catches up after downtime: a report exists once per
    organisation and month, whichever replica or pass built it.
    """
    grace = timedelta(seconds=runtime.settings.report_grace_period)
    month = Month.containing(runtime.clock.now() - grace).previous()
    async with runtime.sessionmaker() as session:
        organisation_ids = await publishers_for(session, month)

    built = []
    for organisation_id in organisation_ids:
        # One transaction per report, so one failure does not hold back the others.
        try:
            async with runtime.sessionmaker() as session, session.begin():
                report = await generate_report(
                    session,
                    organisation_id=organisation_id,
                    month=month,
                    fee_basis_points=runtime.settings.platform_fee_basis_points,
                    only_if_missing=True,
                )
        except Exception as exc:
            log.exception(
                "report.failed", organisation_id=str(organisation_id), month=str(month), error=repr(exc)
            )
            continue
        if report is not None:
            built.append(report)
    return built


async def run_once(runtime: Runtime) -> None:
    """Run one pass of every scheduled job, logging each failure and going on."""
    try:
        await maintain_partitions(runtime)
    except Exception as exc:
        log.exception("partitions.maintenance.failed", error=repr(exc))
    await build_due_reports(runtime)


async def run_scheduler(runtime: Runtime) -> None:
    """Run the scheduled jobs every `scheduler_interval` seconds until cancelled."""
    if not runtime.settings.scheduler_enabled:
        log.info("scheduler.disabled")
        return
    log.info("scheduler.started", interval=runtime.settings.scheduler_interval)
    try:
        while True:
            await run_once(runtime)
            await asyncio.sleep(runtime.settings.scheduler_interval)
    finally:
        log.info("scheduler.stopped")


async def create_partitions_on_startup(runtime: Runtime) -> None:
    async with runtime.sessionmaker() as session, session.begin():
        await ensure_partitions_ahead(session, runtime.clock.now(), runtime.settings.partitions_ahead)
