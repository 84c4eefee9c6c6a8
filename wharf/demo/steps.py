"""The eight steps of the main journey, from a real image to the publisher's monthly report."""

from __future__ import annotations

import asyncio
import io
import re
from collections import Counter
from datetime import UTC, datetime, timedelta

from PIL import Image

from wharf.demo import feeds, images, recipes
from wharf.demo.accounts import (
    admin_account,
    mailbox,
    new_account,
    personal_token,
    sign_in,
    sign_in_again,
    sign_up_verified,
    wait_for_mail,
)
from wharf.demo.client import StepFailed, eventually
from wharf.demo.journey import Journey, Step

# Advisories modified after this date are left out of the first feed import: the fixed
# release is clean then, and the full import later adds CVE-2023-43804 (CVSS 8.1).
SNAPSHOT_CUTOFF = datetime(2023, 10, 1, tzinfo=UTC)
REPOSITORY = "app"
PRODUCT_NAME = "Harbour Notes"
LICENCE = {"url": "https://demo.example.com/licence", "version": "2024-01"}
BLOCKING_CLASSES = ("critical", "major")


# ---------------------------------------------------------------------------------------
# Step 1


async def build_images(journey: Journey) -> None:
    built = {}
    for release in recipes.RELEASES:
        image = await asyncio.to_thread(recipes.build, release, log=journey.say)
        built[release.tag] = image
        wheels = ", ".join(f"{name} {version}" for name, version in release.wheels)
        journey.say(f"{release.tag}: {image.digest[:19]}... ({wheels})")
    journey.state.images = built

    rootfs = images.debootstrap_rootfs()
    packages = images.dpkg_installed(rootfs / "var/lib/dpkg")
    journey.say(f"root filesystem: Debian bookworm minbase with {len(packages)} packages (cached)")
    journey.say(f"Go binary: {images.GO_BINARY} from the Debian package {images.GO_BINARY_PACKAGE}")
    journey.say(f"runs as user {recipes.APP_UID}:{recipes.APP_UID}, with name, vendor, version and other labels")


# ---------------------------------------------------------------------------------------
# Step 2


async def publisher_signs_up_and_pushes(journey: Journey) -> None:
    state = journey.state
    await admin_account(journey)

    state.publisher = await sign_up_verified(journey, new_account(journey, "publisher"), "Demo Publisher")
    publisher = journey.client(state.publisher)

    state.namespace = f"harbour{state.run_id}"
    organisation = await publisher.post(
        "/api/identity/organisations",
        json={"namespace": state.namespace, "display_name": "Harbour Software"},
        what="create the publisher organisation",
        expect=201,
    )
    state.organisation_id = organisation["id"]
    # The access token lists memberships, so sign in again to carry the new organisation.
    await sign_in(journey, state.publisher)
    publisher = journey.client(state.publisher)
    journey.say(f"organisation {state.namespace} created, {state.publisher.username} is its owner")

    await _save_profile(journey)
    journey.say("publisher profile complete: legal name, website, phone, email, 512x512 logo, story")

    token = await personal_token(publisher, state.publisher, "pull+push")
    reference = f"{journey.store.registry_address}/staging/{state.namespace}/{REPOSITORY}:1.0"
    try:
        await asyncio.to_thread(_push, journey, recipes.VULNERABLE.tag, reference, None)
    except images.SkopeoError as exc:
        journey.say(f"anonymous push to staging refused: {_first_line(exc.stderr)}")
    else:
        raise StepFailed(f"an anonymous push to {reference} was accepted")

    digest = await asyncio.to_thread(_push, journey, recipes.VULNERABLE.tag, reference, (state.publisher.username, token))
    state.pushed[reference] = digest
    journey.say(f"pushed {reference} with skopeo and a personal access token: {digest}")


async def _save_profile(journey: Journey) -> None:
    state = journey.state
    publisher = journey.client(state.publisher)
    logo = await _upload_png(journey, "logo.png", (30, 90, 160))
    await publisher.put(
        f"/api/catalog/organisations/{state.organisation_id}/profile",
        json={
            "legal_name": "Harbour Software Ltd",
            "website": "https://harbour.demo.example.com",
            "phone": "+44 20 7946 0958",
            "email": "hello@harbour.demo.example.com",
            "logo_media_id": logo,
            "story": "We build **small, sturdy** tools for ports and harbours.",
        },
        what="save the publisher profile",
    )


async def _upload_png(journey: Journey, name: str, colour: tuple[int, int, int]) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (512, 512), colour).save(buffer, format="PNG")
    uploaded = await journey.client(journey.state.publisher).post(
        f"/api/catalog/organisations/{journey.state.organisation_id}/media",
        files={"file": (name, buffer.getvalue(), "image/png")},
        what=f"upload {name}",
        expect=201,
    )
    return uploaded["id"]


def _push(journey: Journey, tag: str, destination: str, credentials: tuple[str, str] | None) -> str:
    layout = recipes.demo_layout().path
    return images.push_oci_layout(layout, tag, destination, credentials=credentials)


_REGISTRY_ERRORS = re.compile(r"(insufficient_scope|unauthorized|denied|authentication required)[^\n]{0,120}", re.I)


def _first_line(text: str) -> str:
    """Return the registry's reason from skopeo's error output, else its last line."""
    match = _REGISTRY_ERRORS.search(text)
    if match:
        # skopeo quotes the registry's message, escaping its line breaks.
        return match.group(0).split("\\n")[0].strip()
    return text.strip().splitlines()[-1][:200] if text.strip() else "(no output)"


# ---------------------------------------------------------------------------------------
# Step 3


async def import_feed_snapshot(journey: Journey) -> dict:
    counts = await asyncio.to_thread(
        feeds.stage_snapshot, journey.osv_source, journey.store.feed_dir, modified_before=SNAPSHOT_CUTOFF
    )
    if not any(counts.values()):
        raise StepFailed(f"no OSV records found in {journey.osv_source}")
    journey.say(
        "OSV feeds as of " + SNAPSHOT_CUTOFF.date().isoformat() + ": "
        + ", ".join(f"{name} {count} records" for name, count in sorted(counts.items()))
    )
    return await _import_feeds(journey)


async def _import_feeds(journey: Journey) -> dict:
    admin = journey.client(journey.state.admin)
    result = await admin.post(
        "/api/scanning/vulnerability-feeds/imports", json={}, what="import the OSV feeds", expect=(200, 201)
    )
    for entry in result["imports"]:
        journey.say(
            f"import of {entry['feed']}: {entry.get('added', 0)} added, {entry.get('changed', 0)} changed, "
            f"{entry.get('withdrawn', 0)} withdrawn"
        )
    return result


async def product_created_and_submitted(journey: Journey) -> None:
    state = journey.state
    await admin_account(journey)
    await import_feed_snapshot(journey)

    publisher = journey.client(state.publisher)
    screenshot = await _upload_png(journey, "screenshot.png", (240, 240, 230))
    logo = await _upload_png(journey, "product-logo.png", (20, 120, 90))
    source = f"staging/{state.namespace}/{REPOSITORY}:1.0"
    product = await publisher.post(
        f"/api/catalog/organisations/{state.organisation_id}/products",
        json={
            "name": f"{PRODUCT_NAME} {state.run_id}",
            "product_type": "image",
            "version": "1.0",
            "logo_media_id": logo,
            "short_description": "Notes for harbour masters, in a container",
            "category": "Business Software",
            "tags": ["notes", "harbour"],
            "long_description": "# Harbour Notes\n\nKeeps the log of every berth.",
            "screenshots": [screenshot],
            "support": {
                "url": "https://harbour.demo.example.com/support",
                "offered": True,
                "email": "support@harbour.demo.example.com",
                "hours": "Mon-Fri 09:00-17:00 UTC",
                "response_time": "1 business day",
            },
            "install_instructions": "Pull it with `docker pull` after accepting the licence.",
            "licence": LICENCE,
            # Free tiers need a signed-in customer who accepted the licence; paid tiers a purchase.
            "access_policy": "logged_in",
            "licence_required": True,
            "tiers": [
                {
                    "name": "Community",
                    "description": "Free, after accepting the licence",
                    "price_amount": 0,
                    "currency": "EUR",
                    "billing_period": "free",
                    "source": source,
                },
                {
                    "name": "Professional",
                    "description": "Monthly subscription with support",
                    "price_amount": 1900,
                    "currency": "EUR",
                    "billing_period": "monthly",
                    "source": source,
                },
            ],
        },
        what="create the product with a free and a paid monthly tier",
        expect=201,
    )
    state.product_id = product["id"]
    state.version_id = product["version"]["id"]
    state.slug = product["slug"]
    tiers = {tier["name"]: tier["id"] for tier in product["version"]["tiers"]}
    state.free_tier_id, state.paid_tier_id = tiers["Community"], tiers["Professional"]
    journey.say(f"product {product['name']} created with tiers Community (free) and Professional (EUR 19.00 monthly)")

    await publisher.post(
        f"/api/catalog/products/{state.product_id}/versions/{state.version_id}/submit",
        what="submit version 1.0",
        expect=(200, 202),
    )
    journey.say("version 1.0 submitted: catalog emitted catalog.product.submitted")
    await journey.store.after_submission()


# ---------------------------------------------------------------------------------------
# Step 4


async def scan_finds_vulnerabilities(journey: Journey) -> None:
    case = await _wait_case(journey, state="in_review", round_number=1, timeout=300)
    journey.state.case_id = case["id"]
    scan = _completed_scan(case)
    journey.say(f"scan of {scan['digest'][:19]}... completed; counts by class: {scan['counts']}")

    findings = await _findings(journey, scan["digest"])
    by_class = Counter(finding["effective_class"] for finding in findings)
    journey.say("open findings by class: " + ", ".join(f"{name} {count}" for name, count in sorted(by_class.items())))
    for finding in findings:
        if finding["effective_class"] in BLOCKING_CLASSES:
            journey.say(
                f"  {finding['effective_class']:>8} {finding['vulnerability_id']} in {finding['package']} "
                f"{finding['installed_version']} (CVSS {finding.get('cvss_score')}, fixed in {finding.get('fixed_version')})"
            )
    blocking = [finding for finding in findings if finding["effective_class"] in BLOCKING_CLASSES]
    if not any(finding["effective_class"] == "critical" for finding in blocking):
        raise StepFailed(f"the scan of the old wheels found no Critical finding: {dict(by_class)}")


def _completed_scan(case: dict) -> dict:
    """Return the scan of the current round's first image, or raise with the scan's failure."""
    scan = case["rounds"][-1]["images"][0]["scan"]
    if scan is None or scan["status"] != "completed":
        raise StepFailed(f"the scan of round {case['current_round']} did not complete: {scan}")
    return scan


async def _wait_case(journey: Journey, *, state: str, round_number: int, timeout: float = 120) -> dict:
    reviewer = journey.client(journey.state.admin)

    async def probe() -> dict | None:
        page = await reviewer.get(
            "/api/moderation/cases",
            params={"organisation_id": journey.state.organisation_id},
            what="list the publisher's review cases",
        )
        for summary in page["items"]:
            if summary["version_id"] == journey.state.version_id:
                case = await reviewer.get(f"/api/moderation/cases/{summary['id']}", what="read the review case")
                if case["state"] == state and case["current_round"] == round_number:
                    return case
        return None

    return await eventually(
        probe, what=f"the review case is {state} in round {round_number}", timeout=timeout, interval=1.0
    )


async def _findings(journey: Journey, digest: str) -> list[dict]:
    reviewer = journey.client(journey.state.admin)
    found = await reviewer.get(
        f"/api/moderation/images/{digest}/findings", params={"state": "open"}, what="list the image's open findings"
    )
    return [finding for finding in found if not finding["waived"]]


# ---------------------------------------------------------------------------------------
# Step 5


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

    refused = await reviewer.request(
        "POST", f"/api/moderation/cases/{state.case_id}/approve", json={}, expect=409, what="try to approve round 1"
    )
    blockers = refused.json().get("blockers", [])
    journey.say(f"approval refused (409) with {len(blockers)} blockers, such as:")
    for blocker in blockers[:3]:
        journey.say(f"  {blocker.get('detail', blocker)}")
    if not blockers:
        raise StepFailed("approval was refused without naming its blockers")

    case = await reviewer.get(f"/api/moderation/cases/{state.case_id}", what="read the case")
    digest = _completed_scan(case)["digest"]
    to_fix = [f for f in await _findings(journey, digest) if f["effective_class"] in BLOCKING_CLASSES]
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
    digest = await asyncio.to_thread(_push, journey, recipes.REVIEWED.tag, reference, credentials)
    journey.say(f"publisher pushed the fixed image to {reference}: {digest}")

    publisher = journey.client(state.publisher)
    await _wait_version_state(journey, "changes_requested")
    await publisher.post(
        f"/api/catalog/products/{state.product_id}/versions/{state.version_id}/submit",
        what="resubmit version 1.0",
        expect=(200, 202),
    )
    case = await _wait_case(journey, state="in_review", round_number=2, timeout=300)
    scan = _completed_scan(case)
    journey.say(f"round 2 scanned {scan['digest'][:19]}...: counts {scan['counts']}")

    await reviewer.post(f"/api/moderation/cases/{state.case_id}/approve", json={"note": "Clean now."}, what="approve round 2")
    journey.say("reviewer approved round 2")

    listing = await _wait_listing(journey, status="published")
    state.store_reference = f"{journey.store.registry_address}/store/{state.namespace}/{state.slug}:1.0"
    journey.say(f"image promoted to store/{state.namespace}/{state.slug}; listing is {listing['status']}")

    async def found() -> dict | None:
        page = await journey.anonymous.get("/api/catalog/search", params={"q": "harbour notes"}, what="search")
        return next((item for item in page["items"] if item["id"] == state.product_id), None)

    hit = await eventually(found, what="the listing is found by search", timeout=30)
    journey.say(f"search for 'harbour notes' finds {hit['name']}")


async def _wait_version_state(journey: Journey, wanted: str, version_id: str | None = None) -> dict:
    publisher = journey.client(journey.state.publisher)
    version_id = version_id or journey.state.version_id

    async def probe() -> dict | None:
        version = await publisher.get(
            f"/api/catalog/products/{journey.state.product_id}/versions/{version_id}", what="read the version"
        )
        return version if version["state"] == wanted else None

    return await eventually(probe, what=f"the version is {wanted}", timeout=120, interval=1.0)


async def _wait_listing(journey: Journey, *, status: str, timeout: float = 180) -> dict:
    state = journey.state

    async def probe() -> dict | None:
        response = await journey.anonymous.request(
            "GET", f"/api/catalog/store/{state.namespace}/{state.slug}", expect=(200, 404), what="read the listing"
        )
        if response.status_code == 404:
            return None
        listing = response.json()
        return listing if listing["status"] == status else None

    return await eventually(probe, what=f"the listing is {status}", timeout=timeout, interval=1.0)


# ---------------------------------------------------------------------------------------
# Step 6


async def customer_accepts_buys_and_pulls(journey: Journey) -> None:
    state = journey.state
    state.customer = await sign_up_verified(journey, new_account(journey, "customer"), "Demo Customer")
    customer = journey.client(state.customer)
    token = await personal_token(customer, state.customer, "pull")
    credentials = (state.customer.username, token)

    await _expect_pull_refused(journey, None, "anonymous pull")
    await _expect_pull_refused(journey, credentials, "pull before accepting the licence")

    await customer.post(
        f"/api/licensing/products/{state.product_id}/licence-acceptances",
        json={"licence_version": LICENCE["version"], "tier_id": state.free_tier_id},
        what="accept the licence",
        expect=(200, 201),
    )
    state.free_pull_at = datetime.now(UTC)
    digest = await asyncio.to_thread(images.pull_image, state.store_reference, credentials=credentials)
    journey.say(f"licence {LICENCE['version']} accepted; free pull of {state.store_reference} succeeded: {digest[:19]}...")

    await customer.put(
        f"/api/notifications/subscriptions/security/{state.product_id}", json={}, what="subscribe to security notices"
    )
    journey.say("customer subscribed to the product's security notices")

    checkout = await customer.post(
        "/api/billing/checkouts", json={"tier_id": state.paid_tier_id}, what="start the checkout", expect=(200, 201)
    )
    session_id = checkout["checkout_session_id"]
    order = await customer.post(
        f"/api/billing/sandbox/checkout/{session_id}/complete",
        headers={"Accept": "application/json"},
        what="pay in the sandbox checkout",
    )
    state.order = order
    journey.say(
        f"sandbox checkout paid: order {order['id']}, {order['amount']} {order['currency']} "
        f"minor units including tax {order['tax_amount']}"
    )

    async def entitled() -> dict | None:
        page = await customer.get("/api/licensing/entitlements", what="list entitlements")
        return next(
            (e for e in page["items"] if e["tier_id"] == state.paid_tier_id and e["status"] == "active"), None
        )

    entitlement = await eventually(entitled, what="licensing grants the paid tier", timeout=60)
    journey.say(f"entitlement to Professional granted until {entitlement['valid_until']}")

    state.paid_pull_at = datetime.now(UTC)
    await asyncio.to_thread(images.pull_image, state.store_reference, credentials=credentials)
    journey.say("paid pull succeeded")
    state.pull_month = journey.store.now()


async def _expect_pull_refused(journey: Journey, credentials, what: str) -> None:
    try:
        await asyncio.to_thread(images.pull_image, journey.state.store_reference, credentials=credentials)
    except images.SkopeoError as exc:
        journey.say(f"{what} refused: {_first_line(exc.stderr)}")
        return
    raise StepFailed(f"{what} of {journey.state.store_reference} succeeded")


# ---------------------------------------------------------------------------------------
# Step 7


async def advisory_hold_and_fix(journey: Journey) -> None:
    state = journey.state
    await admin_account(journey)
    counts = await asyncio.to_thread(feeds.stage_full, journey.osv_source, journey.store.feed_dir)
    journey.say("full OSV feeds: " + ", ".join(f"{name} {count} records" for name, count in sorted(counts.items())))
    await _import_feeds(journey)

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

    listing = await _wait_listing(journey, status="held")
    journey.say(f"listing held with warning label: {listing['warning']}")
    held = await wait_for_mail(journey, state.customer.email, subject_contains="on hold")
    journey.say(f"subscribed customer emailed: {held['subject']!r}")

    await _ship_fix(journey)
    listing = await _wait_listing(journey, status="published", timeout=300)
    journey.say(f"hold lifted: listing is {listing['status']} again, version {listing['version']['version']}")


async def _ship_fix(journey: Journey) -> None:
    state = journey.state
    publisher = journey.client(state.publisher)
    reference = f"{journey.store.registry_address}/staging/{state.namespace}/{REPOSITORY}:1.0.1"
    credentials = (state.publisher.username, state.publisher.personal_token)
    digest = await asyncio.to_thread(_push, journey, recipes.PATCHED.tag, reference, credentials)
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

    case = await _wait_case(journey, state="in_review", round_number=1, timeout=300)
    reviewer = journey.client(state.reviewer)
    await reviewer.post(f"/api/moderation/cases/{case['id']}/approve", json={}, what="approve version 1.0.1")
    journey.say("version 1.0.1 scanned clean and approved")


# ---------------------------------------------------------------------------------------
# Step 8


async def monthly_report(journey: Journey) -> None:
    state = journey.state
    await admin_account(journey)
    month_start = state.pull_month.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    next_month = (month_start + timedelta(days=32)).replace(day=1)
    month = month_start.strftime("%Y-%m")

    # First just past the month end: billing issues the payout statements of the month.
    moved = await journey.store.advance_clock_to(next_month + timedelta(minutes=5))
    journey.say(f"clock moved past the month end to {moved.isoformat(timespec='minutes')}")
    await sign_in_again(journey)
    await journey.store.run_scheduler("billing")
    publisher = journey.client(state.publisher)

    async def statement() -> dict | None:
        page = await publisher.get(
            f"/api/billing/organisations/{state.organisation_id}/statements", what="list payout statements"
        )
        return next((s for s in page["items"] if s.get("month") == month), None)

    issued = await eventually(statement, what=f"billing issues the {month} payout statement", timeout=120, interval=1.0)
    journey.say(f"payout statement for {month}: {issued['amounts']} owed ({issued['payout_method']} payout)")

    # Then past the audit service's grace period for late events, when it builds the reports.
    moved = await journey.store.advance_clock_to(next_month + timedelta(hours=7))
    journey.say(f"clock moved past the report grace period to {moved.isoformat(timespec='minutes')}")
    await sign_in_again(journey)
    publisher = journey.client(state.publisher)
    await journey.store.run_scheduler("audit")

    async def report() -> dict | None:
        page = await publisher.get(
            "/api/audit/reports", params={"organisation_id": state.organisation_id, "month": month}, what="list reports"
        )
        return page["items"][0] if page["items"] else None

    summary = await eventually(report, what=f"audit builds the {month} report", timeout=120, interval=1.0)
    content = (await publisher.get(f"/api/audit/reports/{summary['report_id']}", what="read the report"))["content"]
    if content["payout"]["status"] == "statement_missing":
        # When a jump of the clock passed the month end and the grace period at once, the
        # report can be built before the statement's event arrives; a rebuild includes it.
        journey.say("the report predates the payout statement, so the publisher has it rebuilt")
        content = await _rebuilt_report(journey, month)
    _check_report(journey, content, issued)


async def _rebuilt_report(journey: Journey, month: str) -> dict:
    publisher = journey.client(journey.state.publisher)

    async def rebuilt() -> dict | None:
        summary = await publisher.post(
            "/api/audit/reports",
            json={"organisation_id": journey.state.organisation_id, "month": month},
            what="rebuild the monthly report",
            expect=201,
        )
        detail = await publisher.get(f"/api/audit/reports/{summary['report_id']}", what="read the report")
        content = detail["content"]
        return content if content["payout"]["status"] != "statement_missing" else None

    return await eventually(rebuilt, what="the rebuilt report includes the payout statement", timeout=60, interval=2.0)


def _check_report(journey: Journey, content: dict, statement: dict) -> None:
    """Check the report's downloads, purchase and amount owed against what the journey did."""
    state = journey.state
    downloads = [item for item in content["downloads"]["items"] if item["product_id"] == state.product_id]
    customer_downloads = [item for item in downloads if item["customer_id"] == state.customer.user_id]
    kinds = sorted(item["customer"] for item in customer_downloads)
    if kinds != ["free", "paid"]:
        raise StepFailed(f"the report lists the customer's downloads as {kinds}, expected one free and one paid")
    for item in customer_downloads:
        journey.say(f"download by a {item['customer']} customer on {item['date']} at {item['time']} ({item['tier']})")

    purchases = [p for p in content["sales"]["purchases"] if p["tier_id"] == state.paid_tier_id]
    if len(purchases) != 1:
        raise StepFailed(f"the report lists {len(purchases)} purchases of the paid tier, expected 1")
    purchase = purchases[0]
    journey.say(
        f"purchase on {purchase['purchased_at']}: {purchase['amount']} {purchase['currency']} "
        f"including tax {purchase['tax_amount']}"
    )
    if purchase["tax_amount"] != state.order["tax_amount"]:
        raise StepFailed(f"the report's tax {purchase['tax_amount']} differs from the order's {state.order['tax_amount']}")
    if purchase["tax_amount"] <= 0:
        raise StepFailed("the purchase carries no tax, but the sandbox checkout applies 20 % VAT")

    payout = content["payout"]
    for line in payout["amounts"]:
        journey.say(
            f"amount owed in {line['currency']}: computed {line['computed']}, payout statement {line['statement']}"
        )
    if payout["status"] != "matches":
        raise StepFailed(f"the report's amount owed does not match the payout statement: {payout}")
    if {line["currency"]: line["statement"] for line in payout["amounts"]} != statement["amounts"]:
        raise StepFailed(f"the report names other statement amounts than billing's {statement['amounts']}")


STEPS = [
    Step(1, "build a real image without a Docker engine",
         "debootstrap, PyPI wheels and a Debian Go binary make OCI images with labels and a non-root user",
         build_images),
    Step(2, "a publisher signs up, verifies its email, creates its organisation and pushes",
         "accounts, emailed verification links, organisations, profiles, personal access tokens and "
         "push rights limited to members",
         publisher_signs_up_and_pushes),
    Step(3, "the publisher creates a product with a free and a paid tier and submits it",
         "feed import, the manifest rules and the submission event",
         product_created_and_submitted),
    Step(4, "the scan finds the vulnerable wheels",
         "scanning pulls the staged image, inventories each layer and matches the OSV feeds",
         scan_finds_vulnerabilities),
    Step(5, "review, fix, approval, promotion and publication",
         "Critical and Major findings block approval; a fixed image passes, is promoted and is found by search",
         review_fix_approve_publish),
    Step(6, "a customer accepts the licence, pulls, buys and pulls again",
         "the registry's token service applies each tier's access policy; checkout grants an entitlement",
         customer_accepts_buys_and_pulls),
    Step(7, "a new advisory, a missed deadline, a hold and its end",
         "re-matching, the SLA clock, holds with warning labels and emails, and a fix that lifts the hold",
         advisory_hold_and_fix),
    Step(8, "the month ends and the publisher reads its report",
         "downloads by free and paid customers, the purchase with its tax, and the amount owed "
         "equal to the payout statement",
         monthly_report),
]
