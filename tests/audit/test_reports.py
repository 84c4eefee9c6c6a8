"""Monthly reports built from a month of generated activity, checked line by line."""

from __future__ import annotations

import asyncio
import csv
import io

from sqlalchemy import func, select

from services.audit.models import reports
from services.audit.scheduler import build_due_reports
from shared.clock import FrozenClock
from tests.audit.scenario import Scenario, feed_month, pull
from tests.audit.support import at, audit_service, publisher, staff_user


async def _report_of(service, issuer, organisation_id, month="2025-03"):
    response = await service.client.get(
        "/reports", params={"organisation_id": str(organisation_id), "month": month},
        headers=issuer.headers(staff_user()),
    )
    (summary,) = response.json()["items"]
    detail = await service.client.get(f"/reports/{summary['report_id']}", headers=issuer.headers(staff_user()))
    return detail.json()


async def _outbox_types(service) -> list[str]:
    outbox = service.runtime.metadata.tables["outbox"]
    async with service.runtime.sessionmaker() as session:
        return list((await session.execute(select(outbox.c.type))).scalars())


async def test_month_report_line_by_line():
    clock = FrozenClock(at("2025-04-01T00:00:05"))
    s = Scenario()
    async with audit_service(clock=clock) as (service, transport, issuer):
        await feed_month(transport, s)
        await build_due_reports(service.runtime)

        report = await _report_of(service, issuer, s.acme)
        content = report["content"]

        assert report["month"] == "2025-03"
        assert content["namespace"] == "acme"
        assert content["period"]["start"] == "2025-03-01T00:00:00+00:00"
        assert content["period"]["end"] == "2025-04-01T00:00:00+00:00"
        assert content["period"]["timezone"] == "UTC"

        downloads = content["downloads"]
        assert downloads["total"] == 5
        assert downloads["free"] == 3
        assert downloads["paid"] == 2
        assert [item["pulled_at"] for item in downloads["items"]] == [
            "2025-03-01T00:00:00+00:00",
            "2025-03-03T10:15:00+00:00",
            "2025-03-03T18:00:00+00:00",
            "2025-03-17T09:00:00+00:00",
            "2025-03-31T23:59:59+00:00",
        ]
        assert [item["customer"] for item in downloads["items"]] == ["free", "free", "paid", "free", "paid"]
        assert [item["tier"] for item in downloads["items"]] == ["community", "community", "pro", "community", "perpetual"]
        assert downloads["items"][0]["customer_id"] is None
        assert downloads["items"][0]["product"] == "Acme DB"
        assert len(downloads["daily"]) == 31
        days = {day["date"]: (day["free"], day["paid"]) for day in downloads["daily"] if day["total"]}
        assert days == {
            "2025-03-01": (1, 0),
            "2025-03-03": (1, 1),
            "2025-03-17": (1, 0),
            "2025-03-31": (0, 1),
        }

        sales = content["sales"]
        purchases = {item["order_id"]: item for item in sales["purchases"]}
        assert set(purchases) == {str(s.one_time_order), str(s.subscription_order)}
        one_time = purchases[str(s.one_time_order)]
        assert one_time["amount"] == 5950
        assert one_time["tax_amount"] == 950
        assert one_time["refunded_amount"] == 2000
        assert one_time["tier"] == "perpetual"
        assert one_time["mode"] == "payment"
        subscription_purchase = purchases[str(s.subscription_order)]
        assert subscription_purchase["subscription_id"] == "sub_new"
        assert subscription_purchase["tax_amount"] == 190

        (renewal,) = sales["renewals"]
        assert renewal["subscription_id"] == "sub_old"
        assert renewal["amount"] == 1190
        assert renewal["tax_amount"] == 190
        assert renewal["renewed_at"] == "2025-03-10T08:00:00+00:00"

        (refund,) = sales["refunds"]
        assert refund["refund_id"] == "re_1"
        assert refund["amount"] == 2000
        assert refund["tax_amount"] == 319  # 2000 * 950 / 5950, rounded
        assert refund["full"] is False

        (cancellation,) = sales["cancellations"]
        assert cancellation["subscription_id"] == "sub_old"
        assert cancellation["canceled_at"] == "2025-03-20T16:00:00+00:00"

        subscriptions = {item["subscription_id"]: item for item in sales["subscriptions"]}
        assert subscriptions["sub_old"]["status"] == "canceled"
        assert subscriptions["sub_old"]["started_at"] == "2025-02-10T08:00:00+00:00"
        assert subscriptions["sub_old"]["length_days"] == 38
        assert subscriptions["sub_old"]["charges"] == 2
        assert subscriptions["sub_new"]["status"] == "active"
        assert subscriptions["sub_new"]["length_days"] == 19
        assert subscriptions["sub_new"]["charges"] == 1

        eur = sales["totals"]["EUR"]
        assert eur["gross"] == 8330
        assert eur["tax"] == 1330
        assert eur["refunded"] == 2000
        assert eur["refunded_tax"] == 319
        assert eur["net"] == 5319
        assert eur["fee"] == 1064
        assert eur["owed"] == 4255

        payout = content["payout"]
        assert payout["status"] == "matches"
        assert payout["statement_id"] == str(s.statement)
        assert payout["amounts"] == [{"currency": "EUR", "computed": 4255, "statement": 4255, "difference": 0}]


async def test_report_shows_difference_from_statement():
    clock = FrozenClock(at("2025-04-01T00:00:05"))
    s = Scenario()
    async with audit_service(clock=clock) as (service, transport, issuer):
        await feed_month(transport, s, statement_amount=4000)
        await build_due_reports(service.runtime)

        payout = (await _report_of(service, issuer, s.acme))["content"]["payout"]

        assert payout["status"] == "differs"
        assert payout["amounts"][0]["difference"] == -255


async def test_report_without_statement_says_so():
    clock = FrozenClock(at("2025-04-01T00:00:05"))
    s = Scenario()
    async with audit_service(clock=clock) as (service, transport, issuer):
        await feed_month(transport, s, statement_amount=None)
        await build_due_reports(service.runtime)

        payout = (await _report_of(service, issuer, s.acme))["content"]["payout"]

        assert payout["status"] == "statement_missing"
        assert payout["amounts"][0]["statement"] is None
        assert payout["amounts"][0]["computed"] == 4255


async def test_other_publisher_report_excludes_acme():
    clock = FrozenClock(at("2025-04-01T00:00:05"))
    s = Scenario()
    async with audit_service(clock=clock) as (service, transport, issuer):
        await feed_month(transport, s)
        await build_due_reports(service.runtime)

        content = (await _report_of(service, issuer, s.other))["content"]

        assert content["downloads"]["total"] == 1
        assert content["sales"]["purchases"] == []
        assert content["sales"]["totals"] == {}


async def test_last_second_of_month_in_that_month():
    clock = FrozenClock(at("2025-05-02T00:00:00"))
    s = Scenario()
    owner = publisher(s.acme, "acme")
    async with audit_service(clock=clock) as (service, transport, issuer):
        await pull(transport, s, "2025-03-31T23:59:59", tier=s.free_tier, customer=None, paid=False)
        await pull(transport, s, "2025-03-31T23:59:59.999999", tier=s.free_tier, customer=None, paid=False)
        await pull(transport, s, "2025-04-01T00:00:00", tier=s.free_tier, customer=None, paid=False)

        march = await service.client.post(
            "/reports", json={"organisation_id": str(s.acme), "month": "2025-03"}, headers=issuer.headers(owner)
        )
        april = await service.client.post(
            "/reports", json={"organisation_id": str(s.acme), "month": "2025-04"}, headers=issuer.headers(owner)
        )
        march_content = (await _report_of(service, issuer, s.acme, "2025-03"))["content"]["downloads"]
        april_content = (await _report_of(service, issuer, s.acme, "2025-04"))["content"]["downloads"]

        assert march.status_code == 201
        assert april.status_code == 201
        assert march_content["total"] == 2
        assert march_content["daily"][-1] == {"date": "2025-03-31", "free": 2, "paid": 0, "total": 2}
        assert april_content["total"] == 1
        assert april_content["daily"][0]["total"] == 1


async def test_two_scheduler_passes_build_each_report_once():
    clock = FrozenClock(at("2025-04-01T00:00:05"))
    s = Scenario()
    async with audit_service(clock=clock) as (service, transport, _issuer):
        await feed_month(transport, s)

        # Two replicas' passes at once, on separate connections.
        first, second = await asyncio.gather(
            build_due_reports(service.runtime), build_due_reports(service.runtime)
        )
        third = await build_due_reports(service.runtime)

        async with service.runtime.sessionmaker() as session:
            stored = (await session.execute(select(func.count()).select_from(reports))).scalar()
        announced = [kind for kind in await _outbox_types(service) if kind == "audit.report.generated"]
        assert len(first) + len(second) == 2
        assert third == []
        assert stored == 2
        assert len(announced) == 2


async def test_background_scheduler_waits_grace_period():
    clock = FrozenClock(at("2025-03-31T12:00:00"))
    s = Scenario()
    settings = {"scheduler_enabled": True, "scheduler_interval": 0.05, "report_grace_period": 3600}
    async with audit_service(clock=clock, **settings) as (service, transport, issuer):
        await feed_month(transport, s)
        clock.set(at("2025-04-01T00:59:59"))
        await asyncio.sleep(0.3)
        early = await _march_reports(service)

        clock.set(at("2025-04-01T01:00:00"))
        for _ in range(200):
            if await _march_reports(service) == 2:
                break
            await asyncio.sleep(0.05)

        report = await _report_of(service, issuer, s.acme)
        assert early == 0
        assert report["content"]["downloads"]["total"] == 5


async def _march_reports(service) -> int:
    async with service.runtime.sessionmaker() as session:
        query = select(func.count()).select_from(reports).where(reports.c.month == "2025-03")
        return (await session.execute(query)).scalar()


async def test_report_requested_for_current_month_rejected():
    clock = FrozenClock(at("2025-04-15T00:00:00"))
    s = Scenario()
    async with audit_service(clock=clock) as (service, _transport, issuer):
        response = await service.client.post(
            "/reports", json={"organisation_id": str(s.acme), "month": "2025-04"},
            headers=issuer.headers(publisher(s.acme, "acme")),
        )

        assert response.status_code == 422
        assert "2025-04" in response.json()["detail"]


async def test_report_rebuilt_on_request_revision_grows():
    clock = FrozenClock(at("2025-04-01T00:00:05"))
    s = Scenario()
    owner = publisher(s.acme, "acme")
    async with audit_service(clock=clock) as (service, transport, issuer):
        await feed_month(transport, s, statement_amount=None)
        await build_due_reports(service.runtime)
        await feed_month_statement_late(transport, s)

        rebuilt = await service.client.post(
            "/reports", json={"organisation_id": str(s.acme), "month": "2025-03"}, headers=issuer.headers(owner)
        )
        report = await _report_of(service, issuer, s.acme)

        assert rebuilt.status_code == 201
        assert rebuilt.json()["revision"] == 2
        assert report["content"]["payout"]["status"] == "matches"


async def feed_month_statement_late(transport, s):
    from tests.audit.scenario import feed_statement

    await feed_statement(transport, s, 4255)


async def test_report_csv_and_json_download():
    clock = FrozenClock(at("2025-04-01T00:00:05"))
    s = Scenario()
    owner = publisher(s.acme, "acme")
    async with audit_service(clock=clock) as (service, transport, issuer):
        await feed_month(transport, s)
        await build_due_reports(service.runtime)
        report_id = (await _report_of(service, issuer, s.acme))["report_id"]

        as_csv = await service.client.get(f"/reports/{report_id}/export", params={"format": "csv"}, headers=issuer.headers(owner))
        as_json = await service.client.get(f"/reports/{report_id}/export", params={"format": "json"}, headers=issuer.headers(owner))
        chart = await service.client.get(f"/reports/{report_id}/chart.png", headers=issuer.headers(owner))

        rows = list(csv.DictReader(io.StringIO(as_csv.text)))
        sections = [row["section"] for row in rows]
        downloads = [row for row in rows if row["section"] == "download"]
        owed = [row for row in rows if row["section"] == "total" and row["detail"] == "owed"]
        assert as_csv.status_code == 200
        assert as_csv.headers["content-type"].startswith("text/csv")
        assert sections.count("download") == 5
        assert sections.count("daily_downloads") == 31
        assert sections.count("purchase") == 2
        assert sections.count("renewal") == 1
        assert sections.count("refund") == 1
        assert sections.count("cancellation") == 1
        assert downloads[-1]["date"] == "2025-03-31"
        assert downloads[-1]["time"] == "23:59:59+00:00"
        assert downloads[-1]["customer_type"] == "paid"
        assert owed[0]["amount"] == "4255"
        assert as_json.json()["payout"]["status"] == "matches"
        assert chart.headers["content-type"] == "image/png"
        assert chart.content.startswith(b"\x89PNG\r\n\x1a\n")
