"""The activity query API: staff filters, cursor pages, streamed exports."""

from __future__ import annotations

import csv
import io
import uuid

from shared.clock import FrozenClock
from tests.audit.scenario import Scenario, feed_month
from tests.audit.support import at, audit_service, deliver, publisher, sample_data, staff_user


async def _all_pages(service, headers, params) -> list[dict]:
    items, cursor = [], None
    while True:
        page = await service.client.get("/activity", params={**params, **({"cursor": cursor} if cursor else {})}, headers=headers)
        assert page.status_code == 200, page.text
        body = page.json()
        items.extend(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return items


async def test_staff_pages_through_filtered_activity():
    clock = FrozenClock(at("2025-04-01T00:00:05"))
    s = Scenario()
    async with audit_service(clock=clock) as (service, transport, issuer):
        await feed_month(transport, s)
        headers = issuer.headers(staff_user())

        pulls = await _all_pages(service, headers, {"action": "licensing.image.pulled", "limit": 2})
        march_pulls = await _all_pages(
            service,
            headers,
            {
                "action": "licensing.image.pulled",
                "organisation_id": str(s.acme),
                "occurred_from": "2025-03-01T00:00:00+00:00",
                "occurred_to": "2025-04-01T00:00:00+00:00",
            },
        )
        by_actor = await _all_pages(service, headers, {"actor_id": str(s.customers[1])})
        by_product = await _all_pages(service, headers, {"product_id": str(s.other_product)})

        assert len(pulls) == 9
        assert [item["occurred_at"] for item in pulls] == sorted((item["occurred_at"] for item in pulls), reverse=True)
        assert len({item["seq"] for item in pulls}) == 9
        # The registry notification relayed twice is two log rows, one download.
        assert len(march_pulls) == 6
        assert march_pulls[-1]["occurred_at"] == "2025-03-01T00:00:00Z"
        assert {item["action"] for item in by_actor} == {
            "licensing.image.pulled",
            "billing.checkout.completed",
            "billing.subscription.started",
        }
        assert {item["action"] for item in by_product} == {"catalog.product.published", "licensing.image.pulled"}


async def test_naive_time_filter_rejected():
    clock = FrozenClock(at("2025-04-01T00:00:05"))
    async with audit_service(clock=clock) as (service, _transport, issuer):
        response = await service.client.get(
            "/activity", params={"occurred_from": "2025-03-01T00:00:00"}, headers=issuer.headers(staff_user())
        )

        assert response.status_code == 422
        assert "occurred_from" in response.json()["detail"]


async def test_activity_csv_export_streams_every_row():
    clock = FrozenClock(at("2025-04-01T00:00:05"))
    s = Scenario()
    async with audit_service(clock=clock) as (service, transport, issuer):
        await feed_month(transport, s)

        response = await service.client.get(
            "/activity/export",
            params={"format": "csv", "organisation_id": str(s.acme)},
            headers=issuer.headers(publisher(s.acme, "acme")),
        )

        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        assert {row["organisation_id"] for row in rows} == {str(s.acme)}
        assert rows[0]["occurred_at"] <= rows[-1]["occurred_at"]
        # Organisation and product (2), acme's pulls (8), sales (8) and the statement (1).
        assert len(rows) == 19
        assert rows[0]["occurred_at"] == "2025-01-10T09:00:00+00:00"


async def test_activity_json_export_is_array():
    clock = FrozenClock(at("2025-04-01T00:00:05"))
    async with audit_service(clock=clock) as (service, transport, issuer):
        for _ in range(3):
            await deliver(transport, "catalog.product.unlisted", sample_data("catalog.product.unlisted"), occurred_at=clock.now())

        response = await service.client.get(
            "/activity/export", params={"format": "json"}, headers=issuer.headers(staff_user())
        )

        body = response.json()
        assert response.status_code == 200
        assert [item["seq"] for item in body] == [1, 2, 3]
        assert body[0]["action"] == "catalog.product.unlisted"


async def test_csv_export_neutralises_formulas():
    clock = FrozenClock(at("2025-04-01T00:00:05"))
    async with audit_service(clock=clock) as (service, transport, issuer):
        await deliver(
            transport,
            "catalog.product.unlisted",
            sample_data("catalog.product.unlisted"),
            occurred_at=clock.now(),
            subject="=HYPERLINK(\"http://example.org\")",
        )

        response = await service.client.get("/activity/export", headers=issuer.headers(staff_user()))

        (row,) = list(csv.DictReader(io.StringIO(response.text)))
        assert row["subject"].startswith("'=")


async def test_anonymous_request_rejected():
    clock = FrozenClock(at("2025-04-01T00:00:05"))
    async with audit_service(clock=clock) as (service, _transport, _issuer):
        response = await service.client.get("/activity")

        assert response.status_code == 401


async def test_member_without_filter_sees_own_organisations():
    clock = FrozenClock(at("2025-04-01T00:00:05"))
    s = Scenario()
    async with audit_service(clock=clock) as (service, transport, issuer):
        await feed_month(transport, s)
        viewer = publisher(s.other, "other", role="viewer")

        items = await _all_pages(service, issuer.headers(viewer), {})

        assert {item["organisation_id"] for item in items} == {str(s.other)}
        assert len(items) == 3


async def test_user_without_organisation_sees_nothing():
    clock = FrozenClock(at("2025-04-01T00:00:05"))
    s = Scenario()
    async with audit_service(clock=clock) as (service, transport, issuer):
        await feed_month(transport, s)
        loner = publisher(uuid.uuid4(), "lonely")

        items = await _all_pages(service, issuer.headers(loner), {})

        assert items == []
