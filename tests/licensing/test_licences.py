"""Licence acceptances: current version only, per customer, not for revoked listings."""

from __future__ import annotations

import uuid

from tests.licensing.catalog import published_product
from tests.licensing.stack import ACME


async def _accept(stack, product_id, version: str, username: str = "alice", **extra):
    return await stack.service.client.post(
        f"/products/{product_id}/licence-acceptances",
        json={"licence_version": version, **extra},
        headers=stack.bearer(username),
    )


async def test_acceptance_recorded_and_emitted(stack):
    product = await published_product(stack, access_policy="everyone", licence_required=True, licence_version="3")

    first = await _accept(stack, product.product_id, "3")
    again = await _accept(stack, product.product_id, "3")
    events = [e for e in await stack.emitted("licensing.licence.accepted") if e["product_id"] == str(product.product_id)]

    assert first.status_code == 201
    assert first.json()["licence_url"] == "https://example.org/licence"
    assert again.status_code == 200
    assert len(events) == 1


async def test_stale_licence_version_conflict(stack):
    product = await published_product(stack, access_policy="everyone", licence_required=True, licence_version="3")

    response = await _accept(stack, product.product_id, "2")

    assert response.status_code == 409
    assert response.json()["current_version"] == "3"


async def test_unknown_product_not_found(stack):
    product_id = uuid.uuid4()

    response = await _accept(stack, product_id, "1")

    assert response.status_code == 404
    assert str(product_id) in response.json()["detail"]


async def test_tier_of_other_product_not_found(stack):
    product = await published_product(stack, access_policy="everyone", licence_required=True, licence_version="1")
    other = await published_product(stack, access_policy="everyone", licence_required=True, licence_version="1")

    response = await _accept(stack, product.product_id, "1", tier_id=str(other.tier_id))

    assert response.status_code == 404


async def test_revoked_listing_takes_no_acceptance(stack):
    product = await published_product(stack, access_policy="everyone", licence_required=True, licence_version="1")
    await stack.deliver(
        "moderation.listing.revoked",
        {"product_id": str(product.product_id), "organisation_id": str(ACME), "reason": "hold expired"},
    )

    response = await _accept(stack, product.product_id, "1")

    assert response.status_code == 409


async def test_acceptances_list_only_own(stack):
    product = await published_product(stack, access_policy="everyone", licence_required=True, licence_version="1")
    await _accept(stack, product.product_id, "1", username="alice")

    mine = await stack.service.client.get("/licence-acceptances?limit=200", headers=stack.bearer("alice"))
    theirs = await stack.service.client.get("/licence-acceptances?limit=200", headers=stack.bearer("bob"))

    assert str(product.product_id) in {a["product_id"] for a in mine.json()["items"]}
    assert str(product.product_id) not in {a["product_id"] for a in theirs.json()["items"]}
