"""Drafts, versions under review and unpublished media are private to their organisation and staff."""

from __future__ import annotations

import uuid

from tests.support import tokens


async def test_draft_hidden_from_other_organisation(publisher, rival):
    product = await publisher.create_product()

    response = await rival.service.client.get(f"/products/{product['id']}", headers=rival.headers)

    assert response.status_code == 404
    assert response.json()["detail"] == f"Product {product['id']} not found"


async def test_draft_hidden_from_anonymous(publisher):
    product = await publisher.create_product()

    response = await publisher.service.client.get(f"/products/{product['id']}")

    assert response.status_code == 404


async def test_draft_hidden_by_store_path(publisher, rival):
    await publisher.create_product()

    response = await rival.service.client.get(f"/store/{publisher.namespace}/fast-db", headers=rival.headers)

    assert response.status_code == 404
    assert response.json()["detail"] == f"Listing {publisher.namespace}/fast-db not found"


async def test_draft_visible_to_members(publisher):
    product = await publisher.create_product()

    response = await publisher.service.client.get(f"/products/{product['id']}", headers=publisher.viewer_headers)

    assert response.status_code == 200
    assert response.json()["version"]["state"] == "draft"
    assert response.json()["tiers"][0]["source"] == f"staging/{publisher.namespace}/db:1.0"


async def test_draft_visible_to_staff(publisher, staff_headers):
    product = await publisher.create_product()

    response = await publisher.service.client.get(f"/products/{product['id']}", headers=staff_headers)

    assert response.status_code == 200


async def test_version_hidden_from_other_organisation(publisher, rival):
    product = await publisher.create_product()

    response = await rival.service.client.get(
        f"/products/{product['id']}/versions/{product['version']['id']}", headers=rival.headers
    )

    assert response.status_code == 404


async def test_version_under_review_hidden_on_live_product(publisher, rival):
    await publisher.complete_profile()
    product = await publisher.publish()
    created = await publisher.service.client.post(
        f"/products/{product['id']}/versions", json={"version": "2.0.0"}, headers=publisher.headers
    )
    new_version = created.json()["version"]
    await publisher.submit(product, new_version["id"])

    direct = await rival.service.client.get(
        f"/products/{product['id']}/versions/{new_version['id']}", headers=rival.headers
    )
    listed = await rival.service.client.get(f"/products/{product['id']}/versions", headers=rival.headers)
    own = await publisher.service.client.get(f"/products/{product['id']}/versions", headers=publisher.headers)

    assert direct.status_code == 404
    assert [v["version"] for v in listed.json()["items"]] == ["1.0.0"]
    assert [v["version"] for v in own.json()["items"]] == ["2.0.0", "1.0.0"]


async def test_published_version_hides_sources_from_public(publisher):
    await publisher.complete_profile()
    product = await publisher.publish()

    response = await publisher.service.client.get(f"/products/{product['id']}/versions/{product['version']['id']}")

    assert response.status_code == 200
    assert [tier["source"] for tier in response.json()["tiers"]] == [None, None]


async def test_update_draft_of_other_organisation(publisher, rival):
    product = await publisher.create_product()

    response = await rival.service.client.patch(
        f"/products/{product['id']}/versions/{product['version']['id']}",
        json={"short_description": "mine now"},
        headers=rival.headers,
    )

    assert response.status_code == 404


async def test_submit_draft_of_other_organisation(publisher, rival):
    product = await publisher.create_product()

    response = await rival.service.client.post(
        f"/products/{product['id']}/versions/{product['version']['id']}/submit", headers=rival.headers
    )

    assert response.status_code == 404


async def test_new_version_of_other_organisation(publisher, rival):
    product = await publisher.create_product()

    response = await rival.service.client.post(
        f"/products/{product['id']}/versions", json={"version": "9.0.0"}, headers=rival.headers
    )

    assert response.status_code == 404


async def test_unlist_of_other_organisation(publisher, rival):
    product = await publisher.create_product()

    response = await rival.service.client.post(f"/products/{product['id']}/unlist", headers=rival.headers)

    assert response.status_code == 404


async def test_change_published_product_of_other_organisation(publisher, rival):
    await publisher.complete_profile()
    product = await publisher.publish()

    response = await rival.service.client.post(f"/products/{product['id']}/unlist", headers=rival.headers)

    assert response.status_code == 403


async def test_product_list_of_other_organisation(publisher, rival):
    await publisher.create_product()

    response = await rival.service.client.get(
        f"/organisations/{publisher.organisation_id}/products", headers=rival.headers
    )

    assert response.status_code == 404


async def test_product_list_of_own_organisation(publisher):
    await publisher.create_product("One")
    await publisher.create_product("Two")

    response = await publisher.service.client.get(
        f"/organisations/{publisher.organisation_id}/products", params={"limit": 1}, headers=publisher.viewer_headers
    )
    second = await publisher.service.client.get(
        f"/organisations/{publisher.organisation_id}/products",
        params={"limit": 1, "cursor": response.json()["next_cursor"]},
        headers=publisher.viewer_headers,
    )

    assert [p["name"] for p in response.json()["items"]] == ["Two"]
    assert [p["name"] for p in second.json()["items"]] == ["One"]
    assert second.json()["next_cursor"] is None


async def test_create_product_in_other_organisation(publisher, rival):
    body = {"name": "Intruder", **await rival.manifest()}

    response = await rival.service.client.post(
        f"/organisations/{publisher.organisation_id}/products", json=body, headers=rival.headers
    )

    assert response.status_code == 404


async def test_draft_media_hidden_from_other_organisation(publisher, rival):
    media = await publisher.upload()

    response = await rival.service.client.get(f"/media/{media['id']}", headers=rival.headers)

    assert response.status_code == 404


async def test_upload_into_other_organisation(publisher, rival):
    response = await rival.service.client.post(
        f"/organisations/{publisher.organisation_id}/media",
        files={"file": ("x.png", b"x", "image/png")},
        headers=rival.headers,
    )

    assert response.status_code == 404


async def test_profile_hidden_before_first_listing(publisher, rival):
    await publisher.complete_profile()

    response = await rival.service.client.get(
        f"/organisations/{publisher.organisation_id}/profile", headers=rival.headers
    )

    assert response.status_code == 404


async def test_profile_write_to_other_organisation(publisher, rival):
    response = await rival.service.client.put(
        f"/organisations/{publisher.organisation_id}/profile", json={"legal_name": "Hijack"}, headers=rival.headers
    )

    assert response.status_code == 404


async def test_draft_absent_from_search(publisher):
    await publisher.create_product("Invisible Draft Product")

    response = await publisher.service.client.get("/search", params={"q": "Invisible Draft Product"}, headers=publisher.headers)

    assert response.json()["total"] == 0


async def test_unknown_product(publisher):
    product_id = uuid.uuid4()

    response = await publisher.service.client.get(f"/products/{product_id}", headers=publisher.issuer.headers(tokens.TestUser()))

    assert response.status_code == 404
