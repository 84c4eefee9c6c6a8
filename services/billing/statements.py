"""Monthly payout statements: what each publisher is owed, line by line.

A statement for a month collects every sale and refund in the publisher's ledger that
happened before the month ended and is on no earlier statement. Per currency, the amount
owed is the sum of the lines' net amounts. A currency whose lines sum to zero or less
(refunds outweighing sales) is left off, and its lines wait for the next statement, so a
debt is set against later sales instead of being paid out or forgotten.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from datetime import UTC, datetime

import structlog
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import InvalidValue
from shared.events import emit
from shared.service import Runtime
from services.billing import ledger
from services.billing.deps import provider_of, runtime_of, settings_of
from services.billing.models import LedgerEntry, Order, PayoutAccount, Statement, StatementLine, Tier

log = structlog.get_logger()

# Serialises statement runs across replicas of the service.
STATEMENT_LOCK = 0x77686172  # "whar"


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """Return the first instant of `month` (YYYY-MM) and of the month after, in UTC."""
    year, number = (int(part) for part in month.split("-"))
    start = datetime(year, number, 1, tzinfo=UTC)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC)
    return start, end


def previous_month(moment: datetime) -> str:
    year, number = moment.year, moment.month - 1
    if number == 0:
        year, number = year - 1, 12
    return f"{year:04d}-{number:02d}"


async def issue_statements(session: AsyncSession, month: str) -> list[Statement]:
    """Issue the month's statement of every publisher that has unstated sales or refunds."""
    now = runtime_of(session).clock.now()
    _start, end = month_bounds(month)
    if end > now:
        raise InvalidValue(f"Month {month} has not ended yet. Statements are issued after the month ends", field="month")

    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": STATEMENT_LOCK})
    organisations = (
        await session.execute(
            select(LedgerEntry.organisation_id)
            .where(*_unstated(end))
            .distinct()
            .order_by(LedgerEntry.organisation_id)
        )
    ).scalars().all()

    issued = []
    for organisation_id in organisations:
        already = (
            await session.execute(
                select(Statement.id).where(Statement.organisation_id == organisation_id, Statement.month == month)
            )
        ).first()
        if already is not None:
            continue
        statement = await _issue_one(session, organisation_id, month, end=end, now=now)
        if statement is not None:
            issued.append(statement)
    return issued


def _unstated(end: datetime):
    return (
        LedgerEntry.statement_id.is_(None),
        LedgerEntry.kind.in_(("sale", "refund")),
        LedgerEntry.occurred_at < end,
    )


async def _issue_one(
    session: AsyncSession, organisation_id: uuid.UUID, month: str, *, end: datetime, now: datetime
) -> Statement | None:
    entries = (
        await session.execute(
            select(LedgerEntry)
            .where(LedgerEntry.organisation_id == organisation_id, *_unstated(end))
            .order_by(LedgerEntry.seq)
        )
    ).scalars().all()

    # Dicts keep insertion order, so the lines follow the order the ledger was written in.
    lines_by_currency: dict[str, list[StatementLine]] = defaultdict(list)
    for index, (transaction_id, legs) in enumerate(_group_by_transaction(entries).items()):
        line = await _line_from(session, transaction_id, legs)
        line.position = index
        lines_by_currency[line.currency].append(line)

    amounts = {}
    for currency, lines in sorted(lines_by_currency.items()):
        total = sum(line.net for line in lines)
        if total > 0:
            amounts[currency] = total
        else:
            log.info("statement.currency.carried", organisation_id=str(organisation_id), month=month, currency=currency, total=total)
    if not amounts:
        return None

    settings = settings_of(session)
    account = await session.get(PayoutAccount, organisation_id)
    connect = settings.stripe_connect and account is not None
    statement = Statement(
        id=uuid.uuid4(),
        organisation_id=organisation_id,
        month=month,
        amounts=amounts,
        payout_method="stripe_connect" if connect else "manual",
        transfers={},
        issued_at=now,
    )
    session.add(statement)
    await session.flush()

    stated_entries = [entry.id for entry in entries if entry.currency in amounts]
    await session.execute(
        update(LedgerEntry).where(LedgerEntry.id.in_(stated_entries)).values(statement_id=statement.id)
    )
    stated_lines = sorted(
        (line for currency in amounts for line in lines_by_currency[currency]), key=lambda line: line.position
    )
    for position, line in enumerate(stated_lines):
        line.statement_id = statement.id
        line.position = position
        session.add(line)

    transfers = {}
    for currency, amount in amounts.items():
        await _post_payout(session, statement, currency, amount, kind="payout", debit="publisher_payable", credit="payout_due")
        if connect:
            transfers[currency] = await provider_of(session).create_transfer(
                key=f"{statement.id}-{currency}",
                amount=amount,
                currency=currency,
                destination=account.stripe_account_id,
                group=str(statement.id),
            )
            await _post_payout(session, statement, currency, amount, kind="transfer", debit="payout_due", credit="cash")
    statement.transfers = transfers
    await session.flush()

    await emit(
        session,
        "billing.payout_statement.issued",
        subject=str(statement.id),
        data={
            "statement_id": statement.id,
            "organisation_id": organisation_id,
            "month": month,
            "amounts": amounts,
        },
    )
    log.info("statement.issued", statement_id=str(statement.id), organisation_id=str(organisation_id), month=month, amounts=amounts)
    return statement


def _group_by_transaction(entries: list[LedgerEntry]) -> dict[uuid.UUID, list[LedgerEntry]]:
    grouped: dict[uuid.UUID, list[LedgerEntry]] = {}
    for entry in entries:
        grouped.setdefault(entry.transaction_id, []).append(entry)
    return grouped


async def _line_from(session: AsyncSession, transaction_id: uuid.UUID, legs: list[LedgerEntry]) -> StatementLine:
    """Turn a sale or refund transaction into a line seen from the publisher's side."""
    by_account = defaultdict(int)
    for leg in legs:
        by_account[leg.account] += leg.amount
    first = legs[0]

    gross = by_account["cash"]
    tax = -by_account["tax_held"]
    fee = -by_account["platform_fee"]
    net = -by_account["publisher_payable"]
    return StatementLine(
        id=uuid.uuid4(),
        transaction_id=transaction_id,
        kind=first.kind,
        order_id=first.order_id,
        refund_id=first.refund_id,
        description=await _describe(session, first),
        currency=first.currency,
        gross=gross,
        tax=tax,
        fee=fee,
        net=net,
        occurred_at=first.occurred_at,
    )


async def _describe(session: AsyncSession, entry: LedgerEntry) -> str:
    order = await session.get(Order, entry.order_id) if entry.order_id else None
    if order is None:
        return entry.kind.capitalize()
    tier = await session.get(Tier, order.tier_id)
    product = f"{tier.product_name} ({tier.name})" if tier else f"tier {order.tier_id}"
    label = {"sale": "Renewal" if order.kind == "renewal" else "Sale", "refund": "Refund"}[entry.kind]
    return f"{label} of {product}, order {order.id}"


async def _post_payout(
    session: AsyncSession, statement: Statement, currency: str, amount: int, *, kind: str, debit: str, credit: str
) -> None:
    transaction_id = await ledger.post_transaction(
        session,
        organisation_id=statement.organisation_id,
        currency=currency,
        kind=kind,
        legs=[ledger.Leg(debit, amount), ledger.Leg(credit, -amount)],
        occurred_at=statement.issued_at,
    )
    await session.execute(
        update(LedgerEntry).where(LedgerEntry.transaction_id == transaction_id).values(statement_id=statement.id)
    )


async def issue_due_statements(runtime: Runtime) -> int:
    """Issue last month's statements if not done yet, and return how many were issued."""
    month = previous_month(runtime.clock.now())
    async with runtime.sessionmaker() as session, session.begin():
        issued = await issue_statements(session, month)
    return len(issued)


async def run_statement_scheduler(runtime: Runtime) -> None:
    """Check periodically, on every replica, whether last month's statements are due."""
    log.info("statement.scheduler.started", interval=runtime.settings.statement_check_interval)
    while True:
        try:
            issued = await issue_due_statements(runtime)
            if issued:
                log.info("statement.scheduler.issued", count=issued)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("statement.scheduler.failed", error=repr(exc))
        await asyncio.sleep(runtime.settings.statement_check_interval)
