"""Steps 1 to 3: the images, the publisher's account and push, the product and its submission."""

from __future__ import annotations

import asyncio

from wharf.demo import feeds, images, recipes
from wharf.demo.accounts import admin_account, new_account, personal_token, sign_in, sign_up_verified
from wharf.demo.client import StepFailed
from wharf.demo.journey import Journey
from wharf.demo.steps.common import (
    LICENCE,
    PRODUCT_NAME,
    REPOSITORY,
    SNAPSHOT_CUTOFF,
    import_feeds,
    push_release,
    registry_error,
    upload_png,
)


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
        await asyncio.to_thread(push_release, journey, recipes.VULNERABLE.tag, reference, None)
    except images.SkopeoError as exc:
        journey.say(f"anonymous push to staging rejected: {registry_error(exc.stderr)}")
    else:
        raise StepFailed(f"an anonymous push to {reference} was accepted")

    credentials = (state.publisher.username, token)
    digest = await asyncio.to_thread(push_release, journey, recipes.VULNERABLE.tag, reference, credentials)
    state.pushed[reference] = digest
    journey.say(f"pushed {reference} with skopeo and a personal access token: {digest}")


async def _save_profile(journey: Journey) -> None:
    state = journey.state
    publisher = journey.client(state.publisher)
    logo = await upload_png(journey, "logo.png", (30, 90, 160))
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
    return await import_feeds(journey)


async def product_created_and_submitted(journey: Journey) -> None:
    state = journey.state
    await admin_account(journey)
    await import_feed_snapshot(journey)

    publisher = journey.client(state.publisher)
    screenshot = await upload_png(journey, "screenshot.png", (240, 240, 230))
    logo = await upload_png(journey, "product-logo.png", (20, 120, 90))
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
