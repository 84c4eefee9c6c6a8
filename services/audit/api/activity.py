"""Reading the activity log: list, export and chain verification.

Staff see every row. Anyone else sees only rows of organisations they belong to; naming
another organisation gets a 404, as if it did not exist.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import AwareDatetime
from fastapi.responses import StreamingResponse
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from services.audit.chain import verify_range
from services.audit.exports import stream_csv, stream_json_array
from services.audit.models import activity
from services.audit.schemas import ActivityEntry, BrokenLinkOut, ChainVerification
from shared.auth import STAFF_ROLES, CurrentPrincipal, Principal, require_member, require_staff
from shared.db import SessionDep
from shared.errors import InvalidValue, problem_responses
from shared.pagination import Page, check_limit, finish_page, paginate

router = APIRouter(prefix="/activity", tags=["activity"])


async def snapshot_session(request: Request) -> AsyncIterator[AsyncSession]:
    """Give a session in a read-only REPEATABLE READ transaction, so every statement reads one snapshot.

    Verification reads the rows, their anchor and the chain head in separate statements.
    Under READ COMMITTED a row appended between two of them reads as a broken link.
    """
    async with request.app.state.runtime.sessionmaker() as session:
        await session.connection(
            execution_options={"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
        )
        yield session

EXPORT_COLUMNS = [
    "seq",
    "occurred_at",
    "recorded_at",
    "action",
    "actor_id",
    "organisation_id",
    "product_id",
    "subject",
    "event_id",
    "correlation_id",
    "producer",
    "details",
    "previous_hash",
    "hash",
]


def activity_filters(
    principal: Principal,
    *,
    actor_id: uuid.UUID | None,
    organisation_id: uuid.UUID | None,
    product_id: uuid.UUID | None,
    action: str | None,
    occurred_from: datetime | None,
    occurred_to: datetime | None,
) -> list[ColumnElement]:
    """Build the WHERE clauses of a query, limited to what the principal may read."""
    if occurred_from is not None and occurred_to is not None and occurred_from >= occurred_to:
        raise InvalidValue(f"occurred_from {occurred_from.isoformat()} must be before occurred_to {occurred_to.isoformat()}")

    clauses: list[ColumnElement] = []
    if organisation_id is not None:
        require_member(principal, organisation_id)
        clauses.append(activity.c.organisation_id == organisation_id)
    elif not principal.is_staff:
        clauses.append(activity.c.organisation_id.in_(list(principal.memberships)))

    if actor_id is not None:
        clauses.append(activity.c.actor_id == actor_id)
    if product_id is not None:
        clauses.append(activity.c.product_id == product_id)
    if action is not None:
        clauses.append(activity.c.action == action)
    if occurred_from is not None:
        clauses.append(activity.c.occurred_at >= occurred_from)
        # A row is recorded no earlier than it occurred, so this bound is implied; it
        # lets PostgreSQL skip partitions of earlier months.
        clauses.append(activity.c.recorded_at >= occurred_from)
    if occurred_to is not None:
        clauses.append(activity.c.occurred_at < occurred_to)
    return clauses


@router.get(
    "",
    operation_id="audit_list_activity",
    summary="List activity, newest first, filtered by actor, organisation, product, action and time",
    response_model=Page[ActivityEntry],
    responses=problem_responses(400, 401, 404),
)
async def list_activity(
    session: SessionDep,
    principal: CurrentPrincipal,
    actor_id: uuid.UUID | None = None,
    organisation_id: uuid.UUID | None = None,
    product_id: uuid.UUID | None = None,
    action: str | None = Query(default=None, max_length=200, description="An event type"),
    occurred_from: AwareDatetime | None = Query(default=None, description="Inclusive, ISO 8601 with offset"),
    occurred_to: AwareDatetime | None = Query(default=None, description="Exclusive, ISO 8601 with offset"),
    cursor: str | None = None,
    limit: int | None = None,
):
    limit = check_limit(limit)
    clauses = activity_filters(
        principal,
        actor_id=actor_id,
        organisation_id=organisation_id,
        product_id=product_id,
        action=action,
        occurred_from=occurred_from,
        occurred_to=occurred_to,
    )
    query = paginate(
        select(activity).where(*clauses),
        columns=[activity.c.occurred_at, activity.c.seq],
        cursor=cursor,
        limit=limit,
    )
    rows = (await session.execute(query)).all()
    kept, next_cursor = finish_page(rows, limit=limit, key=lambda row: (row.occurred_at, row.seq))
    return Page[ActivityEntry](
        items=[ActivityEntry.model_validate(dict(row._mapping)) for row in kept], next_cursor=next_cursor
    )


@router.get(
    "/export",
    operation_id="audit_export_activity",
    summary="Export activity as CSV or a JSON array, oldest first, streamed",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/csv": {}, "application/json": {}}, "description": "The rows"},
        **problem_responses(401, 404),
    },
)
async def export_activity(
    request: Request,
    principal: CurrentPrincipal,
    format: Literal["csv", "json"] = "csv",
    actor_id: uuid.UUID | None = None,
    organisation_id: uuid.UUID | None = None,
    product_id: uuid.UUID | None = None,
    action: str | None = Query(default=None, max_length=200),
    occurred_from: AwareDatetime | None = None,
    occurred_to: AwareDatetime | None = None,
):
    # Authorisation and filters are settled before the first byte is sent.
    clauses = activity_filters(
        principal,
        actor_id=actor_id,
        organisation_id=organisation_id,
        product_id=product_id,
        action=action,
        occurred_from=occurred_from,
        occurred_to=occurred_to,
    )
    query = select(activity).where(*clauses).order_by(activity.c.occurred_at, activity.c.seq)
    sessionmaker = request.app.state.runtime.sessionmaker

    # The stream outlives the route, so it reads through its own session and server-side
    # cursor instead of the request's.
    async def rows() -> AsyncIterator:
        async with sessionmaker() as session, session.begin():
            result = await session.stream(query.execution_options(yield_per=500))
            async for row in result:
                yield row

    if format == "json":

        async def items():
            async for row in rows():
                yield {column: getattr(row, column) for column in EXPORT_COLUMNS}

        body = stream_json_array(items())
        media_type = "application/json"
    else:

        async def lines():
            async for row in rows():
                yield [getattr(row, column) for column in EXPORT_COLUMNS]

        body = stream_csv(EXPORT_COLUMNS, lines())
        media_type = "text/csv; charset=utf-8"

    filename = f"activity.{format}"
    return StreamingResponse(
        body, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


@router.get(
    "/verification",
    operation_id="audit_verify_chain",
    summary="Check the hash chain of rows recorded in a time range; report the first broken link",
    response_model=ChainVerification,
    responses=problem_responses(401, 403, 422),
)
async def verify_chain(
    session: Annotated[AsyncSession, Depends(snapshot_session)],
    principal: CurrentPrincipal,
    recorded_from: AwareDatetime | None = Query(default=None, description="Inclusive; the start of the log if empty"),
    recorded_to: AwareDatetime | None = Query(default=None, description="Exclusive; the end of the log if empty"),
):
    # Any staff role may read; require_staff without roles would admit admins only.
    require_staff(principal, *STAFF_ROLES)
    if recorded_from is not None and recorded_to is not None and recorded_from >= recorded_to:
        raise InvalidValue(
            f"recorded_from {recorded_from.isoformat()} must be before recorded_to {recorded_to.isoformat()}"
        )

    result = await verify_range(session, start=recorded_from, end=recorded_to)
    broken = result.broken
    return ChainVerification(
        valid=result.valid,
        checked=result.checked,
        first_seq=result.first_seq,
        last_seq=result.last_seq,
        anchor=result.anchor,
        recorded_from=recorded_from,
        recorded_to=recorded_to,
        first_broken=BrokenLinkOut(**broken.__dict__) if broken else None,
    )
