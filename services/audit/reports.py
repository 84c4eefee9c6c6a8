"""Monthly publisher reports: who gets one, and building, storing and announcing it."""

from __future__ import annotations

import uuid

import structlog
from sqlalchemy import and_, or_, select, union, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.audit.chart import daily_downloads_png
from services.audit.models import (
    downloads,
    orders,
    payout_statements,
    products,
    refunds,
    renewals,
    reports,
    subscriptions,
)
from services.audit.months import Month
from services.audit.report_content import build_report_content
from shared.events import emit

log = structlog.get_logger()


async def publishers_for(session: AsyncSession, month: Month) -> list[uuid.UUID]:
    """List the organisations that get a report for `month`.

    Those are the organisations with a product known before the month ended, and any with
    downloads or money moving in the month.
    """
    start, end = month.start, month.end
    query = union(
        select(products.c.organisation_id).where(products.c.first_seen_at < end),
        select(downloads.c.organisation_id).where(
            downloads.c.organisation_id.is_not(None), downloads.c.pulled_at >= start, downloads.c.pulled_at < end
        ),
        select(orders.c.organisation_id).where(orders.c.purchased_at >= start, orders.c.purchased_at < end),
        select(refunds.c.organisation_id).where(refunds.c.refunded_at >= start, refunds.c.refunded_at < end),
        select(renewals.c.organisation_id).where(renewals.c.renewed_at >= start, renewals.c.renewed_at < end),
        select(subscriptions.c.organisation_id).where(
            or_(subscriptions.c.canceled_at.is_(None), subscriptions.c.canceled_at >= start),
            and_(subscriptions.c.started_at.is_not(None), subscriptions.c.started_at < end),
        ),
        select(payout_statements.c.organisation_id).where(payout_statements.c.month == str(month)),
    )
    return sorted((await session.execute(query)).scalars())


async def generate_report(
    session: AsyncSession,
    *,
    organisation_id: uuid.UUID,
    month: Month,
    fee_basis_points: int,
    only_if_missing: bool,
) -> dict | None:
    """Build, store and announce one report; return its row, or None if it already existed.

    The report row is claimed first with an insert on the unique (organisation, month)
    pair: a second replica blocks on that insert until the first commits, then finds the
    row and skips. With `only_if_missing` false an existing report is rebuilt in place
    under a row lock, and its revision goes up.
    """
    runtime = session.info["runtime"]
    now = runtime.clock.now()

    claimed = (
        await session.execute(
            insert(reports)
            .values(
                report_id=uuid.uuid4(),
                organisation_id=organisation_id,
                month=str(month),
                revision=1,
                generated_at=now,
                content={},
            )
            .on_conflict_do_nothing(constraint="uq_reports_organisation_month")
            .returning(reports.c.report_id, reports.c.revision)
        )
    ).first()

    if claimed is None:
        if only_if_missing:
            return None
        existing = (
            await session.execute(
                select(reports.c.report_id, reports.c.revision)
                .where(reports.c.organisation_id == organisation_id, reports.c.month == str(month))
                .with_for_update()
            )
        ).one()
        report_id, revision = existing.report_id, existing.revision + 1
    else:
        report_id, revision = claimed.report_id, claimed.revision

    content = await build_report_content(
        session,
        report_id=report_id,
        organisation_id=organisation_id,
        month=month,
        generated_at=now,
        fee_basis_points=fee_basis_points,
    )
    content["revision"] = revision
    chart = daily_downloads_png(content["downloads"]["daily"], title=f"Daily downloads, {month} (UTC)")

    row = (
        await session.execute(
            update(reports)
            .where(reports.c.report_id == report_id)
            .values(revision=revision, generated_at=now, content=content, chart_png=chart)
            .returning(
                reports.c.report_id,
                reports.c.organisation_id,
                reports.c.month,
                reports.c.revision,
                reports.c.generated_at,
            )
        )
    ).one()

    await emit(
        session,
        "audit.report.generated",
        subject=str(report_id),
        data={"report_id": report_id, "organisation_id": organisation_id, "month": str(month)},
    )
    log.info(
        "report.generated",
        report_id=str(report_id),
        organisation_id=str(organisation_id),
        month=str(month),
        revision=revision,
    )
    return dict(row._mapping)
