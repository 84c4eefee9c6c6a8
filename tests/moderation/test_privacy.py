"""Another organisation's cases, SLA cases, findings and certifications are not found (404)."""

from __future__ import annotations

import uuid

from tests.moderation.support import REVIEWER, Product, Publisher, finding


async def _world(stage, product: Product):
    _version_id, image = await stage.publish(product)
    await stage.detect(product, image, finding("CVE-2025-5000", "critical"))
    case = await stage.case_of(product)
    [sla_case] = await stage.sla_cases(product)
    requested = await stage.client.post(
        "/certifications",
        json={
            "product_id": str(product.product_id),
            "badge": "certified_container",
            "joint_support_attested": True,
            "tested_platforms": ["linux/amd64"],
        },
        headers=stage.headers(product.publisher.user),
    )
    return case, sla_case, image, requested


async def test_other_organisation_gets_404_everywhere(stage, product, rival):
    case, sla_case, image, _requested = await _world(stage, product)
    outsider = stage.headers(rival.user)
    organisation_id = str(product.publisher.organisation_id)

    reads = [
        ("GET", f"/cases/{case['id']}", None),
        ("GET", f"/cases/{case['id']}/comments", None),
        ("POST", f"/cases/{case['id']}/comments", {"body": "hello"}),
        ("GET", f"/sla-cases/{sla_case['id']}", None),
        ("GET", f"/images/{image}/findings", None),
        ("GET", "/cases", {"organisation_id": organisation_id}),
        ("GET", "/sla-cases", {"organisation_id": organisation_id}),
        ("GET", "/certifications", {"organisation_id": organisation_id}),
        (
            "POST",
            "/certifications",
            {
                "product_id": str(product.product_id),
                "badge": "certified_container",
                "joint_support_attested": True,
                "tested_platforms": ["linux/amd64"],
            },
        ),
    ]
    for method, path, payload in reads:
        if method == "GET":
            response = await stage.client.get(path, params=payload, headers=outsider)
        else:
            response = await stage.client.post(path, json=payload, headers=outsider)
        assert response.status_code == 404, f"{method} {path} returned {response.status_code}"


async def test_other_organisation_lists_are_empty(stage, product, rival):
    await _world(stage, product)
    outsider = stage.headers(rival.user)

    for path in ("/cases", "/sla-cases", "/certifications"):
        response = await stage.client.get(path, headers=outsider)
        assert response.status_code == 200
        assert response.json()["items"] == [], path


async def test_other_organisation_certification_404(stage, publisher, rival):
    product = Product(publisher=publisher)
    await stage.publish(product)
    requested = await stage.client.post(
        "/certifications",
        json={
            "product_id": str(product.product_id),
            "badge": "certified_container",
            "joint_support_attested": True,
            "tested_platforms": ["linux/amd64"],
        },
        headers=stage.headers(publisher.user),
    )
    assert requested.status_code == 201

    response = await stage.client.get(f"/certifications/{requested.json()['id']}", headers=stage.headers(rival.user))

    assert response.status_code == 404


async def test_viewer_reads_but_cannot_comment(stage, product):
    case, *_ = await _world(stage, product)
    viewer = Publisher(namespace=product.publisher.namespace, organisation_id=product.publisher.organisation_id, role="viewer")

    read = await stage.client.get(f"/cases/{case['id']}", headers=stage.headers(viewer.user))
    comment = await stage.client.post(f"/cases/{case['id']}/comments", json={"body": "hi"}, headers=stage.headers(viewer.user))

    assert read.status_code == 200
    assert comment.status_code == 403


async def test_unknown_case_404(stage):
    response = await stage.client.get(f"/cases/{uuid.uuid4()}", headers=stage.headers(REVIEWER))

    assert response.status_code == 404


async def test_anonymous_401(stage):
    response = await stage.client.get("/cases")

    assert response.status_code == 401
