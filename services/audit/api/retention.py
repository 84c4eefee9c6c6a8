"""Retention of the activity log: the setting, the partitions, and dropping expired ones."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import select

from services.audit.models import retention_drops
from services.audit.partitions import apply_retention, list_partitions
from services.audit.schemas import PartitionOut, RetentionDropOut, RetentionRun, RetentionStatus
from services.audit.settings import MINIMUM_RETENTION_DAYS
from shared.auth import STAFF_ROLES, CurrentPrincipal, require_staff
from shared.db import SessionDep
from shared.errors import problem_responses

router = APIRouter(prefix="/retention", tags=["retention"])


@router.get(
    "",
    operation_id="audit_get_retention",
    summary="Show the retention setting, the log's monthly partitions and past drops",
    response_model=RetentionStatus,
    responses=problem_responses(401, 403),
)
async def get_retention(session: SessionDep, principal: CurrentPrincipal, request: Request):
    # Any staff role may read; require_staff without roles would admit admins only.
    require_staff(principal, *STAFF_ROLES)
    partitions = [
        PartitionOut(
            name=partition.name,
            month=str(partition.month),
            range_start=partition.month.start,
            range_end=partition.month.end,
        )
        for partition in await list_partitions(session)
    ]
    drops = [
        RetentionDropOut.model_validate(dict(row._mapping))
        for row in await session.execute(select(retention_drops).order_by(retention_drops.c.range_start))
    ]
    return RetentionStatus(
        retention_days=request.app.state.runtime.settings.retention_days,
        minimum_retention_days=MINIMUM_RETENTION_DAYS,
        partitions=partitions,
        drops=drops,
    )


@router.post(
    "/runs",
    operation_id="audit_apply_retention",
    summary="Drop now every monthly partition older than the retention setting",
    response_model=RetentionRun,
    responses=problem_responses(401, 403),
)
async def run_retention(session: SessionDep, principal: CurrentPrincipal, request: Request):
    require_staff(principal, "admin")
    runtime = request.app.state.runtime
    retention_days = runtime.settings.retention_days
    dropped = await apply_retention(session, now=runtime.clock.now(), retention_days=retention_days)
    return RetentionRun(dropped=dropped, retention_days=retention_days)
