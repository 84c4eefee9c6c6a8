"""Steps 4 and 5: the scan's findings, the review rounds, promotion and publication."""

from __future__ import annotations

import asyncio
from collections import Counter

from wharf.demo import recipes
from wharf.demo.accounts import new_account, sign_in, sign_up_verified
from wharf.demo.client import StepFailed, eventually
from wharf.demo.journey import Journey
from wharf.demo.steps.common import (
    BLOCKING_CLASSES,
    REPOSITORY,
    completed_scan,
    open_findings,
    push_release,
    wait_case,
    wait_listing,
    wait_version_state,
)


async def scan_finds_vulnerabilities(journey: Journey) -> None:
    case = await wait_case(journey, state="in_review", round_number=1, timeout=300)
    journey.state.case_id = case["id"]
    scan = completed_scan(case)
    journey.say(f"scan of {scan['digest'][:19]}... completed; counts by class: {scan['counts']}")

    findings = await open_findings(journey, scan["digest"])
    by_class = Counter(finding["effective_class"] for finding in findings)
    journey.say("open findings by class: " + ", ".join(f"{name} {count}" for name, count in sorted(by_class.items())))
    for finding in findings:
        if finding["effective_class"] in BLOCKING_CLASSES:
            journey.say(
                f"  {finding['effective_class']:>8} {finding['vulnerability_id']} in {finding['package']} "
                f"{finding['installed_version']} (CVSS {finding.get('cvss_score')}, "
                f"fixed in {finding.get('fixed_version')})"
            )
    blocking = [finding for finding in findings if finding["effective_class"] in BLOCKING_CLASSES]
    if not any(finding["effective_class"] == "critical" for finding in blocking):
        raise StepFailed(f"the scan of the old wheels found no Critical finding: {dict(by_class)}")


async def review_fix_approve_publish(journey: Journey) -> None:
    state = journey.state
    admin = journey.client(state.admin)
    state.reviewer = await sign_up_verified(journey, new_account(journey, "reviewer"), "Demo Reviewer")
    await admin.post(
        f"/api/identity/staff/{state.reviewer.user_id}/roles",
        json={"role": "reviewer"},
        what="grant the reviewer role",
    )
    await sign_in(journey, state.reviewer)
    reviewer = journey.client(state.reviewer)

    rejected = await reviewer.request(
        "POST", f"/api/moderation/cases/{state.case_id}/approve", json={}, expect=409, what="try to approve round 1"
    )
    blockers = rejected.json().get("blockers", [])
    journey.say(f"approval rejected (409) with {len(blockers)} blockers, such as:")
    for blocker in blockers[:3]:
        journey.say(f"  {blocker.get('detail', blocker)}")
    if not blockers:
        raise StepFailed("approval was rejected without naming its blockers")

    case = await reviewer.get(f"/api/moderation/cases/{state.case_id}", what="read the case")
    digest = completed_scan(case)["digest"]
    to_fix = [f for f in await open_findings(journey, digest) if f["effective_class"] in BLOCKING_CLASSES]
    await reviewer.post(
        f"/api/moderation/cases/{state.case_id}/request-changes",
        json={
            "reason": "Update the wheels with Critical and Major advisories.",
            "findings": [
                {"image_digest": digest, "vulnerability_id": f["vulnerability_id"], "note": f"upgrade {f['package']}"}
                for f in to_fix
            ],
        },
        what="request changes listing the findings",
    )
    journey.say(f"reviewer {state.reviewer.username} requested changes listing {len(to_fix)} findings")

    reference = f"{journey.store.registry_address}/staging/{state.namespace}/{REPOSITORY}:1.0"
    credentials = (state.publisher.username, state.publisher.personal_token)
    digest = await asyncio.to_thread(push_release, journey, recipes.REVIEWED.tag, reference, credentials)
    journey.say(f"publisher pushed the fixed image to {reference}: {digest}")

    publisher = journey.client(state.publisher)
    await wait_version_state(journey, "changes_requested")
    await publisher.post(
        f"/api/catalog/products/{state.product_id}/versions/{state.version_id}/submit",
        what="resubmit version 1.0",
        expect=(200, 202),
    )
    case = await wait_case(journey, state="in_review", round_number=2, timeout=300)
    scan = completed_scan(case)
    journey.say(f"round 2 scanned {scan['digest'][:19]}...: counts {scan['counts']}")

    await reviewer.post(
        f"/api/moderation/cases/{state.case_id}/approve", json={"note": "Clean now."}, what="approve round 2"
    )
    journey.say("reviewer approved round 2")

    listing = await wait_listing(journey, status="published")
    state.store_reference = f"{journey.store.registry_address}/store/{state.namespace}/{state.slug}:1.0"
    journey.say(f"image promoted to store/{state.namespace}/{state.slug}; listing is {listing['status']}")

    async def found() -> dict | None:
        page = await journey.anonymous.get("/api/catalog/search", params={"q": "harbour notes"}, what="search")
        return next((item for item in page["items"] if item["id"] == state.product_id), None)

    hit = await eventually(found, what="the listing is found by search", timeout=30)
    journey.say(f"search for 'harbour notes' finds {hit['name']}")
