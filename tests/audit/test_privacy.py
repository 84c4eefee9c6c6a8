"""A publisher cannot read another organisation's activity or reports: each endpoint gives 404."""

from __future__ import annotations

import pytest

from services.audit.scheduler import build_due_reports
from shared.clock import FrozenClock
from tests.audit.scenario import Scenario, feed_month
from tests.audit.support import at, audit_service, publisher, staff_user


@pytest.fixture
def scenario() -> Scenario:
    return Scenario()


async def _acme_report_id(service, issuer, s) -> str:
    response = await service.client.get(
        "/reports", params={"organisation_id": str(s.acme)}, headers=issuer.headers(staff_user())
    )
    return response.json()["items"][0]["report_id"]


def _requests(s: Scenario, report_id: str) -> list[tuple[str, str, dict]]:
    acme = str(s.acme)
    return [
        ("GET", "/activity", {"params": {"organisation_id": acme}}),
        ("GET", "/activity/export", {"params": {"organisation_id": acme}}),
        ("GET", "/activity/export", {"params": {"organisation_id": acme, "format": "json"}}),
        ("GET", "/reports", {"params": {"organisation_id": acme}}),
        ("POST", "/reports", {"json": {"organisation_id": acme, "month": "2025-03"}}),
        ("GET", f"/reports/{report_id}", {}),
        ("GET", f"/reports/{report_id}/export", {"params": {"format": "csv"}}),
        ("GET", f"/reports/{report_id}/export", {"params": {"format": "json"}}),
        ("GET", f"/reports/{report_id}/chart.png", {}),
    ]


async def test_other_publisher_gets_404_everywhere(scenario):
    s = scenario
    clock = FrozenClock(at("2025-04-01T00:00:05"))
    async with audit_service(clock=clock) as (service, transport, issuer):
        await feed_month(transport, s)
        await build_due_reports(service.runtime)
        report_id = await _acme_report_id(service, issuer, s)
        outsider = issuer.headers(publisher(s.other, "other"))

        for method, path, options in _requests(s, report_id):
            response = await service.client.request(method, path, headers=outsider, **options)
            assert response.status_code == 404, f"{method} {path} {options}: {response.status_code}"


async def test_own_publisher_reads_everything(scenario):
    s = scenario
    clock = FrozenClock(at("2025-04-01T00:00:05"))
    async with audit_service(clock=clock) as (service, transport, issuer):
        await feed_month(transport, s)
        await build_due_reports(service.runtime)
        report_id = await _acme_report_id(service, issuer, s)
        member = issuer.headers(publisher(s.acme, "acme", role="viewer"))

        for method, path, options in _requests(s, report_id):
            response = await service.client.request(method, path, headers=member, **options)
            assert response.status_code in (200, 201), f"{method} {path} {options}: {response.status_code}"


async def test_report_list_without_filter_shows_own_only(scenario):
    s = scenario
    clock = FrozenClock(at("2025-04-01T00:00:05"))
    async with audit_service(clock=clock) as (service, transport, issuer):
        await feed_month(transport, s)
        await build_due_reports(service.runtime)

        response = await service.client.get("/reports", headers=issuer.headers(publisher(s.other, "other")))

        items = response.json()["items"]
        assert [item["organisation_id"] for item in items] == [str(s.other)]


async def test_export_without_filter_hides_other_organisations(scenario):
    s = scenario
    clock = FrozenClock(at("2025-04-01T00:00:05"))
    async with audit_service(clock=clock) as (service, transport, issuer):
        await feed_month(transport, s)

        response = await service.client.get(
            "/activity/export", params={"format": "json"}, headers=issuer.headers(publisher(s.other, "other"))
        )

        assert {item["organisation_id"] for item in response.json()} == {str(s.other)}


async def test_publisher_cannot_verify_chain(scenario):
    s = scenario
    clock = FrozenClock(at("2025-04-01T00:00:05"))
    async with audit_service(clock=clock) as (service, _transport, issuer):
        response = await service.client.get(
            "/activity/verification", headers=issuer.headers(publisher(s.acme, "acme"))
        )

        assert response.status_code == 403
