"""The vulnerability-fix SLA with the clock moved: deadlines, holds, lifts and revocations."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta

from services.moderation.scheduler import run_once
from tests.moderation.conftest import moderation_settings
from tests.moderation.support import SECURITY, Product, digest, finding
from tests.support.services import running_service

CRITICAL = finding("CVE-2025-1000", "critical")
MAJOR = finding("CVE-2025-2000", "major", package="zlib")
MINOR = finding("CVE-2025-3000", "minor", package="bash")


async def test_critical_fixed_at_71_hours_not_held(stage, product):
    _version_id, image = await stage.publish(product)
    await stage.detect(product, image, CRITICAL)
    [started] = await stage.events("moderation.sla.started", product_id=product.product_id)
    assert datetime.fromisoformat(started["deadline"]) == stage.clock.now() + timedelta(hours=72)

    stage.advance(hours=71)
    await stage.resolve(product, image, CRITICAL)
    stage.advance(hours=1)
    await run_once(stage.runtime)

    assert await stage.sla_cases(product) == []
    [closed] = await stage.sla_cases(product, state="closed")
    assert closed["close_reason"] == "resolved"
    assert await stage.events("moderation.sla.breached") == []
    assert await stage.events("moderation.listing.held") == []


async def test_critical_unfixed_at_72_hours_held(stage, product):
    _version_id, image = await stage.publish(product)
    await stage.detect(product, image, CRITICAL)

    stage.advance(hours=72, seconds=-1)
    before = await run_once(stage.runtime)
    stage.advance(seconds=1)
    at_deadline = await run_once(stage.runtime)

    assert before.breached == 0
    assert at_deadline.breached == 1
    [breached] = await stage.events("moderation.sla.breached", product_id=product.product_id)
    assert breached["vulnerability_id"] == "CVE-2025-1000"
    [held] = await stage.events("moderation.listing.held", product_id=product.product_id)
    assert "CVE-2025-1000" in held["reason"]
    assert datetime.fromisoformat(held["hold_ends_at"]) == stage.clock.now() + timedelta(days=30)
    [case] = await stage.sla_cases(product)
    assert case["state"] == "breached"
    assert case["time_left_seconds"] == 0


async def test_hold_fixed_on_day_10_lifted(stage, product):
    _version_id, image = await stage.publish(product)
    await stage.detect(product, image, CRITICAL)
    stage.advance(hours=72)
    await run_once(stage.runtime)

    # Day 10 of the hold: a new version without the finding is published.
    stage.advance(days=10)
    _fixed_version_id, fixed_image = await stage.publish(product, version="1.1")
    await run_once(stage.runtime)
    stage.advance(days=30)
    later = await run_once(stage.runtime)

    assert fixed_image != image
    [lifted] = await stage.events("moderation.hold.lifted", product_id=product.product_id)
    assert lifted["organisation_id"] == str(product.publisher.organisation_id)
    [closed] = await stage.sla_cases(product, state="closed")
    assert closed["close_reason"] == "fixed_version"
    assert later.revoked == 0
    assert await stage.events("moderation.listing.revoked") == []


async def test_hold_unfixed_after_month_revoked(stage, product):
    _version_id, image = await stage.publish(product)
    await stage.detect(product, image, CRITICAL)
    stage.advance(hours=72)
    await run_once(stage.runtime)

    stage.advance(days=30, seconds=-1)
    before = await run_once(stage.runtime)
    stage.advance(seconds=1)
    after = await run_once(stage.runtime)

    assert before.revoked == 0
    assert after.revoked == 1
    [revoked] = await stage.events("moderation.listing.revoked", product_id=product.product_id)
    assert "CVE-2025-1000" in revoked["reason"]
    [case] = await stage.sla_cases(product, state="revoked")
    assert case["close_reason"] == "revoked"
    assert await stage.events("moderation.hold.lifted") == []


async def test_major_breached_at_7_days(stage, product):
    _version_id, image = await stage.publish(product)
    await stage.detect(product, image, MAJOR)
    [started] = await stage.events("moderation.sla.started", product_id=product.product_id)

    stage.advance(days=7, seconds=-1)
    before = await run_once(stage.runtime)
    stage.advance(seconds=1)
    after = await run_once(stage.runtime)

    assert datetime.fromisoformat(started["deadline"]) == stage.clock.now()
    assert before.breached == 0
    assert after.breached == 1
    assert len(await stage.events("moderation.listing.held", product_id=product.product_id)) == 1


async def test_minor_never_held(stage, product):
    _version_id, image = await stage.publish(product)
    await stage.detect(product, image, MINOR)

    stage.advance(days=365)
    result = await run_once(stage.runtime)

    assert result.breached == 0
    assert await stage.events("moderation.sla.started") == []
    assert await stage.sla_cases(product) == []
    findings = (await stage.client.get(f"/images/{image}/findings", headers=stage.headers(SECURITY))).json()
    assert [(item["vulnerability_id"], item["effective_class"]) for item in findings] == [("CVE-2025-3000", "minor")]


async def test_repeated_detection_keeps_one_clock(stage, product):
    _version_id, image = await stage.publish(product)
    await stage.detect(product, image, CRITICAL)
    stage.advance(hours=10)
    await stage.detect(product, image, CRITICAL)

    [case] = await stage.sla_cases(product)
    assert case["time_left_seconds"] == 62 * 3600
    assert len(await stage.events("moderation.sla.started")) == 1


async def test_detection_on_unpublished_image_starts_nothing(stage, product):
    await stage.detect(product, digest("never-published"), CRITICAL)

    assert await stage.events("moderation.sla.started") == []


async def test_staff_waiver_closes_case_and_lifts_hold(stage, product):
    _version_id, image = await stage.publish(product)
    await stage.detect(product, image, CRITICAL)
    stage.advance(hours=72)
    await run_once(stage.runtime)
    [case] = await stage.sla_cases(product)

    waived = await stage.client.post(
        f"/sla-cases/{case['id']}/waiver", json={"reason": "Only reachable with local root"}, headers=stage.headers(SECURITY)
    )

    assert waived.status_code == 201, waived.text
    [closed] = await stage.sla_cases(product, state="closed")
    assert closed["close_reason"] == "waived"
    assert len(await stage.events("moderation.hold.lifted", product_id=product.product_id)) == 1


async def test_image_findings_show_waiver_to_publisher(stage, product):
    version_id = uuid.uuid4()
    image = digest("waiver-shown")
    await stage.submit(product, version_id)
    await stage.scan(product, version_id, 0, image, [CRITICAL])
    case = await stage.case_of(product)
    expires_at = stage.clock.now() + timedelta(days=14)
    await stage.client.post(
        f"/cases/{case['id']}/waivers",
        json={
            "image_digest": image,
            "vulnerability_id": CRITICAL["vulnerability_id"],
            "reason": "A fixed package is due next week",
            "expires_at": expires_at.isoformat(),
        },
        headers=stage.headers(SECURITY),
    )

    owner = await stage.client.get(f"/images/{image}/findings", headers=stage.headers(product.publisher.user))
    [finding] = owner.json()

    assert owner.status_code == 200
    assert finding["waived"] is True
    assert finding["waiver"]["reason"] == "A fixed package is due next week"
    assert datetime.fromisoformat(finding["waiver"]["expires_at"]) == expires_at
    assert finding["waiver"]["case_id"] == case["id"]

    # Once it expires, the finding shows no waiver.
    stage.advance(days=14)
    [expired] = (await stage.client.get(f"/images/{image}/findings", headers=stage.headers(product.publisher.user))).json()
    assert expired["waived"] is False
    assert expired["waiver"] is None


async def test_reclassified_below_major_closes_case(stage, product):
    _version_id, image = await stage.publish(product)
    await stage.detect(product, image, MAJOR)
    [case] = await stage.sla_cases(product)

    response = await stage.client.post(
        f"/sla-cases/{case['id']}/classification",
        json={"finding_class": "minor", "reason": "Needs a local attacker with a shell"},
        headers=stage.headers(SECURITY),
    )

    assert response.status_code == 200, response.text
    assert response.json()["state"] == "closed"
    assert response.json()["close_reason"] == "reclassified"
    stage.advance(days=8)
    assert (await run_once(stage.runtime)).breached == 0


async def test_reclassified_to_critical_shortens_deadline(stage, product):
    _version_id, image = await stage.publish(product)
    await stage.detect(product, image, MAJOR)
    [case] = await stage.sla_cases(product)

    response = await stage.client.post(
        f"/sla-cases/{case['id']}/classification",
        json={"finding_class": "critical", "reason": "Exploited in the wild"},
        headers=stage.headers(SECURITY),
    )

    assert response.status_code == 200, response.text
    assert response.json()["time_left_seconds"] == 72 * 3600


async def test_expired_waiver_starts_sla(stage, product):
    version_id = uuid.uuid4()
    image = digest("waived-until")
    await stage.submit(product, version_id)
    await stage.scan(product, version_id, 0, image, [CRITICAL])
    case = await stage.case_of(product)
    expires_at = stage.clock.now() + timedelta(days=14)
    waived = await stage.client.post(
        f"/cases/{case['id']}/waivers",
        json={
            "image_digest": image,
            "vulnerability_id": CRITICAL["vulnerability_id"],
            "reason": "A fixed package is due next week",
            "expires_at": expires_at.isoformat(),
        },
        headers=stage.headers(SECURITY),
    )
    assert waived.status_code == 201, waived.text
    await stage.approve(case["id"])
    await stage.deliver("catalog.product.published", product.published(version_id))
    assert await stage.events("moderation.sla.started") == []

    stage.advance(days=14)
    result = await run_once(stage.runtime)

    assert result.waivers_expired == 1
    [started] = await stage.events("moderation.sla.started", product_id=product.product_id)
    assert datetime.fromisoformat(started["deadline"]) == stage.clock.now() + timedelta(hours=72)


async def test_two_replicas_make_each_transition_once(stage, publisher):
    products = [Product(publisher=publisher, slug=f"product-{index}") for index in range(12)]
    for item in products:
        _version_id, image = await stage.publish(item)
        await stage.detect(item, image, CRITICAL, MAJOR)

    async with running_service(
        _create_app,
        database="moderation",
        recreate=False,
        transport=stage.runtime.transport,
        clock=stage.clock,
        settings=moderation_settings(scheduler_batch_size=3),
    ) as replica:
        stage.advance(days=7)
        await asyncio.gather(*(run_once(runtime) for runtime in [stage.runtime, replica.runtime] * 3))
        stage.advance(days=30)
        await asyncio.gather(*(run_once(runtime) for runtime in [stage.runtime, replica.runtime] * 3))
        await asyncio.gather(run_once(stage.runtime), run_once(replica.runtime))

    breached = await stage.events("moderation.sla.breached")
    held = await stage.events("moderation.listing.held")
    revoked = await stage.events("moderation.listing.revoked")
    assert len(breached) == 24
    assert len({event["sla_case_id"] for event in breached}) == 24
    assert sorted(event["product_id"] for event in held) == sorted(str(item.product_id) for item in products)
    assert sorted(event["product_id"] for event in revoked) == sorted(str(item.product_id) for item in products)


async def test_deadlines_survive_restart(stage, product, issuer):
    _version_id, image = await stage.publish(product)
    await stage.detect(product, image, CRITICAL)

    # A new process on the same database, started after the deadline passed.
    stage.advance(hours=80)
    async with running_service(
        _create_app,
        database="moderation",
        recreate=False,
        transport=stage.runtime.transport,
        clock=stage.clock,
        settings=moderation_settings(),
    ) as restarted:
        result = await run_once(restarted.runtime)

    assert result.breached == 1
    assert len(await stage.events("moderation.listing.held", product_id=product.product_id)) == 1


def _create_app(**options):
    from services.moderation.app import create_app

    return create_app(**options)


async def test_unlisted_product_not_held(stage, product):
    _version_id, image = await stage.publish(product)
    await stage.detect(product, image, CRITICAL)
    await stage.deliver(
        "catalog.product.unlisted",
        {"product_id": product.product_id, "organisation_id": product.publisher.organisation_id},
    )

    stage.advance(hours=72)
    result = await run_once(stage.runtime)

    assert result.breached == 0
    [closed] = await stage.sla_cases(product, state="closed")
    assert closed["close_reason"] == "unlisted"


async def test_platform_image_detection_starts_sla_on_index(stage, product):
    version_id = uuid.uuid4()
    index, amd64, arm64 = digest("index"), digest("linux/amd64"), digest("linux/arm64")
    await stage.submit(product, version_id)
    await stage.scan(product, version_id, 0, index, platform_digests=[amd64, arm64])
    await stage.approve((await stage.case_of(product))["id"])
    await stage.deliver("catalog.version.published", product.published(version_id))

    await stage.detect(product, arm64, CRITICAL)
    [case] = await stage.sla_cases(product)
    await stage.resolve(product, arm64, CRITICAL)

    assert case["image_digest"] == index
    [closed] = await stage.sla_cases(product, state="closed")
    assert closed["close_reason"] == "resolved"
