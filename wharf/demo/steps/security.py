"""Step 7: a new advisory, the SLA deadline, the hold and the fix that lifts it."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from wharf.demo import feeds, recipes
from wharf.demo.accounts import admin_account, sign_in_again, wait_for_mail
from wharf.demo.client import eventually
from wharf.demo.journey import Journey
from wharf.demo.steps.common import REPOSITORY, import_feeds, push_release, wait_case, wait_listing


async def advisory_hold_and_fix(journey: Journey) -> None:
    state = journey.state
    await admin_account(journey)
    counts = await asyncio.to_thread(feeds.stage_full, journey.osv_source, journey.store.feed_dir)
    journey.say("full OSV feeds: " + ", ".join(f"{name} {count} records" for name, count in sorted(counts.items())))
    await import_feeds(journey)

    publisher = journey.client(state.publisher)

    async def sla_case() -> dict | None:
        page = await publisher.get("/api/moderation/sla-cases", what="list SLA cases")
        return next(
            (c for c in page["items"] if c["product_id"] == state.product_id and c["finding_class"] == "critical"), None
        )

    case = await eventually(sla_case, what="moderation opens a Critical SLA case", timeout=120, interval=1.0)
    journey.say(f"SLA case opened for {case['vulnerability_id']}: deadline {case['deadline']}")
    message = await wait_for_mail(journey, state.publisher.email, subject_contains="deadline")
    journey.say(f"publisher notified by email: {message['subject']!r}")

    deadline = datetime.fromisoformat(case["deadline"])
    moved = await journey.store.advance_clock_to(deadline + timedelta(minutes=5))
    journey.say(f"clock moved past the 72-hour deadline to {moved.isoformat(timespec='minutes')}")
    await sign_in_again(journey)
    await journey.store.run_scheduler("moderation")

    listing = await wait_listing(journey, status="held")
    journey.say(f"listing held with warning label: {listing['warning']}")
    held = await wait_for_mail(journey, state.customer.email, subject_contains="on hold")
    journey.say(f"subscribed customer emailed: {held['subject']!r}")

    await _ship_fix(journey)
    listing = await wait_listing(journey, status="published", timeout=300)
    journey.say(f"hold lifted: listing is {listing['status']} again, version {listing['version']['version']}")


async def _ship_fix(journey: Journey) -> None:
    state = journey.state
    publisher = journey.client(state.publisher)
    reference = f"{journey.store.registry_address}/staging/{state.namespace}/{REPOSITORY}:1.0.1"
    credentials = (state.publisher.username, state.publisher.personal_token)
    digest = await asyncio.to_thread(push_release, journey, recipes.PATCHED.tag, reference, credentials)
    journey.say(f"publisher pushed the fix {reference}: {digest[:19]}...")

    product = await publisher.post(
        f"/api/catalog/products/{state.product_id}/versions",
        json={"version": "1.0.1"},
        what="start version 1.0.1",
        expect=201,
    )
    version_id = product["version"]["id"]
    # Keeping each tier's id keeps the tier, and so the customers' entitlements to it.
    tiers = [
        {
            "id": tier["id"],
            "name": tier["name"],
            "description": tier["description"],
            "price_amount": tier["price_amount"],
            "currency": tier["currency"],
            "billing_period": tier["billing_period"],
            "source": f"staging/{state.namespace}/{REPOSITORY}:1.0.1",
        }
        for tier in product["version"]["tiers"]
    ]
    await publisher.patch(
        f"/api/catalog/products/{state.product_id}/versions/{version_id}",
        json={"tiers": tiers},
        what="point the tiers of 1.0.1 at the fixed image",
    )
    await publisher.post(
        f"/api/catalog/products/{state.product_id}/versions/{version_id}/submit",
        what="submit version 1.0.1",
        expect=(200, 202),
    )
    state.version_id = version_id

    case = await wait_case(journey, state="in_review", round_number=1, timeout=300)
    reviewer = journey.client(state.reviewer)
    await reviewer.post(f"/api/moderation/cases/{case['id']}/approve", json={}, what="approve version 1.0.1")
    journey.say("version 1.0.1 scanned clean and approved")
