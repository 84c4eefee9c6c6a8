"""The scanning service's vulnerability API and events, run as a real app."""

from __future__ import annotations

import json
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import create_async_engine

from services.scanning.app import create_app
from services.scanning.vulns import service
from shared.auth import JwksCache
from shared.clock import FrozenClock
from shared.events.memory import InMemoryTransport
from tests.support.environment import database_url
from tests.support.services import running_service
from tests.support.tokens import TestUser, TokenIssuer
from tests.vulns.factories import inventory, osv_record, wheel

START = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
BELOW_7 = [{"introduced": "0"}, {"fixed": "7.0"}]
HIGH = [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"}]


def write_export(folder: Path, records: list[dict]) -> None:
    """Write records as osv.dev lays out an ecosystem export: `PyPI/all.zip`."""
    (folder / "PyPI").mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(folder / "PyPI" / "all.zip", "w") as archive:
        for record in records:
            archive.writestr(f"{record['id']}.json", json.dumps(record))


def first_feed() -> list[dict]:
    return [
        osv_record("PYSEC-9002-1", "PyPI", "jinja2", BELOW_7, severity=HIGH),
        osv_record("PYSEC-9002-2", "PyPI", "flask", BELOW_7),
    ]


def second_feed() -> list[dict]:
    records = first_feed()
    records[1]["withdrawn"] = "2026-01-06T00:00:00Z"
    records.append(osv_record("PYSEC-9002-3", "PyPI", "click", BELOW_7))
    return records


@pytest.fixture
def feeds(tmp_path, monkeypatch) -> Path:
    monkeypatch.delenv("WHARF_SCANNING_OSV_FEED_URL", raising=False)
    monkeypatch.setenv("WHARF_SCANNING_OSV_FEED_DIR", str(tmp_path))
    write_export(tmp_path, first_feed())
    return tmp_path


@pytest.fixture
async def api(feeds):
    issuer = TokenIssuer()
    jwks = JwksCache("http://127.0.0.1:9/jwks.json")
    issuer.install(jwks)
    clock = FrozenClock(START)
    transport = InMemoryTransport(retry_delays=[0.01])
    async with running_service(
        create_app, database="vulns_api", transport=transport, clock=clock, jwks=jwks
    ) as running:
        yield running, issuer, clock


ORG = uuid.uuid4()
SECURITY = TestUser(username="sec", staff=("security",))
PUBLISHER = TestUser(username="pub", orgs=((ORG, "acme", "viewer"),))
OTHER = TestUser(username="other", orgs=((uuid.uuid4(), "rival", "owner"),))


async def scanned_image(running):
    image = inventory([wheel("Jinja2", "2.10"), wheel("Flask", "0.12.2"), wheel("click", "6.7")], organization_id=ORG)
    async with running.runtime.sessionmaker() as session, session.begin():
        await service.assess_inventory(session, image, now=START)
    return image


async def outbox_events(running) -> list[dict]:
    outbox = running.runtime.metadata.tables["outbox"]
    async with running.runtime.sessionmaker() as session:
        rows = (await session.execute(select(outbox.c.envelope))).scalars()
        # Events of one transaction share their time, so they are ordered by type.
        return sorted(rows, key=lambda envelope: (envelope["occurred_at"], envelope["type"]))


async def test_feed_update_emits_two_events(api, feeds):
    running, issuer, clock = api
    staff = issuer.headers(SECURITY)
    first = await running.client.post("/vulnerability-feeds/imports", json={}, headers=staff)
    image = await scanned_image(running)

    write_export(feeds, second_feed())
    clock.advance(timedelta(days=1))
    second = await running.client.post("/vulnerability-feeds/imports", json={"feeds": ["PyPI"]}, headers=staff)
    repeat = await running.client.post("/vulnerability-feeds/imports", json={}, headers=staff)
    events = await outbox_events(running)

    assert first.status_code == 200
    assert second.status_code == 200
    assert second.json()["imports"][0]["added"] == 1
    assert second.json()["imports"][0]["withdrawn"] == 1
    assert second.json()["images_changed"] == 1
    assert repeat.json()["images_changed"] == 0
    assert [event["type"] for event in events] == [
        "scanning.vulnerability.detected",
        "scanning.vulnerability.resolved",
    ]
    detected, resolved = events
    assert detected["subject"] == str(image.image_id)
    assert detected["data"]["organisation_id"] == str(ORG)
    assert [f["vulnerability_id"] for f in detected["data"]["findings"]] == ["PYSEC-9002-3"]
    assert detected["data"]["findings"][0]["finding_class"] == "unclassified"
    assert [f["vulnerability_id"] for f in resolved["data"]["findings"]] == ["PYSEC-9002-2"]


async def test_import_needs_security_role(api):
    running, issuer, _ = api

    response = await running.client.post("/vulnerability-feeds/imports", json={}, headers=issuer.headers(PUBLISHER))

    assert response.status_code == 403


async def test_import_while_another_runs(api):
    running, issuer, _ = api
    engine = create_async_engine(database_url("vulns_api"))
    try:
        async with engine.connect() as holder:
            # Holding the import lock, as a running import does.
            lock = text("SELECT pg_advisory_lock(:key)")
            await holder.execute(lock, {"key": service.FEED_IMPORT_LOCK})
            response = await running.client.post(
                "/vulnerability-feeds/imports", json={}, headers=issuer.headers(SECURITY)
            )
    finally:
        await engine.dispose()

    assert response.status_code == 409
    assert response.headers["retry-after"] == "30"
    assert "Another import of the OSV feeds is running" in response.json()["detail"]


async def test_unknown_feed_rejected(api):
    running, issuer, _ = api

    response = await running.client.post(
        "/vulnerability-feeds/imports", json={"feeds": ["Cobol"]}, headers=issuer.headers(SECURITY)
    )

    assert response.status_code == 422
    assert "Cobol" in response.json()["detail"]


async def test_publisher_reads_own_findings(api):
    running, issuer, _ = api
    await running.client.post("/vulnerability-feeds/imports", json={}, headers=issuer.headers(SECURITY))
    image = await scanned_image(running)

    own = await running.client.get(f"/images/{image.image_id}/findings", headers=issuer.headers(PUBLISHER))
    other = await running.client.get(f"/images/{image.image_id}/findings", headers=issuer.headers(OTHER))
    summary = await running.client.get(
        f"/images/{image.image_id}/findings/summary", headers=issuer.headers(PUBLISHER)
    )

    assert own.status_code == 200
    assert sorted(item["vulnerability_id"] for item in own.json()["items"]) == ["PYSEC-9002-1", "PYSEC-9002-2"]
    assert other.status_code == 404
    assert summary.json()["counts"]["critical"] == 1
    assert summary.json()["counts"]["unclassified"] == 1
    assert summary.json()["highest_score"] == 7.5
    assert summary.json()["fixes_available"] is True


async def test_staff_classify_and_waive(api):
    running, issuer, clock = api
    staff = issuer.headers(SECURITY)
    await running.client.post("/vulnerability-feeds/imports", json={}, headers=staff)
    image = await scanned_image(running)
    listing = await running.client.get(f"/images/{image.image_id}/findings", headers=staff)
    by_id = {item["vulnerability_id"]: item for item in listing.json()["items"]}
    unscored = by_id["PYSEC-9002-2"]["id"]
    scored = by_id["PYSEC-9002-1"]["id"]

    classified = await running.client.post(
        f"/findings/{unscored}/classifications",
        json={"finding_class": "major", "reason": "remote crash in the request parser"},
        headers=staff,
    )
    expiry = (clock.now() + timedelta(days=30)).isoformat()
    waived = await running.client.post(
        f"/findings/{scored}/waivers",
        json={"kind": "not_affected", "reason": "sandboxed templates only", "expires_at": expiry},
        headers=staff,
    )
    by_publisher = await running.client.post(
        f"/findings/{scored}/waivers",
        json={"kind": "false_positive", "reason": "no"},
        headers=issuer.headers(PUBLISHER),
    )
    detail = await running.client.get(f"/findings/{unscored}", headers=issuer.headers(PUBLISHER))
    hidden = await running.client.get(f"/findings/{unscored}", headers=issuer.headers(OTHER))
    summary = await running.client.get(f"/images/{image.image_id}/findings/summary", headers=staff)

    assert classified.status_code == 201
    assert classified.json()["finding_class"] == "major"
    assert classified.json()["cvss_class"] == "unclassified"
    assert waived.status_code == 201
    assert waived.json()["waived"] is True
    assert by_publisher.status_code == 403
    assert detail.json()["classifications"][0]["reason"] == "remote crash in the request parser"
    assert hidden.status_code == 404
    assert summary.json()["counts"]["major"] == 1
    assert summary.json()["counts"]["critical"] == 0
    assert summary.json()["waived"] == 1


async def test_waived_finding_shows_its_waiver(api):
    running, issuer, clock = api
    staff = issuer.headers(SECURITY)
    await running.client.post("/vulnerability-feeds/imports", json={}, headers=staff)
    image = await scanned_image(running)
    listing = await running.client.get(f"/images/{image.image_id}/findings", headers=staff)
    scored = {item["vulnerability_id"]: item["id"] for item in listing.json()["items"]}["PYSEC-9002-1"]
    expiry = clock.now() + timedelta(days=30)
    await running.client.post(
        f"/findings/{scored}/waivers",
        json={"kind": "not_affected", "reason": "sandboxed templates only", "expires_at": expiry.isoformat()},
        headers=staff,
    )

    own = await running.client.get(f"/images/{image.image_id}/findings", headers=issuer.headers(PUBLISHER))
    by_staff = await running.client.get(f"/images/{image.image_id}/findings", headers=staff)
    other = await running.client.get(f"/images/{image.image_id}/findings", headers=issuer.headers(OTHER))
    clock.advance(timedelta(days=31))
    expired = await running.client.get(f"/images/{image.image_id}/findings", headers=issuer.headers(PUBLISHER))

    assert own.status_code == 200
    by_vulnerability = {item["vulnerability_id"]: item for item in own.json()["items"]}
    waived = by_vulnerability["PYSEC-9002-1"]
    assert waived["waived"] is True
    assert waived["waiver"]["reason"] == "sandboxed templates only"
    assert waived["waiver"]["kind"] == "not_affected"
    assert datetime.fromisoformat(waived["waiver"]["expires_at"]) == expiry
    assert waived["waiver"]["staff_id"] == str(SECURITY.user_id)
    assert by_vulnerability["PYSEC-9002-2"]["waived"] is False
    assert by_vulnerability["PYSEC-9002-2"]["waiver"] is None
    assert by_staff.status_code == 200
    staff_view = {item["vulnerability_id"]: item for item in by_staff.json()["items"]}
    assert staff_view["PYSEC-9002-1"]["waiver"]["reason"] == "sandboxed templates only"
    assert other.status_code == 404
    assert "sandboxed" not in other.text
    after_expiry = {item["vulnerability_id"]: item for item in expired.json()["items"]}
    assert after_expiry["PYSEC-9002-1"]["waived"] is False
    assert after_expiry["PYSEC-9002-1"]["waiver"] is None
