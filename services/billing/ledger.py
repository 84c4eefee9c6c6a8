"""The publisher ledger: double-entry transactions per organisation, balances by currency.

Accounts, each kept per publisher and currency:

- `cash`: money received in Stripe for the publisher's sales (asset, debit-normal)
- `tax_held`: tax collected on the publisher's sales, owed to tax authorities
- `platform_fee`: the platform's share of sales net of tax
- `publisher_payable`: what the platform owes the publisher
- `payout_due`: amounts on issued statements, not yet paid out

Debits are positive and credits negative, so each transaction's legs sum to zero.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.billing.models import LedgerEntry, Order, Refund

DEBIT_NORMAL = frozenset({"cash"})
ACCOUNTS = ("cash", "tax_held", "platform_fee", "publisher_payable", "payout_due")


class UnbalancedTransaction(ValueError):
    pass


@dataclass(frozen=True)
class Leg:
    account: str
    amount: int  # debit positive, credit negative


async def post_transaction(
    session: AsyncSession,
    *,
    organisation_id: uuid.UUID,
    currency: str,
    kind: str,
    legs: list[Leg],
    occurred_at: datetime,
    order_id: uuid.UUID | None = None,
    refund_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """Write one balanced transaction. Legs of zero are left out."""
    total = sum(leg.amount for leg in legs)
    if total != 0:
        raise UnbalancedTransaction(f"ledger transaction for {kind} does not balance: legs sum to {total}")

    transaction_id = uuid.uuid4()
    for leg in legs:
        if leg.amount == 0:
            continue
        session.add(
            LedgerEntry(
                id=uuid.uuid4(),
                transaction_id=transaction_id,
                organisation_id=organisation_id,
                account=leg.account,
                currency=currency,
                amount=leg.amount,
                kind=kind,
                order_id=order_id,
                refund_id=refund_id,
                occurred_at=occurred_at,
            )
        )
    await session.flush()
    return transaction_id


def platform_fee(net: int, basis_points: int) -> int:
    """Return the platform's share of `net`, rounded half up to a whole minor unit."""
    return (net * basis_points + 5000) // 10000


def proportion(total: int, part: int, whole: int) -> int:
    """Return `total * part / whole` rounded half up, for splitting a partial refund."""
    if whole == 0:
        return 0
    return (2 * total * part + whole) // (2 * whole)


async def record_sale(session: AsyncSession, order: Order, *, occurred_at: datetime) -> uuid.UUID:
    """Post a paid order: the money received splits into tax, platform fee and publisher share."""
    net = order.amount - order.tax_amount
    publisher_share = net - order.fee_amount
    return await post_transaction(
        session,
        organisation_id=order.organisation_id,
        currency=order.currency,
        kind="sale",
        order_id=order.id,
        occurred_at=occurred_at,
        legs=[
            Leg("cash", order.amount),
            Leg("tax_held", -order.tax_amount),
            Leg("platform_fee", -order.fee_amount),
            Leg("publisher_payable", -publisher_share),
        ],
    )


def refund_parts(order: Order, *, refunded_before: int, amount: int) -> tuple[int, int]:
    """Return the tax and platform-fee parts of refunding `amount` after `refunded_before`.

    The parts are computed on the cumulative refunded amount, so the parts of several
    partial refunds add up to exactly the sale's tax and fee once all is refunded.
    """
    refunded_after = refunded_before + amount
    tax = proportion(order.tax_amount, refunded_after, order.amount) - proportion(
        order.tax_amount, refunded_before, order.amount
    )
    fee = proportion(order.fee_amount, refunded_after, order.amount) - proportion(
        order.fee_amount, refunded_before, order.amount
    )
    return tax, fee


async def record_refund(
    session: AsyncSession, order: Order, refund: Refund, *, refunded_before: int, occurred_at: datetime
) -> uuid.UUID:
    """Reverse the sale in proportion to the amount refunded."""
    tax, fee = refund_parts(order, refunded_before=refunded_before, amount=refund.amount)
    publisher_share = refund.amount - tax - fee
    return await post_transaction(
        session,
        organisation_id=order.organisation_id,
        currency=order.currency,
        kind="refund",
        order_id=order.id,
        refund_id=refund.id,
        occurred_at=occurred_at,
        legs=[
            Leg("cash", -refund.amount),
            Leg("tax_held", tax),
            Leg("platform_fee", fee),
            Leg("publisher_payable", publisher_share),
        ],
    )


async def balances(session: AsyncSession, organisation_id: uuid.UUID) -> list[dict]:
    """Return each account's balance per currency, on the account's normal side."""
    rows = (
        await session.execute(
            select(LedgerEntry.currency, LedgerEntry.account, func.sum(LedgerEntry.amount))
            .where(LedgerEntry.organisation_id == organisation_id)
            .group_by(LedgerEntry.currency, LedgerEntry.account)
            .order_by(LedgerEntry.currency, LedgerEntry.account)
        )
    ).all()

    result = []
    for currency, account, total in rows:
        balance = int(total) if account in DEBIT_NORMAL else -int(total)
        result.append({"currency": currency, "account": account, "balance": balance})
    return result
