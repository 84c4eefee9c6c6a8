"""Monthly publisher reports: list, build on request, read, download and chart.

Members of an organisation (any role) and staff may read and request its reports. Anyone
else gets a 404 for the organisation and for each of its reports.
"""

from __future__ import annotations

import json
import uuid
from typing import Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy import select

from services.audit.exports import REPORT_COLUMNS, csv_line, report_rows
from services.audit.models import reports
from services.audit.months import Month
from services.audit.reports import generate_report
from services.audit.schemas import ReportDetail, ReportRequest, ReportSummary
from shared.auth import CurrentPrincipal, Principal, require_member
from shared.db import SessionDep
from shared.errors import InvalidValue, NotFound, problem_responses
from shared.idempotency import idempotent
from shared.pagination import Page, check_limit, finish_page, paginate

router = APIRouter(prefix="/reports", tags=["reports"])

SUMMARY_COLUMNS = [
    reports.c.report_id,
    reports.c.organisation_id,
    reports.c.month,
    reports.c.revision,
    reports.c.generated_at,
]


async def _visible_report(session, principal: Principal, report_id: uuid.UUID, *columns):
    row = (await session.execute(select(*columns).where(reports.c.report_id == report_id))).first()
    if row is None:
        raise NotFound(f"Report {report_id} not found")
    if not principal.is_staff and principal.role_in(row.organisation_id) is None:
        raise NotFound(f"Report {report_id} not found")
    return row


@router.get(
    "",
    operation_id="audit_list_reports",
    summary="List monthly reports, newest month first",
    response_model=Page[ReportSummary],
    responses=problem_responses(400, 401, 404),
)
async def list_reports(
    session: SessionDep,
    principal: CurrentPrincipal,
    organisation_id: uuid.UUID | None = None,
    month: str | None = None,
    cursor: str | None = None,
    limit: int | None = None,
):
    limit = check_limit(limit)
    query = select(*SUMMARY_COLUMNS)
    if organisation_id is not None:
        require_member(principal, organisation_id)
        query = query.where(reports.c.organisation_id == organisation_id)
    elif not principal.is_staff:
        query = query.where(reports.c.organisation_id.in_(list(principal.memberships)))
    if month is not None:
        query = query.where(reports.c.month == str(_parse_month(month)))

    query = paginate(query, columns=[reports.c.month, reports.c.report_id], cursor=cursor, limit=limit)
    rows = (await session.execute(query)).all()
    kept, next_cursor = finish_page(rows, limit=limit, key=lambda row: (row.month, row.report_id))
    return Page[ReportSummary](
        items=[ReportSummary.model_validate(dict(row._mapping)) for row in kept], next_cursor=next_cursor
    )


@router.post(
    "",
    operation_id="audit_generate_report",
    summary="Build (or rebuild) an organisation's report for a past month",
    status_code=201,
    response_model=ReportSummary,
    responses=problem_responses(401, 404, 422),
)
async def request_report(body: ReportRequest, session: SessionDep, principal: CurrentPrincipal, request: Request):
    require_member(principal, body.organisation_id)
    month = _parse_month(body.month)
    runtime = request.app.state.runtime
    current = Month.containing(runtime.clock.now())
    if month >= current:
        raise InvalidValue(f"Month {month} is not over yet: reports cover past months, before {current}")

    async def action():
        report = await generate_report(
            session,
            organisation_id=body.organisation_id,
            month=month,
            fee_basis_points=runtime.settings.platform_fee_basis_points,
            only_if_missing=False,
        )
        return ReportSummary.model_validate(report)

    return await idempotent(
        session, request, scope=f"report:{principal.user_id}", payload=body, action=action, status_code=201
    )


@router.get(
    "/{report_id}",
    operation_id="audit_get_report",
    summary="Read a report with its full content",
    response_model=ReportDetail,
    responses=problem_responses(401, 404),
)
async def get_report(report_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal):
    row = await _visible_report(session, principal, report_id, *SUMMARY_COLUMNS, reports.c.content)
    return ReportDetail.model_validate(dict(row._mapping))


@router.get(
    "/{report_id}/export",
    operation_id="audit_export_report",
    summary="Download a report as JSON or CSV, streamed",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/csv": {}, "application/json": {}}, "description": "The report"},
        **problem_responses(401, 404),
    },
)
async def export_report(
    report_id: uuid.UUID,
    session: SessionDep,
    principal: CurrentPrincipal,
    format: Literal["json", "csv"] = "json",
):
    row = await _visible_report(
        session, principal, report_id, reports.c.organisation_id, reports.c.month, reports.c.content
    )
    content = row.content
    filename = f"report-{row.month}-{row.organisation_id}.{format}"

    if format == "json":

        async def body():
            yield json.dumps(content, indent=2, sort_keys=True)
            yield "\n"

        media_type = "application/json"
    else:

        async def body():
            yield csv_line(REPORT_COLUMNS)
            for values in report_rows(content):
                yield csv_line(values)

        media_type = "text/csv; charset=utf-8"

    return StreamingResponse(
        body(), media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


@router.get(
    "/{report_id}/chart.png",
    operation_id="audit_get_report_chart",
    summary="Daily downloads of the report's month as a PNG bar chart",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "The chart"}, **problem_responses(401, 404)},
)
async def get_report_chart(report_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal):
    row = await _visible_report(session, principal, report_id, reports.c.organisation_id, reports.c.chart_png)
    if row.chart_png is None:
        raise NotFound(f"Report {report_id} has no chart yet")
    return Response(row.chart_png, media_type="image/png")


def _parse_month(value: str) -> Month:
    try:
        return Month.parse(value)
    except ValueError as exc:
        raise InvalidValue(str(exc)) from None
