"""Streamed CSV and JSON writers for exports, one row at a time."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Iterable
from datetime import datetime
from typing import Any

from fastapi.encoders import jsonable_encoder

# Spreadsheets run a cell that starts with one of these as a formula.
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """Return a value safe to open in a spreadsheet: text that looks like a formula gets a leading '."""
    if isinstance(value, dict | list):
        return json.dumps(jsonable_encoder(value), sort_keys=True, separators=(",", ":"))
    if isinstance(value, str) and value.startswith(_FORMULA_PREFIXES):
        return "'" + value
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def csv_line(values: Iterable[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([csv_cell(value) for value in values])
    return buffer.getvalue()


async def stream_csv(header: list[str], rows: AsyncIterator[list[Any]]) -> AsyncIterator[str]:
    yield csv_line(header)
    async for row in rows:
        yield csv_line(row)


async def stream_json_array(items: AsyncIterator[Any]) -> AsyncIterator[str]:
    """Write items as one JSON array, element by element."""
    yield "["
    first = True
    async for item in items:
        yield ("" if first else ",") + "\n" + json.dumps(jsonable_encoder(item), sort_keys=True)
        first = False
    yield "\n]\n"


REPORT_COLUMNS = [
    "section",
    "date",
    "time",
    "product_id",
    "product",
    "tier_id",
    "tier",
    "customer_id",
    "customer_type",
    "order_id",
    "subscription_id",
    "refund_id",
    "free",
    "paid",
    "length_days",
    "amount",
    "tax_amount",
    "currency",
    "detail",
]


def _split_time(moment: str | None) -> dict[str, str | None]:
    if moment is None:
        return {"date": None, "time": None}
    date, _, rest = moment.partition("T")
    return {"date": date, "time": rest}


def report_rows(content: dict[str, Any]) -> Iterable[list[Any]]:
    """Flatten a report's content into CSV rows, one section after another."""

    def row(section: str, **values: Any) -> list[Any]:
        return [section] + [values.get(column) for column in REPORT_COLUMNS[1:]]

    period = content["period"]
    yield row("period", date=content["month"], detail=f"{period['start']} to {period['end']}. {period['note']}")

    for item in content["downloads"]["items"]:
        yield row(
            "download",
            **_split_time(item["pulled_at"]),
            **{key: item[key] for key in ("product_id", "product", "tier_id", "tier", "customer_id")},
            customer_type=item["customer"],
        )
    for day in content["downloads"]["daily"]:
        yield row("daily_downloads", date=day["date"], free=day["free"], paid=day["paid"])

    sales = content["sales"]
    for item in sales["purchases"]:
        yield row(
            "purchase",
            **_split_time(item["purchased_at"]),
            **_common(item),
            order_id=item["order_id"],
            subscription_id=item["subscription_id"],
            amount=item["amount"],
            tax_amount=item["tax_amount"],
            currency=item["currency"],
            detail=f"mode={item['mode']} refunded_amount={item['refunded_amount']}",
        )
    for item in sales["renewals"]:
        yield row(
            "renewal",
            **_split_time(item["renewed_at"]),
            **_common(item),
            order_id=item["order_id"],
            subscription_id=item["subscription_id"],
            amount=item["amount"],
            tax_amount=item["tax_amount"],
            currency=item["currency"],
        )
    for item in sales["refunds"]:
        yield row(
            "refund",
            **_split_time(item["refunded_at"]),
            **_common(item),
            order_id=item["order_id"],
            refund_id=item["refund_id"],
            amount=item["amount"],
            tax_amount=item["tax_amount"],
            currency=item["currency"],
            detail="full" if item["full"] else "partial",
        )
    for item in sales["cancellations"]:
        yield row(
            "cancellation",
            **_split_time(item["canceled_at"]),
            **_common(item),
            subscription_id=item["subscription_id"],
        )
    for item in sales["subscriptions"]:
        yield row(
            "subscription",
            **_split_time(item["started_at"]),
            **_common(item),
            subscription_id=item["subscription_id"],
            length_days=item["length_days"],
            detail=f"status={item['status']} charges={item['charges']}",
        )
    for currency, totals in sales["totals"].items():
        for name, amount in totals.items():
            yield row("total", currency=currency, amount=amount, detail=name)

    payout = content["payout"]
    for line in payout["amounts"]:
        yield row(
            "payout",
            currency=line["currency"],
            amount=line["statement"],
            detail=(
                f"status={payout['status']} computed={line['computed']} "
                f"difference={line['difference']} statement_id={payout['statement_id']}"
            ),
        )


def _common(item: dict[str, Any]) -> dict[str, Any]:
    return {key: item.get(key) for key in ("product_id", "product", "tier_id", "tier", "customer_id")}
