"""What a published listing shows: badges, pull counts, owned tiers, pull commands, publisher."""

from __future__ import annotations

import uuid
from datetime import timedelta

from tests.catalog.support import deliver
from tests.support import tokens


async def listing(service, product, headers=None) -> dict:
    response = await service.client.get(f"/products/{product['id']}", headers=headers or {})
    assert response.status_code == 200, response.text
    return response.json()


def certification(product, badge="certified_container") -> dict:
    return {"product_id": product["id"], "organisation_id": product["organisation_id"], "badge": badge}


async def test_certification_badge_granted(publisher):
    await publisher.complete_profile()
    product = await publisher.publish()

    await deliver(publisher.service, "moderation.certification.granted", certification(product))
    await deliver(publisher.service, "moderation.certification.granted", certification(product, "verified_publisher"))

    shown = await listing(publisher.service, product)
    found = await publisher.service.client.get("/search", params={"publisher": publisher.namespace, "certified": "true"})
    assert shown["badges"] == ["certified_container", "verified_publisher"]
    assert found.json()["total"] == 1


async def test_certification_withdrawn(publisher):
    await publisher.complete_profile()
    product = await publisher.publish()
    await deliver(publisher.service, "moderation.certification.granted", certification(product))

    await deliver(publisher.service, "moderation.certification.withdrawn", certification(product))

    found = await publisher.service.client.get("/search", params={"publisher": publisher.namespace, "certified": "true"})
    assert (await listing(publisher.service, product))["badges"] == []
    assert found.json()["total"] == 0


def pull(product, **extra) -> dict:
    return {
        "repository": f"store/{product['namespace']}/{product['slug']}",
        "digest": "sha256:" + "c" * 64,
        "registry_event_id": uuid.uuid4().hex,
        "pulled_at": "2025-01-01T00:00:00Z",
        **extra,
    }


async def test_pulls_counted(publisher):
    await publisher.complete_profile()
    product = await publisher.publish()

    await deliver(publisher.service, "licensing.image.pulled", pull(product, product_id=product["id"]))
    await deliver(publisher.service, "licensing.image.pulled", pull(product, product_id=product["id"]))
    # An anonymous pull may name only the repository.
    await deliver(publisher.service, "licensing.image.pulled", pull(product))

    found = await publisher.service.client.get("/search", params={"publisher": publisher.namespace})
    assert (await listing(publisher.service, product))["pull_count"] == 3
    assert found.json()["items"][0]["pull_count"] == 3


def entitlement(product, user, tier_id, **extra) -> dict:
    return {
        "entitlement_id": str(uuid.uuid4()),
        "user_id": str(user.user_id),
        "product_id": product["id"],
        "tier_id": tier_id,
        **extra,
    }


async def test_owned_tier_for_signed_in_customer(publisher, issuer):
    await publisher.complete_profile()
    product = await publisher.publish()
    customer = tokens.TestUser(username="customer")
    enterprise = product["version"]["tiers"][1]["id"]

    await deliver(publisher.service, "licensing.entitlement.granted", entitlement(product, customer, enterprise))

    shown = await listing(publisher.service, product, issuer.headers(customer))
    anonymous = await listing(publisher.service, product)
    assert [tier["owned"] for tier in shown["tiers"]] == [False, True]
    assert [tier["owned"] for tier in anonymous["tiers"]] == [False, False]


async def test_revoked_entitlement_not_owned(publisher, issuer):
    await publisher.complete_profile()
    product = await publisher.publish()
    customer = tokens.TestUser(username="refunded")
    granted = entitlement(product, customer, product["version"]["tiers"][1]["id"])
    await deliver(publisher.service, "licensing.entitlement.granted", granted)

    await deliver(publisher.service, "licensing.entitlement.revoked", granted | {"reason": "refund"})

    shown = await listing(publisher.service, product, issuer.headers(customer))
    assert [tier["owned"] for tier in shown["tiers"]] == [False, False]


async def test_expired_entitlement_not_owned(publisher, issuer):
    await publisher.complete_profile()
    product = await publisher.publish()
    customer = tokens.TestUser(username="lapsed")
    ended = (publisher.service.runtime.clock.now() - timedelta(days=1)).isoformat()

    await deliver(
        publisher.service,
        "licensing.entitlement.granted",
        entitlement(product, customer, product["version"]["tiers"][1]["id"], valid_until=ended),
    )

    shown = await listing(publisher.service, product, issuer.headers(customer))
    assert [tier["owned"] for tier in shown["tiers"]] == [False, False]


async def test_pull_command_names_store_repository(publisher):
    await publisher.complete_profile()
    product = await publisher.publish()

    shown = await listing(publisher.service, product)

    assert shown["store_repository"] == f"store/{publisher.namespace}/fast-db"
    assert shown["tiers"][0]["pull_command"] == f"docker pull localhost:5000/store/{publisher.namespace}/fast-db:1.0.0-db"


async def test_plugin_install_command(publisher):
    await publisher.complete_profile()
    body = {"name": "Volume Driver", "product_type": "plugin", **await publisher.manifest(category="Storage")}
    created = await publisher.service.client.post(
        f"/organisations/{publisher.organisation_id}/products", json=body, headers=publisher.headers
    )

    shown = await listing(publisher.service, created.json(), publisher.headers)

    assert shown["tiers"][0]["pull_command"].startswith(
        f"docker plugin install localhost:5000/store/{publisher.namespace}/volume-driver:"
    )


async def test_listing_shows_publisher_and_rendered_markdown(publisher):
    await publisher.complete_profile()
    product = await publisher.publish(long_description="Safe <script>alert(1)</script> **bold**")

    shown = await listing(publisher.service, product)

    assert shown["publisher"]["name"] == f"{publisher.namespace.title()} Ltd"
    assert shown["publisher"]["phone"] == "+442079460958"
    assert "<script>" not in shown["long_description_html"]
    assert "<strong>bold</strong>" in shown["long_description_html"]
    assert shown["install_instructions_html"] == "<p>Run it with <code>docker run</code>.</p>\n"


async def test_listing_by_store_path(publisher):
    await publisher.complete_profile()
    product = await publisher.publish()

    response = await publisher.service.client.get(f"/store/{publisher.namespace}/fast-db")

    assert response.status_code == 200
    assert response.json()["id"] == product["id"]


async def test_organisation_known_from_identity_event(publisher, staff_headers):
    path = f"/organisations/{publisher.organisation_id}/profile"
    before = await publisher.service.client.get(path, headers=staff_headers)

    await deliver(
        publisher.service,
        "identity.organisation.created",
        {
            "organisation_id": str(publisher.organisation_id),
            "namespace": publisher.namespace,
            "display_name": "Acme Incorporated",
            "owner_id": str(uuid.uuid4()),
        },
    )

    after = await publisher.service.client.get(path, headers=staff_headers)
    assert before.status_code == 404
    assert after.status_code == 200
    assert after.json()["namespace"] == publisher.namespace
