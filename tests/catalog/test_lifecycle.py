"""Each lifecycle transition of versions and listings, each invalid one, and the events they emit."""

from __future__ import annotations

import uuid

import pytest

from tests.catalog.support import approve_and_promote, decision, deliver, outbox_events


async def version_state(publisher, product, version_id=None) -> str:
    version_id = version_id or product["version"]["id"]
    response = await publisher.service.client.get(
        f"/products/{product['id']}/versions/{version_id}", headers=publisher.headers
    )
    return response.json()["state"]


async def product_status(publisher, product) -> str:
    response = await publisher.service.client.get(f"/products/{product['id']}", headers=publisher.headers)
    return response.json()["status"]


async def submitted_product(publisher, name="Fast DB"):
    await publisher.complete_profile()
    product = await publisher.create_product(name)
    response = await publisher.submit(product)
    assert response.status_code == 200, response.text
    return product


async def scan_completed(service, product, version_id):
    await deliver(
        service,
        "scanning.scan.completed",
        {
            "scan_id": str(uuid.uuid4()),
            "image": {"reference": "staging/x/db:1.0", "digest": "sha256:" + "a" * 64},
            "product_id": product["id"],
            "version_id": version_id,
        },
    )


# Versions.


async def test_create_starts_as_draft(publisher):
    product = await publisher.create_product()

    assert product["version"]["state"] == "draft"
    assert product["status"] == "unpublished"


async def test_submit_moves_draft_to_submitted(publisher):
    product = await submitted_product(publisher)

    assert await version_state(publisher, product) == "submitted"


async def test_submit_emits_tiers_and_manifest(publisher):
    product = await submitted_product(publisher)

    events = [e for e in await outbox_events(publisher.service, "catalog.product.submitted") if e["product_id"] == product["id"]]

    assert len(events) == 1
    event = events[0]
    assert event["version_id"] == product["version"]["id"]
    assert event["namespace"] == publisher.namespace
    assert event["slug"] == "fast-db"
    assert event["profile_complete"] is True
    assert [tier["reference"] for tier in event["tiers"]] == [
        f"staging/{publisher.namespace}/db:1.0",
        f"staging/{publisher.namespace}/db-enterprise:1.0",
    ]
    assert [tier["billing_period"] for tier in event["tiers"]] == ["free", "yearly"]
    assert event["manifest"]["short_description"] == "A fast relational database"
    assert event["manifest"]["tiers"][1]["price_amount"] == 19900


async def test_submit_twice_conflicts_naming_state(publisher):
    product = await submitted_product(publisher)

    response = await publisher.submit(product)

    assert response.status_code == 409
    assert response.json()["current_state"] == "submitted"
    assert "is submitted" in response.json()["detail"]


async def test_edit_submitted_version_conflicts(publisher):
    product = await submitted_product(publisher)

    response = await publisher.service.client.patch(
        f"/products/{product['id']}/versions/{product['version']['id']}",
        json={"short_description": "changed"},
        headers=publisher.headers,
    )

    assert response.status_code == 409
    assert "is submitted; only a version in draft or changes_requested can be edited" in response.json()["detail"]


async def test_scan_completed_starts_review(publisher):
    product = await submitted_product(publisher)

    await scan_completed(publisher.service, product, product["version"]["id"])

    assert await version_state(publisher, product) == "in_review"


async def test_staff_starts_review(publisher, staff_headers):
    product = await submitted_product(publisher)

    response = await publisher.service.client.post(
        f"/staff/versions/{product['version']['id']}/start-review", headers=staff_headers
    )

    assert response.status_code == 200
    assert response.json()["state"] == "in_review"


async def test_start_review_of_draft_conflicts(publisher, staff_headers):
    product = await publisher.create_product()

    response = await publisher.service.client.post(
        f"/staff/versions/{product['version']['id']}/start-review", headers=staff_headers
    )

    assert response.status_code == 409
    assert response.json()["current_state"] == "draft"
    assert "is draft; it can become in_review only from submitted" in response.json()["detail"]


async def test_start_review_needs_staff(publisher):
    product = await submitted_product(publisher)

    response = await publisher.service.client.post(
        f"/staff/versions/{product['version']['id']}/start-review", headers=publisher.headers
    )

    assert response.status_code == 403


async def test_review_queue_lists_submitted(publisher, staff_headers):
    product = await submitted_product(publisher)

    response = await publisher.service.client.get("/staff/versions", params={"state": "submitted", "limit": 200}, headers=staff_headers)

    assert response.status_code == 200
    assert product["version"]["id"] in [item["version_id"] for item in response.json()["items"]]


async def test_review_queue_needs_staff(publisher):
    response = await publisher.service.client.get("/staff/versions", headers=publisher.headers)

    assert response.status_code == 403


async def test_changes_requested_then_resubmit(publisher):
    product = await submitted_product(publisher)
    await scan_completed(publisher.service, product, product["version"]["id"])

    await deliver(
        publisher.service,
        "moderation.review.changes_requested",
        decision(product, product["version"]["id"], reason="Add a healthcheck"),
    )
    state = await version_state(publisher, product)
    edited = await publisher.service.client.patch(
        f"/products/{product['id']}/versions/{product['version']['id']}",
        json={"install_instructions": "Run it with a healthcheck."},
        headers=publisher.headers,
    )
    resubmitted = await publisher.submit(product)

    assert state == "changes_requested"
    assert edited.status_code == 200
    assert edited.json()["version"]["state_reason"] == "Add a healthcheck"
    assert resubmitted.status_code == 200
    assert resubmitted.json()["version"]["state"] == "submitted"


async def test_rejected_is_final(publisher):
    product = await submitted_product(publisher)

    await deliver(publisher.service, "moderation.review.rejected", decision(product, product["version"]["id"], reason="Malware"))
    resubmitted = await publisher.submit(product)

    assert await version_state(publisher, product) == "rejected"
    assert resubmitted.status_code == 409
    assert resubmitted.json()["current_state"] == "rejected"


async def events_of(publisher, product, event_type: str) -> list[dict]:
    events = await outbox_events(publisher.service, event_type)
    return [event for event in events if event["product_id"] == product["id"]]


async def withdraw(publisher, product):
    return await publisher.service.client.post(
        f"/products/{product['id']}/versions/{product['version']['id']}/withdraw", headers=publisher.headers
    )


@pytest.mark.parametrize("in_review", [False, True])
async def test_withdraw_returns_submission_to_draft(publisher, in_review):
    product = await submitted_product(publisher)
    if in_review:
        await scan_completed(publisher.service, product, product["version"]["id"])
        assert await version_state(publisher, product) == "in_review"

    response = await withdraw(publisher, product)

    assert response.status_code == 200, response.text
    assert response.json()["version"]["state"] == "draft"
    assert response.json()["version"]["state_reason"] == "Withdrawn by the publisher"
    [event] = await events_of(publisher, product, "catalog.product.withdrawn")
    assert event == {
        "product_id": product["id"],
        "version_id": product["version"]["id"],
        "organisation_id": product["organisation_id"],
    }


async def test_withdrawn_version_can_be_edited_and_resubmitted(publisher):
    product = await submitted_product(publisher)
    await withdraw(publisher, product)

    edited = await publisher.service.client.patch(
        f"/products/{product['id']}/versions/{product['version']['id']}",
        json={"install_instructions": "Pull the fixed tag."},
        headers=publisher.headers,
    )
    resubmitted = await publisher.submit(product)

    assert edited.status_code == 200, edited.text
    assert resubmitted.status_code == 200, resubmitted.text
    assert resubmitted.json()["version"]["state"] == "submitted"
    assert len(await events_of(publisher, product, "catalog.product.submitted")) == 2


@pytest.mark.parametrize("state", ["draft", "changes_requested", "approved"])
async def test_withdraw_outside_review_conflicts(publisher, state):
    await publisher.complete_profile()
    product = await publisher.create_product()
    if state != "draft":
        await publisher.submit(product)
        event = "moderation.review.approved" if state == "approved" else "moderation.review.changes_requested"
        await deliver(publisher.service, event, decision(product, product["version"]["id"]))

    response = await withdraw(publisher, product)

    assert response.status_code == 409
    assert response.json()["current_state"] == state
    assert await events_of(publisher, product, "catalog.product.withdrawn") == []


async def test_decision_after_withdrawal_is_ignored(publisher):
    product = await submitted_product(publisher)
    await withdraw(publisher, product)

    await deliver(publisher.service, "moderation.review.approved", decision(product, product["version"]["id"]))

    assert await version_state(publisher, product) == "draft"


async def test_withdraw_of_other_organisation_is_404(publisher, rival):
    product = await submitted_product(publisher)
    await rival.complete_profile()

    response = await rival.service.client.post(
        f"/products/{product['id']}/versions/{product['version']['id']}/withdraw", headers=rival.headers
    )

    assert response.status_code == 404
    assert await version_state(publisher, product) == "submitted"


async def test_viewer_cannot_withdraw(publisher):
    product = await submitted_product(publisher)

    response = await publisher.service.client.post(
        f"/products/{product['id']}/versions/{product['version']['id']}/withdraw", headers=publisher.viewer_headers
    )

    assert response.status_code == 403
    assert await version_state(publisher, product) == "submitted"


async def test_approval_of_draft_is_ignored(publisher):
    product = await publisher.create_product()

    await deliver(publisher.service, "moderation.review.approved", decision(product, product["version"]["id"]))

    assert await version_state(publisher, product) == "draft"


async def test_approved_waits_for_promotion(publisher):
    product = await submitted_product(publisher)

    await deliver(publisher.service, "moderation.review.approved", decision(product, product["version"]["id"]))

    assert await version_state(publisher, product) == "approved"
    assert await product_status(publisher, product) == "unpublished"


async def test_promotion_of_every_tier_publishes(publisher):
    product = await submitted_product(publisher)

    await approve_and_promote(publisher.service, product, product["version"]["id"])

    assert await version_state(publisher, product) == "published"
    assert await product_status(publisher, product) == "published"


async def test_promotion_before_approval_publishes_on_approval(publisher, staff_headers):
    product = await submitted_product(publisher)
    version = (await publisher.service.client.get(f"/products/{product['id']}/versions/{product['version']['id']}", headers=publisher.headers)).json()
    for tier in version["tiers"]:
        await deliver(
            publisher.service,
            "licensing.image.promoted",
            {
                "product_id": product["id"],
                "version_id": version["id"],
                "organisation_id": product["organisation_id"],
                "source": tier["source"],
                "target": f"store/{publisher.namespace}/fast-db:1.0.0",
                "digest": "sha256:" + "b" * 64,
            },
        )
    waiting = await version_state(publisher, product)

    await deliver(publisher.service, "moderation.review.approved", decision(product, product["version"]["id"]))

    assert waiting == "submitted"
    assert await version_state(publisher, product) == "published"


async def test_published_events_carry_every_field(publisher):
    await publisher.complete_profile()
    product = await publisher.publish()

    published = [e for e in await outbox_events(publisher.service, "catalog.product.published") if e["product_id"] == product["id"]]
    versions = [e for e in await outbox_events(publisher.service, "catalog.version.published") if e["product_id"] == product["id"]]

    assert len(published) == 1
    assert versions == published
    event = published[0]
    assert event["namespace"] == publisher.namespace
    assert event["name"] == "Fast DB"
    assert event["category"] == "Database"
    assert event["product_type"] == "image"
    assert event["store_repository"] == f"store/{publisher.namespace}/fast-db"
    assert event["licence_url"] == f"https://{publisher.namespace}.example.com/licence"
    assert event["licence_version"] == "2024-01"
    assert [(t["name"], t["access_policy"], t["licence_required"]) for t in event["tiers"]] == [
        ("Community", "everyone", True),
        ("Enterprise", "purchasers", False),
    ]


async def test_new_version_keeps_live_version(publisher):
    await publisher.complete_profile()
    product = await publisher.publish()

    created = await publisher.service.client.post(
        f"/products/{product['id']}/versions", json={"version": "1.1.0"}, headers=publisher.headers
    )
    new_version = created.json()["version"]
    await publisher.service.client.patch(
        f"/products/{product['id']}/versions/{new_version['id']}",
        json={"short_description": "Now faster"},
        headers=publisher.headers,
    )
    await publisher.submit(product, new_version["id"])
    public_during_review = (await publisher.service.client.get(f"/products/{product['id']}")).json()

    await approve_and_promote(publisher.service, product, new_version["id"])
    public_after = (await publisher.service.client.get(f"/products/{product['id']}")).json()

    assert created.status_code == 201
    assert [tier["id"] for tier in new_version["tiers"]] == [tier["id"] for tier in product["version"]["tiers"]]
    assert public_during_review["version"]["version"] == "1.0.0"
    assert public_during_review["short_description"] == "A fast relational database"
    assert [v["version"] for v in public_during_review["versions"]] == ["1.0.0"]
    assert public_after["version"]["version"] == "1.1.0"
    assert public_after["short_description"] == "Now faster"
    assert [v["version"] for v in public_after["versions"]] == ["1.1.0", "1.0.0"]


async def test_second_open_version_conflicts(publisher):
    product = await publisher.create_product()

    response = await publisher.service.client.post(
        f"/products/{product['id']}/versions", json={"version": "2.0.0"}, headers=publisher.headers
    )

    assert response.status_code == 409
    assert response.json()["current_state"] == "draft"


async def test_later_version_emits_only_version_published(publisher):
    await publisher.complete_profile()
    product = await publisher.publish()
    created = await publisher.service.client.post(
        f"/products/{product['id']}/versions", json={"version": "1.1.0"}, headers=publisher.headers
    )
    version_id = created.json()["version"]["id"]
    await publisher.submit(product, version_id)

    await approve_and_promote(publisher.service, product, version_id)

    published = [e for e in await outbox_events(publisher.service, "catalog.product.published") if e["product_id"] == product["id"]]
    versions = [e["version"] for e in await outbox_events(publisher.service, "catalog.version.published") if e["product_id"] == product["id"]]
    assert len(published) == 1
    assert sorted(versions) == ["1.0.0", "1.1.0"]


# Listings.


async def hold(service, product, reason="Critical CVE-2024-0001 not fixed in time"):
    await deliver(
        service,
        "moderation.listing.held",
        {"product_id": product["id"], "organisation_id": product["organisation_id"], "reason": reason},
    )


async def test_hold_shows_warning_label(publisher):
    await publisher.complete_profile()
    product = await publisher.publish()

    await hold(publisher.service, product)

    listing = (await publisher.service.client.get(f"/products/{product['id']}")).json()
    assert listing["status"] == "held"
    assert listing["warning"]["reason"] == "Critical CVE-2024-0001 not fixed in time"


async def test_hold_lifted_restores(publisher):
    await publisher.complete_profile()
    product = await publisher.publish()
    await hold(publisher.service, product)

    await deliver(
        publisher.service,
        "moderation.hold.lifted",
        {"product_id": product["id"], "organisation_id": product["organisation_id"], "reason": "Fixed in 1.0.1"},
    )

    listing = (await publisher.service.client.get(f"/products/{product['id']}")).json()
    assert listing["status"] == "published"
    assert listing["warning"] is None


async def test_revoke_hides_listing(publisher):
    await publisher.complete_profile()
    product = await publisher.publish()
    await hold(publisher.service, product)

    await deliver(
        publisher.service,
        "moderation.listing.revoked",
        {"product_id": product["id"], "organisation_id": product["organisation_id"], "reason": "Hold expired"},
    )

    public = await publisher.service.client.get(f"/products/{product['id']}")
    found = await publisher.service.client.get("/search", params={"publisher": publisher.namespace})
    assert public.status_code == 404
    assert found.json()["total"] == 0
    assert await product_status(publisher, product) == "revoked"


async def test_hold_of_unpublished_is_ignored(publisher):
    product = await publisher.create_product()

    await hold(publisher.service, product)

    assert await product_status(publisher, product) == "unpublished"


async def test_unlist_emits_and_hides(publisher):
    await publisher.complete_profile()
    product = await publisher.publish()

    response = await publisher.service.client.post(f"/products/{product['id']}/unlist", headers=publisher.headers)

    events = [e for e in await outbox_events(publisher.service, "catalog.product.unlisted") if e["product_id"] == product["id"]]
    public = await publisher.service.client.get(f"/products/{product['id']}")
    assert response.status_code == 200
    assert response.json()["status"] == "unlisted"
    assert events == [{"product_id": product["id"], "organisation_id": product["organisation_id"]}]
    assert public.status_code == 404


async def test_relist_restores(publisher):
    await publisher.complete_profile()
    product = await publisher.publish()
    await publisher.service.client.post(f"/products/{product['id']}/unlist", headers=publisher.headers)

    response = await publisher.service.client.post(f"/products/{product['id']}/relist", headers=publisher.headers)

    found = await publisher.service.client.get("/search", params={"publisher": publisher.namespace})
    assert response.status_code == 200
    assert response.json()["status"] == "published"
    assert found.json()["total"] == 1


async def test_unlist_unpublished_conflicts(publisher):
    product = await publisher.create_product()

    response = await publisher.service.client.post(f"/products/{product['id']}/unlist", headers=publisher.headers)

    assert response.status_code == 409
    assert response.json()["current_state"] == "unpublished"
    assert "is unpublished; it can become unlisted only from published" in response.json()["detail"]


async def test_unlist_held_conflicts(publisher):
    await publisher.complete_profile()
    product = await publisher.publish()
    await hold(publisher.service, product)

    response = await publisher.service.client.post(f"/products/{product['id']}/unlist", headers=publisher.headers)

    assert response.status_code == 409
    assert response.json()["current_state"] == "held"


async def test_relist_published_conflicts(publisher):
    await publisher.complete_profile()
    product = await publisher.publish()

    response = await publisher.service.client.post(f"/products/{product['id']}/relist", headers=publisher.headers)

    assert response.status_code == 409
    assert response.json()["current_state"] == "published"


async def test_viewer_cannot_submit(publisher):
    await publisher.complete_profile()
    product = await publisher.create_product()

    response = await publisher.service.client.post(
        f"/products/{product['id']}/versions/{product['version']['id']}/submit", headers=publisher.viewer_headers
    )

    assert response.status_code == 403
    assert "needs editor or higher" in response.json()["detail"]
