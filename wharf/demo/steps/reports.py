"""Step 8: the month ends, and the publisher's report matches the payout statement."""

from __future__ import annotations

from datetime import timedelta

from wharf.demo.accounts import admin_account, sign_in_again
from wharf.demo.client import StepFailed, eventually
from wharf.demo.journey import Journey


async def monthly_report(journey: Journey) -> None:
    state = journey.state
    await admin_account(journey)
    month_start = state.pull_month.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    next_month = (month_start + timedelta(days=32)).replace(day=1)
    month = month_start.strftime("%Y-%m")

    # First just past the month end: billing issues the payout statements of the month.
    moved = await journey.store.advance_clock_to(next_month + timedelta(minutes=5))
    journey.say(f"clock moved past the month end to {moved.isoformat(timespec='minutes')}")
    await sign_in_again(journey)
    await journey.store.run_scheduler("billing")
    publisher = journey.client(state.publisher)

    async def statement() -> dict | None:
        page = await publisher.get(
            f"/api/billing/organisations/{state.organisation_id}/statements", what="list payout statements"
        )
        return next((s for s in page["items"] if s.get("month") == month), None)

    issued = await eventually(statement, what=f"billing issues the {month} payout statement", timeout=120, interval=1.0)
    journey.say(f"payout statement for {month}: {issued['amounts']} owed ({issued['payout_method']} payout)")

    # Then past the audit service's grace period for late events, when it builds the reports.
    moved = await journey.store.advance_clock_to(next_month + timedelta(hours=7))
    journey.say(f"clock moved past the report grace period to {moved.isoformat(timespec='minutes')}")
    await sign_in_again(journey)
    publisher = journey.client(state.publisher)
    await journey.store.run_scheduler("audit")

    async def report() -> dict | None:
        page = await publisher.get(
            "/api/audit/reports", params={"organisation_id": state.organisation_id, "month": month}, what="list reports"
        )
        return page["items"][0] if page["items"] else None

    summary = await eventually(report, what=f"audit builds the {month} report", timeout=120, interval=1.0)
    content = (await publisher.get(f"/api/audit/reports/{summary['report_id']}", what="read the report"))["content"]
    if content["payout"]["status"] == "statement_missing":
        # A clock jump past both the month end and the grace period can build the report
        # before the statement's event arrives. A rebuild then includes the statement.
        journey.say("the report predates the payout statement, so the publisher has it rebuilt")
        content = await _rebuilt_report(journey, month)
    _check_report(journey, content, issued)


async def _rebuilt_report(journey: Journey, month: str) -> dict:
    publisher = journey.client(journey.state.publisher)

    async def rebuilt() -> dict | None:
        summary = await publisher.post(
            "/api/audit/reports",
            json={"organisation_id": journey.state.organisation_id, "month": month},
            what="rebuild the monthly report",
            expect=201,
        )
        detail = await publisher.get(f"/api/audit/reports/{summary['report_id']}", what="read the report")
        content = detail["content"]
        return content if content["payout"]["status"] != "statement_missing" else None

    return await eventually(rebuilt, what="the rebuilt report includes the payout statement", timeout=60, interval=2.0)


def _check_report(journey: Journey, content: dict, statement: dict) -> None:
    """Check the report's downloads, purchase and amount owed against what the journey did."""
    state = journey.state
    downloads = [item for item in content["downloads"]["items"] if item["product_id"] == state.product_id]
    customer_downloads = [item for item in downloads if item["customer_id"] == state.customer.user_id]
    kinds = sorted(item["customer"] for item in customer_downloads)
    if kinds != ["free", "paid"]:
        raise StepFailed(f"the report lists the customer's downloads as {kinds}, expected one free and one paid")
    for item in customer_downloads:
        journey.say(f"download by a {item['customer']} customer on {item['date']} at {item['time']} ({item['tier']})")

    purchases = [p for p in content["sales"]["purchases"] if p["tier_id"] == state.paid_tier_id]
    if len(purchases) != 1:
        raise StepFailed(f"the report lists {len(purchases)} purchases of the paid tier, expected 1")
    purchase = purchases[0]
    journey.say(
        f"purchase on {purchase['purchased_at']}: {purchase['amount']} {purchase['currency']} "
        f"including tax {purchase['tax_amount']}"
    )
    if purchase["tax_amount"] != state.order["tax_amount"]:
        raise StepFailed(
            f"the report's tax {purchase['tax_amount']} differs from the order's {state.order['tax_amount']}"
        )
    if purchase["tax_amount"] <= 0:
        raise StepFailed("the purchase carries no tax, but the sandbox checkout applies 20 % VAT")

    payout = content["payout"]
    for line in payout["amounts"]:
        journey.say(
            f"amount owed in {line['currency']}: computed {line['computed']}, payout statement {line['statement']}"
        )
    if payout["status"] != "matches":
        raise StepFailed(f"the report's amount owed does not match the payout statement: {payout}")
    if {line["currency"]: line["statement"] for line in payout["amounts"]} != statement["amounts"]:
        raise StepFailed(f"the report names other statement amounts than billing's {statement['amounts']}")
