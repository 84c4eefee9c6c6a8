"""Review cases: rounds, scans, the approval gate, decisions, the queue and the thread."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx

from tests.moderation.support import REVIEWER, SECURITY, Product, digest, finding, identity_user
from tests.support.ports import free_port


async def test_back_and_forth_until_approval(stage, publisher):
    product = Product(publisher=publisher, tier_ids=[uuid.uuid4(), uuid.uuid4()])
    version_id = uuid.uuid4()
    owner = stage.headers(publisher.user)
    reviewer = stage.headers(REVIEWER)

    await stage.submit(product, version_id)
    first_images = [digest("round-1-tier-0"), digest("round-1-tier-1")]
    await stage.scan(product, version_id, 0, first_images[0], [finding("CVE-2024-0001", "critical")])
    case = await stage.case_of(product)
    assert case["state"] == "awaiting_scans"

    await stage.scan(product, version_id, 1, first_images[1])
    case = await stage.case_of(product)
    assert case["state"] == "in_review"
    assert case["has_critical_findings"] is True

    question = await stage.client.post(
        f"/cases/{case['id']}/comments", json={"body": "Is the critical finding reachable?"}, headers=owner
    )
    assert question.status_code == 201

    stage.advance(hours=2)
    requested = await stage.client.post(
        f"/cases/{case['id']}/request-changes",
        json={
            "reason": "Fix the critical finding and the support link",
            "findings": [{"image_digest": first_images[0], "vulnerability_id": "CVE-2024-0001"}],
            "manifest": [{"field": "support.url", "message": "The support page returns 404"}],
        },
        headers=reviewer,
    )
    assert requested.status_code == 200, requested.text
    assert requested.json()["state"] == "changes_requested"
    [changes] = await stage.events("moderation.review.changes_requested", case_id=case["id"])
    assert changes["checklist"]["manifest"][0]["field"] == "support.url"
    assert changes["checklist"]["findings"][0]["vulnerability_id"] == "CVE-2024-0001"
    assert changes["round"] == 1

    # The publisher fixes both and resubmits the same version.
    stage.advance(hours=20)
    await stage.submit(product, version_id)
    case = await stage.case_of(product)
    assert case["state"] == "awaiting_scans"
    assert case["current_round"] == 2
    assert [blocker["kind"] for blocker in case["blockers"]] == ["scan_pending", "scan_pending"]

    second_images = [digest("round-2-tier-0"), digest("round-2-tier-1")]
    stage.advance(minutes=5)
    await stage.scan(product, version_id, 0, second_images[0])
    await stage.scan(product, version_id, 1, second_images[1])
    case = await stage.case_of(product)
    assert case["state"] == "in_review"
    assert case["blockers"] == []

    approved = await stage.approve(case["id"])
    assert approved["state"] == "approved"
    [event] = await stage.events("moderation.review.approved", case_id=case["id"])
    assert event["images"] == [
        {"tier_id": str(product.tier_ids[0]), "source": product.reference(0, "1.0"), "digest": second_images[0]},
        {"tier_id": str(product.tier_ids[1]), "source": product.reference(1, "1.0"), "digest": second_images[1]},
    ]
    assert event["version"] == "1.0"
    assert event["namespace"] == publisher.namespace
    assert event["slug"] == product.slug
    assert event["round"] == 2

    # The publisher reads the whole history: both rounds and the thread.
    history = (await stage.client.get(f"/cases/{case['id']}", headers=owner)).json()
    assert [round_["decision"] for round_ in history["rounds"]] == ["changes_requested", "approved"]
    assert history["rounds"][0]["images"][0]["scan"]["digest"] == first_images[0]
    assert history["rounds"][0]["checklist"]["manifest"][0]["message"] == "The support page returns 404"
    thread = (await stage.client.get(f"/cases/{case['id']}/comments", headers=owner)).json()
    assert [comment["author_role"] for comment in thread["items"]] == ["publisher"]


async def test_approval_blocked_by_critical_until_waived(stage, product):
    version_id = uuid.uuid4()
    image = digest("blocked")
    await stage.submit(product, version_id)
    await stage.scan(product, version_id, 0, image, [finding("CVE-2024-0002", "critical"), finding("CVE-2024-0003", "minor")])
    case = await stage.case_of(product)

    blocked = await stage.client.post(f"/cases/{case['id']}/approve", json={}, headers=stage.headers(REVIEWER))
    assert blocked.status_code == 409
    problem = blocked.json()
    assert [blocker["vulnerability_id"] for blocker in problem["blockers"]] == ["CVE-2024-0002"]
    assert "CVE-2024-0002" in problem["detail"]
    assert await stage.events("moderation.review.approved") == []

    waived = await stage.client.post(
        f"/cases/{case['id']}/waivers",
        json={"image_digest": image, "vulnerability_id": "CVE-2024-0002", "reason": "The vulnerable code is not shipped"},
        headers=stage.headers(SECURITY),
    )
    assert waived.status_code == 201, waived.text

    approved = await stage.client.post(f"/cases/{case['id']}/approve", json={}, headers=stage.headers(REVIEWER))
    assert approved.status_code == 200, approved.text
    [event] = await stage.events("moderation.review.approved", case_id=case["id"])
    assert event["images"][0]["digest"] == image


async def test_classification_below_major_unblocks(stage, product):
    version_id = uuid.uuid4()
    image = digest("classified")
    await stage.submit(product, version_id)
    await stage.scan(product, version_id, 0, image, [finding("CVE-2024-0010", "critical")])
    case = await stage.case_of(product)
    path = f"/cases/{case['id']}/classifications"
    body = {"image_digest": image, "vulnerability_id": "CVE-2024-0010", "finding_class": "minor", "reason": "Local only"}

    by_reviewer = await stage.client.post(path, json=body, headers=stage.headers(REVIEWER))
    other_image = await stage.client.post(
        path, json={**body, "image_digest": digest("elsewhere")}, headers=stage.headers(SECURITY)
    )
    unknown = await stage.client.post(
        path, json={**body, "vulnerability_id": "CVE-2024-9999"}, headers=stage.headers(SECURITY)
    )
    classified = await stage.client.post(path, json=body, headers=stage.headers(SECURITY))

    assert by_reviewer.status_code == 403
    assert other_image.status_code == 422
    assert other_image.json()["field"] == "image_digest"
    assert unknown.status_code == 404
    assert classified.status_code == 200, classified.text
    [changed] = classified.json()
    assert (changed["finding_class"], changed["staff_class"], changed["effective_class"]) == ("critical", "minor", "minor")
    assert (await stage.case_of(product))["blockers"] == []
    approved = await stage.client.post(f"/cases/{case['id']}/approve", json={}, headers=stage.headers(REVIEWER))
    assert approved.status_code == 200, approved.text


async def test_classification_to_major_blocks(stage, product):
    version_id = uuid.uuid4()
    image = digest("raised")
    await stage.submit(product, version_id)
    await stage.scan(product, version_id, 0, image, [finding("CVE-2024-0011", "minor")])
    case = await stage.case_of(product)
    assert case["blockers"] == []

    raised = await stage.client.post(
        f"/cases/{case['id']}/classifications",
        json={"image_digest": image, "vulnerability_id": "CVE-2024-0011", "finding_class": "major", "reason": "Remote"},
        headers=stage.headers(SECURITY),
    )

    assert raised.status_code == 200, raised.text
    blockers = (await stage.case_of(product))["blockers"]
    assert [(blocker["vulnerability_id"], blocker["finding_class"]) for blocker in blockers] == [("CVE-2024-0011", "major")]


async def test_approval_blocked_by_major_and_incomplete_profile(stage, product):
    version_id = uuid.uuid4()
    await stage.submit(product, version_id, profile_complete=False)
    await stage.scan(product, version_id, 0, digest("major"), [finding("CVE-2024-0004", "major")])
    case = await stage.case_of(product)

    blocked = await stage.client.post(f"/cases/{case['id']}/approve", json={}, headers=stage.headers(REVIEWER))

    assert blocked.status_code == 409
    kinds = [blocker["kind"] for blocker in blocked.json()["blockers"]]
    assert kinds == ["profile_incomplete", "finding"]


async def test_failed_scan_shown_with_reason(stage, product):
    version_id = uuid.uuid4()
    await stage.submit(product, version_id)
    await stage.deliver(
        "scanning.scan.failed",
        {
            "scan_id": uuid.uuid4(),
            "reference": product.reference(0, "1.0"),
            "reason": "manifest unknown: tag 1.0 not found in staging",
            "version_id": version_id,
            "tier_id": product.tier_ids[0],
        },
    )
    case = await stage.case_of(product)

    assert case["state"] == "in_review"
    assert case["rounds"][0]["images"][0]["scan"]["failure_reason"] == "manifest unknown: tag 1.0 not found in staging"
    assert case["blockers"][0]["kind"] == "scan_failed"
    assert "tag 1.0 not found" in case["blockers"][0]["detail"]


async def test_scan_before_submission_counts(stage, product):
    version_id = uuid.uuid4()
    await stage.scan(product, version_id, 0, digest("early"))
    await stage.submit(product, version_id)

    case = await stage.case_of(product)

    assert case["state"] == "in_review"


async def test_counts_without_findings_block_approval(stage, product):
    version_id = uuid.uuid4()
    await stage.submit(product, version_id)
    await stage.deliver(
        "scanning.scan.completed",
        {
            "scan_id": uuid.uuid4(),
            "image": {"reference": product.reference(0, "1.0"), "digest": digest("counted")},
            "version_id": version_id,
            "tier_id": product.tier_ids[0],
            "counts": {"critical": 2},
        },
    )
    case = await stage.case_of(product)

    assert case["blockers"][0]["kind"] == "findings_not_listed"
    assert case["has_critical_findings"] is True


async def test_reject_records_reason(stage, product):
    version_id = uuid.uuid4()
    await stage.submit(product, version_id)
    await stage.scan(product, version_id, 0, digest("rejected"))
    case = await stage.case_of(product)

    missing = await stage.client.post(f"/cases/{case['id']}/reject", json={}, headers=stage.headers(REVIEWER))
    rejected = await stage.client.post(
        f"/cases/{case['id']}/reject", json={"reason": "Bundles a cryptominer"}, headers=stage.headers(REVIEWER)
    )
    again = await stage.client.post(
        f"/cases/{case['id']}/reject", json={"reason": "Twice"}, headers=stage.headers(REVIEWER)
    )

    assert missing.status_code == 422
    assert rejected.status_code == 200
    assert again.status_code == 409
    [event] = await stage.events("moderation.review.rejected", case_id=case["id"])
    assert event["reason"] == "Bundles a cryptominer"


async def test_decisions_need_reviewer_role(stage, product):
    version_id = uuid.uuid4()
    await stage.submit(product, version_id)
    await stage.scan(product, version_id, 0, digest("self-approved"))
    case = await stage.case_of(product)

    response = await stage.client.post(
        f"/cases/{case['id']}/approve", json={}, headers=stage.headers(product.publisher.user)
    )

    assert response.status_code == 403


async def test_queue_filters(stage, publisher, identity):
    reviewer = await identity_user(identity, "queue-reviewer", "reviewer")
    clean = Product(publisher=publisher, slug="clean")
    critical = Product(publisher=publisher, slug="critical")
    plugin = Product(publisher=publisher, slug="plugin", product_type="plugin")
    versions = {}
    for item in (clean, critical, plugin):
        versions[item.slug] = uuid.uuid4()
        await stage.submit(item, versions[item.slug])
        stage.advance(hours=24)
    await stage.scan(critical, versions["critical"], 0, digest("queue-critical"), [finding("CVE-2024-0005", "critical")])
    case_id = (await stage.case_of(clean))["id"]
    assigned = await stage.client.put(
        f"/cases/{case_id}/assignee", json={"reviewer_id": str(reviewer.user_id)}, headers=stage.headers(REVIEWER)
    )
    assert assigned.status_code == 200, assigned.text

    async def slugs(**params) -> list[str]:
        response = await stage.client.get("/cases", params=params, headers=stage.headers(reviewer))
        assert response.status_code == 200, response.text
        return [case["slug"] for case in response.json()["items"]]

    assert await slugs(has_critical_findings="true") == ["critical"]
    assert await slugs(product_type="plugin") == ["plugin"]
    assert await slugs(state="in_review") == ["critical"]
    assert await slugs(min_age_hours=60) == ["clean"]
    assert await slugs(assignee="me") == ["clean"]
    assert await slugs(assignee="none") == ["critical", "plugin"]
    assert await slugs(limit=2) == ["clean", "critical"]


async def test_assignee_must_be_reviewer(stage, product, identity):
    version_id = uuid.uuid4()
    await stage.submit(product, version_id)
    case_id = (await stage.case_of(product))["id"]
    reviewer = await identity_user(identity, "rita", "reviewer")
    admin = await identity_user(identity, "adam", "admin")
    security = await identity_user(identity, "sam", "security")
    customer = await identity_user(identity, "carl")

    async def assign(reviewer_id) -> httpx.Response:
        return await stage.client.put(
            f"/cases/{case_id}/assignee", json={"reviewer_id": reviewer_id}, headers=stage.headers(REVIEWER)
        )

    to_reviewer = await assign(str(reviewer.user_id))
    to_admin = await assign(str(admin.user_id))
    to_security = await assign(str(security.user_id))
    to_customer = await assign(str(customer.user_id))
    to_unknown = await assign(str(uuid.uuid4()))
    unassigned = await assign(None)

    assert to_reviewer.status_code == 200, to_reviewer.text
    assert to_reviewer.json()["assignee_id"] == str(reviewer.user_id)
    assert to_admin.status_code == 200, to_admin.text
    assert to_security.status_code == 422
    assert to_security.json()["field"] == "reviewer_id"
    assert "staff roles: security" in to_security.json()["detail"]
    assert to_customer.status_code == 422
    assert "does not have the staff role reviewer (staff roles: none)" in to_customer.json()["detail"]
    assert to_unknown.status_code == 422
    assert "not found" in to_unknown.json()["detail"]
    assert unassigned.status_code == 200
    assert unassigned.json()["assignee_id"] is None


async def test_assignee_check_identity_down_503(stage, product):
    version_id = uuid.uuid4()
    await stage.submit(product, version_id)
    case_id = (await stage.case_of(product))["id"]
    stage.runtime.platform.identity_url = f"http://127.0.0.1:{free_port()}"

    response = await stage.client.put(
        f"/cases/{case_id}/assignee", json={"reviewer_id": str(uuid.uuid4())}, headers=stage.headers(REVIEWER)
    )
    case = await stage.case_of(product)

    assert response.status_code == 503
    assert "identity service did not respond" in response.json()["detail"]
    assert case["assignee_id"] is None


async def test_retried_approval_replays_response(stage, product):
    version_id = uuid.uuid4()
    await stage.submit(product, version_id)
    await stage.scan(product, version_id, 0, digest("retried"))
    case = await stage.case_of(product)
    headers = {**stage.headers(REVIEWER), "Idempotency-Key": "approve-once"}

    first = await stage.client.post(f"/cases/{case['id']}/approve", json={}, headers=headers)
    second = await stage.client.post(f"/cases/{case['id']}/approve", json={}, headers=headers)

    assert first.status_code == 200
    assert second.status_code == 200
    assert second.headers["idempotent-replayed"] == "true"
    assert len(await stage.events("moderation.review.approved", case_id=case["id"])) == 1


async def test_publisher_sees_only_own_cases_in_queue(stage, publisher, rival):
    own = Product(publisher=publisher, slug="own")
    other = Product(publisher=rival, slug="other")
    await stage.submit(own, uuid.uuid4())
    await stage.submit(other, uuid.uuid4())

    response = await stage.client.get("/cases", headers=stage.headers(publisher.user))

    assert [case["slug"] for case in response.json()["items"]] == ["own"]


# Withdrawal.


def withdrawal(product: Product, version_id: uuid.UUID) -> dict:
    return {
        "product_id": product.product_id,
        "version_id": version_id,
        "organisation_id": product.publisher.organisation_id,
    }


async def test_withdrawal_closes_round_until_resubmission(stage, product):
    version_id = uuid.uuid4()
    await stage.submit(product, version_id)
    await stage.scan(product, version_id, 0, digest("withdrawn-round-1"))
    assert (await stage.case_of(product))["state"] == "in_review"

    stage.advance(hours=1)
    await stage.deliver("catalog.product.withdrawn", withdrawal(product, version_id))
    case = await stage.case_of(product)
    approval = await stage.client.post(f"/cases/{case['id']}/approve", json={}, headers=stage.headers(REVIEWER))

    assert case["state"] == "withdrawn"
    assert case["rounds"][0]["decision"] == "withdrawn"
    assert case["rounds"][0]["reason"] == "Withdrawn by the publisher"
    assert approval.status_code == 409
    assert "withdrawn" in approval.json()["detail"]
    assert await stage.events("moderation.review.approved", case_id=case["id"]) == []

    stage.advance(hours=1)
    await stage.submit(product, version_id)
    case = await stage.case_of(product)

    assert case["state"] == "awaiting_scans"
    assert case["current_round"] == 2


async def test_old_submission_does_not_reopen_withdrawn_case(stage, product):
    version_id = uuid.uuid4()
    submitted_at = stage.clock.now()
    await stage.submit(product, version_id)
    stage.advance(hours=1)
    await stage.deliver("catalog.product.withdrawn", withdrawal(product, version_id))
    withdrawn_at = stage.clock.now()

    # The first submission's event delivered again, stamped with its original time.
    stage.clock.set(submitted_at)
    await stage.submit(product, version_id)
    stage.clock.set(withdrawn_at)
    case = await stage.case_of(product)

    assert case["state"] == "withdrawn"
    assert case["current_round"] == 1


async def test_quick_resubmission_reopens_lagging_withdrawal(stage, product):
    version_id = uuid.uuid4()
    await stage.submit(product, version_id)

    # The catalog withdrew the version and took the resubmission a minute later, but
    # moderation handles both events only five minutes after the withdrawal.
    withdrawn_at = stage.advance(hours=1)
    resubmitted_at = withdrawn_at + timedelta(minutes=1)
    stage.advance(minutes=5)
    await stage.deliver("catalog.product.withdrawn", withdrawal(product, version_id), occurred_at=withdrawn_at)
    await stage.submit(product, version_id, occurred_at=resubmitted_at)
    case = await stage.case_of(product)

    assert case["state"] == "awaiting_scans"
    assert case["current_round"] == 2
    assert [round_["decision"] for round_ in case["rounds"]] == ["withdrawn", None]


async def test_resubmission_after_unapplied_approval_reopens(stage, product):
    version_id = uuid.uuid4()
    await stage.submit(product, version_id)
    await stage.scan(product, version_id, 0, digest("approved-then-withdrawn"))
    case = await stage.case_of(product)
    await stage.approve(case["id"])

    # The catalog withdrew the version before the approval reached it, so the case keeps
    # its decision, and the publisher's next submission opens a new round.
    await stage.deliver("catalog.product.withdrawn", withdrawal(product, version_id))
    assert (await stage.case_of(product))["state"] == "approved"
    stage.advance(minutes=10)
    await stage.submit(product, version_id)
    case = await stage.case_of(product)

    assert case["state"] == "awaiting_scans"
    assert case["current_round"] == 2
    assert [round_["decision"] for round_ in case["rounds"]] == ["approved", None]


async def test_later_submission_ends_open_round(stage, product):
    version_id = uuid.uuid4()
    await stage.submit(product, version_id)
    await stage.scan(product, version_id, 0, digest("superseded-round"))
    assert (await stage.case_of(product))["state"] == "in_review"

    # The withdrawal's event has not arrived, but the catalog only takes a new submission
    # of a version after it was withdrawn.
    stage.advance(hours=1)
    await stage.submit(product, version_id)
    case = await stage.case_of(product)

    assert case["state"] == "awaiting_scans"
    assert case["current_round"] == 2
    assert [round_["decision"] for round_ in case["rounds"]] == ["withdrawn", None]


async def test_withdrawal_before_its_submission_does_not_block(stage, product):
    version_id = uuid.uuid4()
    submitted_at = stage.clock.now()

    # The withdrawal overtakes the submission it withdraws, which a retry delayed.
    stage.advance(minutes=1)
    await stage.deliver("catalog.product.withdrawn", withdrawal(product, version_id))
    await stage.submit(product, version_id, occurred_at=submitted_at)
    assert (await stage.case_of(product))["current_round"] == 1

    stage.advance(hours=1)
    await stage.submit(product, version_id)
    case = await stage.case_of(product)

    assert case["state"] == "awaiting_scans"
    assert case["current_round"] == 2
