"""Update checks: newer published versions of the images a host runs."""

from __future__ import annotations

import uuid

from tests.licensing.catalog import publication, published_product


async def test_update_check_lists_newer_versions(stack):
    product = await published_product(stack, access_policy="everyone")
    await stack.deliver(
        "catalog.version.published",
        publication(product, access_policy="everyone", version="1.1", version_id=uuid.uuid4()),
    )

    response = await stack.service.client.post(
        "/updates/check",
        json={
            "images": [
                f"{stack.registry_host}/{product.repository}:1.0",
                f"{product.repository}@{product.image.digest}",
                "store/acme/unknown:1.0",
            ]
        },
    )
    by_tag, by_digest, unknown = response.json()["results"]

    assert response.status_code == 200
    assert by_tag["current_version"] == "1.0"
    assert by_tag["newer_versions"] == ["1.1"]
    assert by_tag["update_available"] is True
    assert by_digest["current_version"] == "1.0"
    assert by_digest["latest_version"] == "1.1"
    assert unknown["status"] == "unknown"
    assert unknown["newer_versions"] == []


async def test_update_check_latest_has_none(stack):
    product = await published_product(stack, access_policy="everyone")

    response = await stack.service.client.post(
        "/updates/check", json={"images": [f"{product.repository}:1.0"]}
    )
    result = response.json()["results"][0]

    assert result["update_available"] is False
    assert result["listing_status"] == "listed"


async def test_update_check_limits_list(stack):
    response = await stack.service.client.post(
        "/updates/check", json={"images": [f"store/acme/x:{i}" for i in range(101)]}
    )

    assert response.status_code == 422


async def test_update_check_rejects_trailing_newline(stack):
    product = await published_product(stack, access_policy="everyone")
    references = [f"{product.repository}:1.0\n", f"{product.repository}@{product.image.digest}\n"]

    for reference in references:
        response = await stack.service.client.post("/updates/check", json={"images": [reference]})

        assert response.status_code == 422, response.text
        [error] = response.json()["errors"]
        assert error["field"] == "body.images.0"
        assert repr(reference) in error["message"]


async def test_update_check_rejects_invalid_digest(stack):
    product = await published_product(stack, access_policy="everyone")
    reference = f"{product.repository}@sha256:not-hex"

    response = await stack.service.client.post("/updates/check", json={"images": [reference]})

    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["field"] == "body.images.0"
    assert "'sha256:not-hex'" in error["message"]
