"""HTTP routes for publishers' money: ledger, balances, statements, payout account, pricing help."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter, Query, Request
from sqlalchemy import select

from shared.auth import CurrentPrincipal, OrgRole, require_member, require_staff
from shared.db import SessionDep
from shared.errors import NotFound, problem_responses
from shared.pagination import Page, check_limit, finish_page, paginate
from services.billing import ledger, pricing, statements
from services.billing.models import LedgerEntry, PayoutAccount, Statement, StatementLine
from services.billing.schemas import (
    BalanceRead,
    LedgerEntryRead,
    PayoutAccountRead,
    PayoutAccountUpdate,
    PricingSuggestion,
    StatementDetail,
    StatementLineRead,
    StatementRead,
    StatementsIssue,
)

router = APIRouter(tags=["publisher money"])


@router.get(
    "/organisations/{organisation_id}/balances",
    operation_id="billing_get_balances",
    summary="Read a publisher's ledger balances by account and currency",
    response_model=list[BalanceRead],
    responses=problem_responses(401, 404),
)
async def get_balances(organisation_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep):
    require_member(principal, organisation_id)
    return await ledger.balances(session, organisation_id)


@router.get(
    "/organisations/{organisation_id}/ledger",
    operation_id="billing_list_ledger_entries",
    summary="List a publisher's ledger entries, newest first",
    response_model=Page[LedgerEntryRead],
    responses=problem_responses(400, 401, 404),
)
async def list_ledger_entries(
    organisation_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    cursor: str | None = None,
    limit: int | None = None,
):
    require_member(principal, organisation_id)
    limit = check_limit(limit)
    statement = paginate(
        select(LedgerEntry).where(LedgerEntry.organisation_id == organisation_id),
        columns=[LedgerEntry.seq],
        cursor=cursor,
        limit=limit,
    )
    rows = (await session.execute(statement)).scalars().all()
    items, next_cursor = finish_page(list(rows), limit=limit, key=lambda row: (row.seq,))
    return Page[LedgerEntryRead](items=[LedgerEntryRead.model_validate(row) for row in items], next_cursor=next_cursor)


@router.get(
    "/organisations/{organisation_id}/statements",
    operation_id="billing_list_statements",
    summary="List a publisher's payout statements, newest first",
    response_model=Page[StatementRead],
    responses=problem_responses(400, 401, 404),
)
async def list_statements(
    organisation_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    cursor: str | None = None,
    limit: int | None = None,
):
    require_member(principal, organisation_id)
    limit = check_limit(limit)
    statement = paginate(
        select(Statement).where(Statement.organisation_id == organisation_id),
        columns=[Statement.month, Statement.id],
        cursor=cursor,
        limit=limit,
    )
    rows = (await session.execute(statement)).scalars().all()
    items, next_cursor = finish_page(list(rows), limit=limit, key=lambda row: (row.month, row.id))
    return Page[StatementRead](items=[StatementRead.model_validate(row) for row in items], next_cursor=next_cursor)


@router.get(
    "/organisations/{organisation_id}/statements/{statement_id}",
    operation_id="billing_get_statement",
    summary="Read one payout statement with its lines",
    response_model=StatementDetail,
    responses=problem_responses(401, 404),
)
async def get_statement(
    organisation_id: uuid.UUID, statement_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
):
    require_member(principal, organisation_id)
    found = await session.get(Statement, statement_id)
    if found is None or found.organisation_id != organisation_id:
        raise NotFound(f"Statement {statement_id} not found")

    lines = (
        await session.execute(
            select(StatementLine)
            .where(StatementLine.statement_id == statement_id)
            .order_by(StatementLine.position)
        )
    ).scalars()
    return StatementDetail(
        **StatementRead.model_validate(found).model_dump(),
        lines=[StatementLineRead.model_validate(line) for line in lines],
    )


@router.post(
    "/statements/issue",
    operation_id="billing_issue_statements",
    summary="Issue every publisher's statement for an ended month now (staff)",
    response_model=list[StatementRead],
    responses=problem_responses(401, 403, 422, 502),
)
async def issue_statements(body: StatementsIssue, principal: CurrentPrincipal, session: SessionDep):
    require_staff(principal, "admin")
    issued = await statements.issue_statements(session, body.month)
    return [StatementRead.model_validate(statement) for statement in issued]


@router.put(
    "/organisations/{organisation_id}/payout-account",
    operation_id="billing_set_payout_account",
    summary="Set the Stripe Connect account that receives the publisher's payouts (owner)",
    response_model=PayoutAccountRead,
    responses=problem_responses(401, 403, 404),
)
async def set_payout_account(
    organisation_id: uuid.UUID,
    body: PayoutAccountUpdate,
    principal: CurrentPrincipal,
    session: SessionDep,
    request: Request,
):
    require_member(principal, organisation_id, OrgRole.OWNER, allow_staff=False)
    now = request.app.state.runtime.clock.now()
    account = await session.get(PayoutAccount, organisation_id)
    if account is None:
        account = PayoutAccount(organisation_id=organisation_id)
        session.add(account)
    account.stripe_account_id = body.stripe_account_id
    account.updated_at = now
    await session.flush()
    return PayoutAccountRead.model_validate(account)


@router.get(
    "/organisations/{organisation_id}/payout-account",
    operation_id="billing_get_payout_account",
    summary="Read the Stripe Connect account that receives the publisher's payouts",
    response_model=PayoutAccountRead,
    responses=problem_responses(401, 404),
)
async def get_payout_account(organisation_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep):
    require_member(principal, organisation_id)
    account = await session.get(PayoutAccount, organisation_id)
    if account is None:
        raise NotFound(f"Organisation {organisation_id} has no payout account, so statements are paid by hand")
    return PayoutAccountRead.model_validate(account)


@router.get(
    "/pricing/suggestion",
    operation_id="billing_suggest_price",
    summary="Suggest a price range from comparable published tiers (median and quartiles)",
    response_model=PricingSuggestion,
    responses=problem_responses(401, 404, 422),
)
async def suggest_price(
    principal: CurrentPrincipal,
    session: SessionDep,
    request: Request,
    category: str = Query(min_length=1, max_length=100),
    currency: str = Query(pattern=r"^[A-Za-z]{3}$"),
    billing_period: Literal["one_time", "monthly", "yearly"] = Query(),
    organisation_id: uuid.UUID | None = Query(
        default=None, description="The publisher asking; its own tiers are left out of the sample"
    ),
):
    if organisation_id is not None:
        require_member(principal, organisation_id)
    return await pricing.suggest_price(
        session,
        category=category,
        currency=currency,
        billing_period=billing_period,
        minimum_sample=request.app.state.runtime.settings.pricing_minimum_sample,
        exclude_organisation_id=organisation_id,
    )
