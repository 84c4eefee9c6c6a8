"""Certification: conditions, a reviewer's grant, and withdrawal by a hold, a failed check or staff."""

from __future__ import annotations

import uuid

from services.moderation.scheduler import run_once
from tests.moderation.support import REVIEWER, Product, digest, finding

PLATFORMS = ["linux/amd64 with Docker 27.3", "linux/arm64 with Docker 27.3"]


async def _request(stage, product: Product, **overrides):
    body = {
        "product_id": str(product.product_id),
        "badge": "certified_plugin" if product.product_type == "plugin" else "certified_container",
        "joint_support_attested": True,
        "tested_platforms": PLATFORMS,
        **overrides,
    }
    return await stage.client.post("/certifications", json=body, headers=stage.headers(product.publisher.user))


async def test_granted_then_withdrawn_by_hold(stage, product):
    _version_id, image = await stage.publish(product)
    requested = await _request(stage, product)
    assert requested.status_code == 201, requested.text

    granted = await stage.client.post(
        f"/certifications/{requested.json()['id']}/grant",
        json={"note": "Checks pass; joint support confirmed"},
        headers=stage.headers(REVIEWER),
    )
    assert granted.status_code == 200, granted.text
    [grant_event] = await stage.events("moderation.certification.granted", product_id=product.product_id)
    assert grant_event["badge"] == "certified_container"

    await stage.detect(product, image, finding("CVE-2025-4000", "critical"))
    stage.advance(hours=72)
    await run_once(stage.runtime)

    [withdrawn] = await stage.events("moderation.certification.withdrawn", product_id=product.product_id)
    assert withdrawn["badge"] == "certified_container"
    assert withdrawn["reason"].startswith("The listing is held")
    record = (await stage.client.get(f"/certifications/{requested.json()['id']}", headers=stage.headers(REVIEWER))).json()
    assert record["state"] == "withdrawn"


async def test_request_lists_unmet_conditions(stage, product):
    product_without_support = Product(publisher=product.publisher, slug="no-support")
    version_id = uuid.uuid4()
    await stage.submit(product_without_support, version_id, manifest={"support": {"url": "https://example.org/help"}})
    await stage.scan(product_without_support, version_id, 0, digest("no-support"), checks_passed=False)
    await stage.approve((await stage.case_of(product_without_support))["id"])
    await stage.deliver("catalog.product.published", product_without_support.published(version_id))

    response = await _request(stage, product_without_support, joint_support_attested=False, tested_platforms=[])

    assert response.status_code == 409
    unmet = response.json()["unmet"]
    assert any("best-practice checks" in item for item in unmet)
    assert any("support SLA" in item for item in unmet)
    assert any("joint support" in item for item in unmet)
    assert any("platforms" in item for item in unmet)


async def test_plugin_needs_plugin_checks(stage, publisher):
    plugin = Product(publisher=publisher, product_type="plugin", slug="volume-plugin")
    await stage.publish(plugin, plugin_checks_passed=False)

    response = await _request(stage, plugin)

    assert response.status_code == 409
    assert response.json()["unmet"] == [
        f"The plugin configuration checks of {plugin.reference(0, '1.0')} have not passed"
    ]


async def test_badge_must_match_product_type(stage, product):
    await stage.publish(product)

    response = await _request(stage, product, badge="certified_plugin")

    assert response.status_code == 409
    assert "certified_container" in response.json()["unmet"][0]


async def test_failing_check_on_new_version_withdraws(stage, product):
    await stage.publish(product)
    requested = await _request(stage, product)
    await stage.client.post(
        f"/certifications/{requested.json()['id']}/grant", json={"note": "ok"}, headers=stage.headers(REVIEWER)
    )

    new_version = uuid.uuid4()
    await stage.submit(product, new_version, "2.0")
    await stage.scan(product, new_version, 0, digest("v2"), version="2.0", checks_passed=False)

    [withdrawn] = await stage.events("moderation.certification.withdrawn", product_id=product.product_id)
    assert "failed on version 2.0" in withdrawn["reason"]


async def test_staff_withdraws_with_reason(stage, product):
    await stage.publish(product)
    requested = await _request(stage, product)
    certification_id = requested.json()["id"]
    await stage.client.post(f"/certifications/{certification_id}/grant", json={"note": "ok"}, headers=stage.headers(REVIEWER))

    by_publisher = await stage.client.post(
        f"/certifications/{certification_id}/withdraw", json={"reason": "no"}, headers=stage.headers(product.publisher.user)
    )
    by_staff = await stage.client.post(
        f"/certifications/{certification_id}/withdraw",
        json={"reason": "Support line unanswered for a week"},
        headers=stage.headers(REVIEWER),
    )
    again = await stage.client.post(
        f"/certifications/{certification_id}/withdraw", json={"reason": "twice"}, headers=stage.headers(REVIEWER)
    )

    assert by_publisher.status_code == 403
    assert by_staff.status_code == 200
    assert by_staff.json()["withdrawn_reason"] == "Support line unanswered for a week"
    assert again.status_code == 409
    assert len(await stage.events("moderation.certification.withdrawn")) == 1


async def test_second_request_for_same_badge_refused(stage, product):
    await stage.publish(product)
    first = await _request(stage, product)
    second = await _request(stage, product)

    assert first.status_code == 201
    assert second.status_code == 409
    assert first.json()["id"] in second.json()["detail"]
