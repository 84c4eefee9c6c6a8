"""Hold warnings and update notices to customers, delivered to a real SMTP server."""

from __future__ import annotations

import uuid

from services.notifications.models import Message
from tests.notifications.support import (
    create_organisation,
    add_member,
    notifications,
    publish_product,
    pull,
    register,
    smtp_server,
    subscribe,
    version_published,
)


async def test_held_listing_emails_only_subscribed_downloaders():
    with smtp_server() as smtp:
        async with notifications(smtp_host=smtp.host, smtp_port=smtp.port) as harness:
            publisher = await create_organisation(harness, "acme")
            product_id = await publish_product(harness, publisher)
            other_product_id = await publish_product(harness, publisher, slug="nginx")

            subscribed_downloader = await register(harness, "downloader-subscribed")
            await subscribe(harness, subscribed_downloader, "security", product_id)
            await pull(harness, subscribed_downloader, product_id)

            not_subscribed = await register(harness, "downloader-only")
            await pull(harness, not_subscribed, product_id)

            never_downloaded = await register(harness, "subscriber-only")
            await subscribe(harness, never_downloaded, "security", product_id)

            updates_only = await register(harness, "updates-only")
            await subscribe(harness, updates_only, "updates", product_id)
            await pull(harness, updates_only, product_id)

            other_product = await register(harness, "other-product")
            await subscribe(harness, other_product, "security", other_product_id)
            await pull(harness, other_product, other_product_id)
            await pull(harness, other_product, product_id)

            # The owner's own publisher notices are switched off here, so every email
            # that arrives is a customer warning.
            response = await harness.client.delete(
                f"/subscriptions/sla/{publisher.organisation_id}", headers=harness.headers(publisher.owner.user)
            )
            assert response.status_code == 204

            await harness.publish(
                "moderation.listing.held",
                {
                    "product_id": product_id,
                    "organisation_id": publisher.organisation_id,
                    "reason": "CVE-2025-0001 (critical) was not fixed within 72 hours",
                },
                subject=str(product_id),
            )
            await harness.dispatch()

    assert smtp.recipients() == [subscribed_downloader.email]
    warning = smtp.messages[0]
    assert warning["Subject"] == "Security warning: Redis is on hold"
    text = warning.get_body(("plain",)).get_content()
    assert "CVE-2025-0001" in text
    assert "Next step:" in text
    assert "http://store.test/products/acme/redis" in text
    assert warning["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    html = warning.get_body(("html",)).get_content()
    assert "Security warning: Redis is on hold" in html


async def test_held_listing_notifies_publisher_members():
    with smtp_server() as smtp:
        async with notifications(smtp_host=smtp.host, smtp_port=smtp.port) as harness:
            publisher = await create_organisation(harness, "acme")
            editor = await add_member(harness, publisher, "acme-editor")
            stranger = await create_organisation(harness, "globex")
            product_id = await publish_product(harness, publisher)

            await harness.publish(
                "moderation.listing.held",
                {"product_id": product_id, "organisation_id": publisher.organisation_id, "reason": "SLA missed"},
                subject=str(product_id),
            )
            await harness.dispatch()

    assert smtp.recipients() == sorted([publisher.owner.email, editor.email])
    assert stranger.owner.email not in smtp.recipients()
    assert smtp.messages[0]["Subject"] == "Your listing Redis is on hold"


async def test_version_published_sends_update_notices():
    with smtp_server() as smtp:
        async with notifications(smtp_host=smtp.host, smtp_port=smtp.port) as harness:
            publisher = await create_organisation(harness, "acme")
            product_id = await publish_product(harness, publisher)
            follower = await register(harness, "follower")
            await subscribe(harness, follower, "updates", product_id)
            security_only = await register(harness, "security-only")
            await subscribe(harness, security_only, "security", product_id)

            await harness.publish(
                "catalog.version.published",
                version_published(publisher, product_id, "1.1.0"),
                subject=str(product_id),
            )
            await harness.dispatch()

    assert smtp.recipients() == [follower.email]
    notice = smtp.messages[0]
    assert notice["Subject"] == "Redis 1.1.0 is available"
    assert "docker pull store/acme/redis:1.1.0" in notice.get_body(("plain",)).get_content()


async def test_redelivered_event_sends_nothing_twice():
    with smtp_server() as smtp:
        async with notifications(smtp_host=smtp.host, smtp_port=smtp.port) as harness:
            publisher = await create_organisation(harness, "acme")
            product_id = await publish_product(harness, publisher)
            follower = await register(harness, "follower")
            await subscribe(harness, follower, "updates", product_id)

            data = version_published(publisher, product_id, "1.1.0")
            envelope = await harness.publish("catalog.version.published", data, subject=str(product_id))
            await harness.dispatch()
            # The same event again, as the broker redelivers it after a lost ack.
            await harness.transport.publish(envelope)
            # A second event announcing the same version, as a producer retry would.
            await harness.publish("catalog.version.published", data, subject=str(product_id))
            await harness.dispatch()

            updates = await harness.messages(Message.kind == "product_update")

    assert smtp.recipients() == [follower.email]
    assert len(updates) == 1


async def test_anonymous_pull_is_not_a_download():
    with smtp_server() as smtp:
        async with notifications(smtp_host=smtp.host, smtp_port=smtp.port) as harness:
            publisher = await create_organisation(harness, "acme")
            product_id = await publish_product(harness, publisher)
            customer = await register(harness, "customer")
            await subscribe(harness, customer, "security", product_id)
            await harness.publish(
                "licensing.image.pulled",
                {
                    "repository": "store/acme/redis",
                    "digest": "sha256:" + "b" * 64,
                    "user_id": None,
                    "product_id": product_id,
                    "registry_event_id": uuid.uuid4().hex,
                    "pulled_at": harness.clock.now(),
                },
            )
            await harness.publish(
                "moderation.listing.held",
                {"product_id": product_id, "organisation_id": publisher.organisation_id, "reason": "SLA missed"},
            )
            await harness.dispatch()

    assert customer.email not in smtp.recipients()


async def test_publisher_member_pull_is_not_a_download():
    with smtp_server() as smtp:
        async with notifications(smtp_host=smtp.host, smtp_port=smtp.port) as harness:
            publisher = await create_organisation(harness, "acme")
            product_id = await publish_product(harness, publisher)
            insider = await register(harness, "insider")
            await subscribe(harness, insider, "security", product_id)
            await harness.publish(
                "licensing.image.pulled",
                {
                    "repository": "store/acme/redis",
                    "digest": "sha256:" + "d" * 64,
                    "user_id": insider.user.user_id,
                    "product_id": product_id,
                    "organisation_id": publisher.organisation_id,
                    "publisher_member": True,
                    "registry_event_id": uuid.uuid4().hex,
                    "pulled_at": harness.clock.now(),
                },
            )
            await harness.publish(
                "moderation.listing.held",
                {"product_id": product_id, "organisation_id": publisher.organisation_id, "reason": "SLA missed"},
            )
            await harness.dispatch()

    assert insider.email not in smtp.recipients()
