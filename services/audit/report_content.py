"""The content of a monthly publisher report: downloads, sales and the amount owed.

Content is built from the read models alone, so a report can be rebuilt for any past
month. Money is in integer minor units per ISO 4217 currency.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.audit.models import (
    downloads,
    orders,
    organisations,
    payout_statements,
    products,
    refunds,
    renewals,
    subscriptions,
    tiers,
)
from services.audit.months import Month

TIMEZONE_NOTE = (
    "All times are UTC. The month runs from its first instant, inclusive, "
    "to the first instant of the next month, exclusive."
)


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment is not None else None


def _round_half_up(numerator: int, denominator: int) -> int:
    """Divide integers, rounding halves away from zero (money in minor units)."""
    sign = -1 if (numerator < 0) != (denominator < 0) else 1
    return sign * ((abs(numerator) * 2 + abs(denominator)) // (2 * abs(denominator)))


async def _names(session: AsyncSession) -> tuple[dict, dict]:
    product_names = {
        row.product_id: row.name or row.slug
        for row in await session.execute(select(products.c.product_id, products.c.name, products.c.slug))
    }
    tier_names = {row.tier_id: row.name for row in await session.execute(select(tiers.c.tier_id, tiers.c.name))}
    return product_names, tier_names


async def build_report_content(
    session: AsyncSession,
    *,
    report_id: uuid.UUID,
    organisation_id: uuid.UUID,
    month: Month,
    generated_at: datetime,
    fee_basis_points: int,
) -> dict[str, Any]:
    """Build the content of one organisation's report for `month`."""
    product_names, tier_names = await _names(session)

    organisation = (
        await session.execute(select(organisations).where(organisations.c.organisation_id == organisation_id))
    ).first()

    content: dict[str, Any] = {
        "report_id": str(report_id),
        "organisation_id": str(organisation_id),
        "namespace": organisation.namespace if organisation else None,
        "month": str(month),
        "period": {"start": _iso(month.start), "end": _iso(month.end), "timezone": "UTC", "note": TIMEZONE_NOTE},
        "generated_at": _iso(generated_at),
    }
    content["downloads"] = await _downloads_section(
        session, organisation_id, month, product_names, tier_names
    )
    sales = await _sales_section(session, organisation_id, month, product_names, tier_names, fee_basis_points)
    content["sales"] = sales
    content["payout"] = await _payout_section(session, organisation_id, month, sales["totals"])
    return content


async def _downloads_section(session, organisation_id, month: Month, product_names, tier_names) -> dict:
    rows = (
        await session.execute(
            select(downloads)
            .where(
                downloads.c.organisation_id == organisation_id,
                downloads.c.pulled_at >= month.start,
                downloads.c.pulled_at < month.end,
            )
            .order_by(downloads.c.pulled_at, downloads.c.event_id)
        )
    ).all()

    days = (month.end - month.start).days
    daily = {
        (month.start + timedelta(days=offset)).date().isoformat(): {"free": 0, "paid": 0}
        for offset in range(days)
    }
    items = []
    for row in rows:
        kind = "paid" if row.paid else "free"
        pulled_at = row.pulled_at.astimezone(UTC)
        daily[pulled_at.date().isoformat()][kind] += 1
        items.append(
            {
                "pulled_at": _iso(pulled_at),
                "date": pulled_at.date().isoformat(),
                "time": pulled_at.time().isoformat(),
                "product_id": str(row.product_id) if row.product_id else None,
                "product": product_names.get(row.product_id),
                "tier_id": str(row.tier_id) if row.tier_id else None,
                "tier": tier_names.get(row.tier_id),
                "customer_id": str(row.user_id) if row.user_id else None,
                "customer": kind,
                "repository": row.repository,
                "digest": row.digest,
            }
        )

    free = sum(day["free"] for day in daily.values())
    paid = sum(day["paid"] for day in daily.values())
    return {
        "total": free + paid,
        "free": free,
        "paid": paid,
        "daily": [
            {"date": date, "free": counts["free"], "paid": counts["paid"], "total": counts["free"] + counts["paid"]}
            for date, counts in daily.items()
        ],
        "items": items,
    }


class _Totals:
    """Per-currency sums of one report, in minor units."""

    def __init__(self) -> None:
        self.values: dict[str, dict[str, int]] = defaultdict(
            lambda: {"gross": 0, "tax": 0, "refunded": 0, "refunded_tax": 0, "net": 0, "fee": 0, "owed": 0}
        )

    def add_sale(self, currency: str, gross: int, tax: int, fee_basis_points: int) -> None:
        net = gross - tax
        fee = _round_half_up(net * fee_basis_points, 10000)
        entry = self.values[currency]
        entry["gross"] += gross
        entry["tax"] += tax
        entry["net"] += net
        entry["fee"] += fee
        entry["owed"] += net - fee

    def add_refund(self, currency: str, amount: int, tax: int, fee_basis_points: int) -> None:
        net = amount - tax
        fee = _round_half_up(net * fee_basis_points, 10000)
        entry = self.values[currency]
        entry["refunded"] += amount
        entry["refunded_tax"] += tax
        entry["net"] -= net
        entry["fee"] -= fee
        entry["owed"] -= net - fee

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {currency: dict(values) for currency, values in sorted(self.values.items())}


async def _sales_section(
    session, organisation_id, month: Month, product_names, tier_names, fee_basis_points: int
) -> dict:
    start, end = month.start, month.end
    totals = _Totals()

    def names(row) -> dict:
        return {
            "product_id": str(row.product_id),
            "product": product_names.get(row.product_id),
            "tier_id": str(row.tier_id),
            "tier": tier_names.get(row.tier_id),
            "customer_id": str(row.user_id),
        }

    # Refunds up to the end of the month, by order: an order line shows what is left of it.
    refunded_by_order: dict[uuid.UUID, int] = defaultdict(int)
    for row in await session.execute(
        select(refunds.c.order_id, refunds.c.amount).where(
            refunds.c.organisation_id == organisation_id, refunds.c.refunded_at < end
        )
    ):
        refunded_by_order[row.order_id] += row.amount

    purchases = []
    for row in (
        await session.execute(
            select(orders)
            .where(orders.c.organisation_id == organisation_id, orders.c.purchased_at >= start, orders.c.purchased_at < end)
            .order_by(orders.c.purchased_at, orders.c.order_id)
        )
    ).all():
        totals.add_sale(row.currency, row.amount, row.tax_amount, fee_basis_points)
        purchases.append(
            {
                "order_id": str(row.order_id),
                "purchased_at": _iso(row.purchased_at),
                **names(row),
                "mode": row.mode,
                "subscription_id": row.subscription_id,
                "amount": row.amount,
                "tax_amount": row.tax_amount,
                "currency": row.currency,
                "refunded_amount": refunded_by_order.get(row.order_id, 0),
            }
        )

    subscription_rows = {
        row.subscription_id: row
        for row in (
            await session.execute(select(subscriptions).where(subscriptions.c.organisation_id == organisation_id))
        ).all()
    }

    renewal_lines = []
    for row in (
        await session.execute(
            select(renewals)
            .where(
                renewals.c.organisation_id == organisation_id,
                renewals.c.renewed_at >= start,
                renewals.c.renewed_at < end,
            )
            .order_by(renewals.c.renewed_at, renewals.c.event_id)
        )
    ).all():
        subscription = subscription_rows.get(row.subscription_id)
        tax = row.tax_amount or 0
        if row.amount is not None and row.currency is not None:
            # NOTE: a renewal event without `tax_amount` is counted as tax-free.
            totals.add_sale(row.currency, row.amount, tax, fee_basis_points)
        renewal_lines.append(
            {
                "subscription_id": row.subscription_id,
                "order_id": str(row.order_id) if row.order_id else None,
                "renewed_at": _iso(row.renewed_at),
                **(names(subscription) if subscription else {}),
                "amount": row.amount,
                "tax_amount": tax,
                "currency": row.currency,
                "period_end": _iso(row.period_end),
            }
        )

    refund_lines = []
    for row in (
        await session.execute(
            select(refunds, orders.c.amount.label("order_amount"), orders.c.tax_amount.label("order_tax"))
            .outerjoin(orders, orders.c.order_id == refunds.c.order_id)
            .where(
                refunds.c.organisation_id == organisation_id,
                refunds.c.refunded_at >= start,
                refunds.c.refunded_at < end,
            )
            .order_by(refunds.c.refunded_at, refunds.c.refund_id)
        )
    ).all():
        # The refunded tax is the order's tax share of the refunded amount.
        # NOTE: a refund whose order is unknown here is taken as tax-free.
        tax = 0
        if row.order_amount:
            tax = _round_half_up(row.amount * row.order_tax, row.order_amount)
        totals.add_refund(row.currency, row.amount, tax, fee_basis_points)
        refund_lines.append(
            {
                "refund_id": row.refund_id,
                "order_id": str(row.order_id),
                "refunded_at": _iso(row.refunded_at),
                **names(row),
                "amount": row.amount,
                "tax_amount": tax,
                "currency": row.currency,
                "full": row.full,
            }
        )

    first_charge = await _first_charges(session, organisation_id)
    cancellation_lines = []
    subscription_lines = []
    for subscription_id, row in sorted(subscription_rows.items()):
        started_at = row.started_at or first_charge.get(subscription_id)
        if started_at is None or started_at >= end:
            continue
        if row.canceled_at is not None and row.canceled_at < start:
            continue

        canceled_in_month = row.canceled_at is not None and row.canceled_at < end
        until = row.canceled_at if canceled_in_month else end
        charges = await _charge_count(session, subscription_id, end)
        if canceled_in_month:
            cancellation_lines.append(
                {"subscription_id": subscription_id, "canceled_at": _iso(row.canceled_at), **names(row)}
            )
        subscription_lines.append(
            {
                "subscription_id": subscription_id,
                **names(row),
                "started_at": _iso(started_at),
                "canceled_at": _iso(row.canceled_at) if canceled_in_month else None,
                "status": "canceled" if canceled_in_month else "active",
                # Length so far: to the cancellation, or to the end of the month.
                "length_days": (until - started_at).days,
                "charges": charges,
            }
        )

    return {
        "purchases": purchases,
        "renewals": renewal_lines,
        "refunds": refund_lines,
        "cancellations": cancellation_lines,
        "subscriptions": subscription_lines,
        "fee_basis_points": fee_basis_points,
        "totals": totals.as_dict(),
    }


async def _first_charges(session, organisation_id) -> dict[str, datetime]:
    """Return the earliest known charge of each subscription, for those with no start event yet."""
    first: dict[str, datetime] = {}
    for row in await session.execute(
        select(orders.c.subscription_id, orders.c.purchased_at).where(
            orders.c.organisation_id == organisation_id, orders.c.subscription_id.is_not(None)
        )
    ):
        if row.subscription_id not in first or row.purchased_at < first[row.subscription_id]:
            first[row.subscription_id] = row.purchased_at
    return first


async def _charge_count(session, subscription_id: str, end: datetime) -> int:
    """Count the paid periods of a subscription before `end`: its first checkout and each renewal."""
    checkouts = (
        await session.execute(
            select(func.count()).where(orders.c.subscription_id == subscription_id, orders.c.purchased_at < end)
        )
    ).scalar()
    renewed = (
        await session.execute(
            select(func.count()).where(renewals.c.subscription_id == subscription_id, renewals.c.renewed_at < end)
        )
    ).scalar()
    return checkouts + renewed


async def _payout_section(session, organisation_id, month: Month, totals: dict) -> dict:
    statement = (
        await session.execute(
            select(payout_statements)
            .where(payout_statements.c.organisation_id == organisation_id, payout_statements.c.month == str(month))
            .order_by(payout_statements.c.issued_at.desc(), payout_statements.c.statement_id)
            .limit(1)
        )
    ).first()

    currencies = sorted(set(totals) | set(statement.amounts if statement else {}))
    lines = []
    for currency in currencies:
        computed = totals.get(currency, {}).get("owed", 0)
        stated = statement.amounts.get(currency) if statement else None
        lines.append(
            {
                "currency": currency,
                "computed": computed,
                "statement": stated,
                "difference": stated - computed if stated is not None else None,
            }
        )

    if statement is None:
        status = "statement_missing"
        note = f"Billing has not issued a payout statement for {month} yet; the amounts are computed here."
    elif all(line["difference"] == 0 for line in lines):
        status = "matches"
        note = "The amount owed equals billing's payout statement."
    else:
        status = "differs"
        note = "The amount owed differs from billing's payout statement; the statement is what will be paid."

    return {
        "status": status,
        "note": note,
        "statement_id": str(statement.statement_id) if statement else None,
        "statement_issued_at": _iso(statement.issued_at) if statement else None,
        "amounts": lines,
    }
