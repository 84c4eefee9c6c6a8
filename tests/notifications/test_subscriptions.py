"""Subscriptions: listing, scope checks, publisher defaults and one-click unsubscribe links."""

from __future__ import annotations

import base64
import uuid
from urllib.parse import parse_qs, urlsplit

from tests.notifications.support import (
    add_member,
    create_organisation,
    notifications,
    publish_product,
    pull,
    register,
    smtp_server,
    subscribe,
    version_published,
)


def unsubscribe_token(message) -> str:
    link = message["List-Unsubscribe"].strip("<>")
    return parse_qs(urlsplit(link).query)["token"][0]


async def test_unsubscribe_link_from_email_stops_notices():
    with smtp_server() as smtp:
        async with notifications(smtp_host=smtp.host, smtp_port=smtp.port) as harness:
            publisher = await create_organisation(harness, "acme")
            product_id = await publish_product(harness, publisher)
            follower = await register(harness, "follower")
            await subscribe(harness, follower, "updates", product_id)

            await harness.publish("catalog.version.published", version_published(publisher, product_id, "1.1.0"))
            await harness.dispatch()
            [first] = smtp.to(follower.email)
            link = first["List-Unsubscribe"].strip("<>")
            text_link = next(
                line.split(": ", 1)[1]
                for line in first.get_body(("plain",)).get_content().splitlines()
                if line.startswith("Unsubscribe from these emails")
            )

            # Mail clients send exactly this POST for RFC 8058 one-click unsubscribe.
            response = await harness.client.post(
                link.removeprefix("http://testserver"),
                content="List-Unsubscribe=One-Click",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            listing = await harness.client.get("/subscriptions", headers=harness.headers(follower.user))

            await harness.publish("catalog.version.published", version_published(publisher, product_id, "1.2.0"))
            await harness.dispatch()

    assert text_link == link
    assert response.status_code == 200
    assert response.json()["active"] is False
    assert response.json()["topic"] == "updates"
    assert [item["active"] for item in listing.json()["items"]] == [False]
    assert len(smtp.to(follower.email)) == 1


async def test_unsubscribe_page_get_changes_nothing():
    with smtp_server() as smtp:
        async with notifications(smtp_host=smtp.host, smtp_port=smtp.port) as harness:
            publisher = await create_organisation(harness, "acme")
            product_id = await publish_product(harness, publisher)
            follower = await register(harness, "follower")
            await subscribe(harness, follower, "updates", product_id)
            await harness.publish("catalog.version.published", version_published(publisher, product_id, "1.1.0"))
            await harness.dispatch()

            token = unsubscribe_token(smtp.to(follower.email)[0])
            page = await harness.client.get(f"/unsubscribe?token={token}")
            listing = await harness.client.get("/subscriptions", headers=harness.headers(follower.user))

    assert page.status_code == 200
    assert 'method="post"' in page.text
    assert [item["active"] for item in listing.json()["items"]] == [True]


async def test_forged_unsubscribe_token_rejected():
    with smtp_server() as smtp:
        async with notifications(smtp_host=smtp.host, smtp_port=smtp.port) as harness:
            publisher = await create_organisation(harness, "acme")
            product_id = await publish_product(harness, publisher)
            follower = await register(harness, "follower")
            await subscribe(harness, follower, "updates", product_id)
            await harness.publish("catalog.version.published", version_published(publisher, product_id, "1.1.0"))
            await harness.dispatch()

            token = unsubscribe_token(smtp.to(follower.email)[0])
            encoded_id, _, mac = token.partition(".")
            other_id = uuid.uuid4().bytes
            forged = base64.urlsafe_b64encode(other_id).decode().rstrip("=") + "." + mac
            forged_response = await harness.client.post(f"/unsubscribe?token={forged}")
            garbage_response = await harness.client.post("/unsubscribe?token=not-a-token")
            listing = await harness.client.get("/subscriptions", headers=harness.headers(follower.user))

    assert forged_response.status_code == 400
    assert garbage_response.status_code == 400
    assert "not-a-token" in garbage_response.json()["detail"]
    assert [item["active"] for item in listing.json()["items"]] == [True]


async def test_subscriptions_listing_shows_own_only():
    async with notifications() as harness:
        publisher = await create_organisation(harness, "acme")
        product_id = await publish_product(harness, publisher)
        customer = await register(harness, "customer")
        other = await register(harness, "other")
        await subscribe(harness, customer, "updates", product_id)
        await subscribe(harness, customer, "security", product_id)
        await subscribe(harness, other, "security", product_id)

        mine = await harness.client.get("/subscriptions", headers=harness.headers(customer.user))
        first_page = await harness.client.get("/subscriptions?limit=1", headers=harness.headers(customer.user))
        second_page = await harness.client.get(
            f"/subscriptions?limit=1&cursor={first_page.json()['next_cursor']}",
            headers=harness.headers(customer.user),
        )
        owner = await harness.client.get("/subscriptions", headers=harness.headers(publisher.owner.user))

    assert sorted(item["topic"] for item in mine.json()["items"]) == ["security", "updates"]
    assert {item["scope_id"] for item in mine.json()["items"]} == {str(product_id)}
    assert len(first_page.json()["items"]) == 1
    assert second_page.json()["items"][0]["id"] != first_page.json()["items"][0]["id"]
    assert second_page.json()["next_cursor"] is None
    # Members get every publisher topic of their organisation switched on.
    assert sorted(item["topic"] for item in owner.json()["items"]) == [
        "reports",
        "review_decisions",
        "scan_results",
        "sla",
        "vulnerabilities",
    ]
    assert {item["scope"] for item in owner.json()["items"]} == {"organisation"}


async def test_subscribe_to_other_organisation_not_found():
    async with notifications() as harness:
        acme = await create_organisation(harness, "acme")
        globex = await create_organisation(harness, "globex")
        response = await harness.client.put(
            f"/subscriptions/reports/{acme.organisation_id}", headers=harness.headers(globex.owner.user)
        )
        removal = await harness.client.delete(
            f"/subscriptions/reports/{acme.organisation_id}", headers=harness.headers(globex.owner.user)
        )

    assert response.status_code == 404
    assert removal.status_code == 404


async def test_subscribe_to_unknown_or_unlisted_product_not_found():
    async with notifications() as harness:
        publisher = await create_organisation(harness, "acme")
        product_id = await publish_product(harness, publisher)
        customer = await register(harness, "customer")
        await harness.publish(
            "catalog.product.unlisted", {"product_id": product_id, "organisation_id": publisher.organisation_id}
        )
        unknown = await harness.client.put(f"/subscriptions/updates/{uuid.uuid4()}", headers=harness.headers(customer.user))
        unlisted = await harness.client.put(f"/subscriptions/updates/{product_id}", headers=harness.headers(customer.user))
        unauthenticated = await harness.client.put(f"/subscriptions/updates/{product_id}")

    assert unknown.status_code == 404
    assert unlisted.status_code == 404
    assert unauthenticated.status_code == 401


async def test_removed_member_gets_no_publisher_notices():
    with smtp_server() as smtp:
        async with notifications(smtp_host=smtp.host, smtp_port=smtp.port) as harness:
            publisher = await create_organisation(harness, "acme")
            staying = await add_member(harness, publisher, "staying")
            leaving = await add_member(harness, publisher, "leaving")
            await harness.publish(
                "identity.membership.changed",
                {
                    "organisation_id": publisher.organisation_id,
                    "namespace": "acme",
                    "user_id": leaving.user.user_id,
                    "role": None,
                },
            )
            # A late copy of the older "joined" change must not bring the member back.
            await harness.publish(
                "identity.membership.changed",
                {
                    "organisation_id": publisher.organisation_id,
                    "namespace": "acme",
                    "user_id": leaving.user.user_id,
                    "role": "editor",
                },
                at=harness.clock.now().replace(year=2024),
            )
            await harness.publish(
                "audit.report.generated",
                {"report_id": uuid.uuid4(), "organisation_id": publisher.organisation_id, "month": "2025-02"},
            )
            await harness.dispatch()

    assert smtp.recipients() == sorted([publisher.owner.email, staying.email])
    assert smtp.messages[0]["Subject"] == "Your Wharf report for 2025-02"


async def test_publisher_topic_turned_off_stays_off():
    with smtp_server() as smtp:
        async with notifications(smtp_host=smtp.host, smtp_port=smtp.port) as harness:
            publisher = await create_organisation(harness, "acme")
            product_id = await publish_product(harness, publisher)
            response = await harness.client.delete(
                f"/subscriptions/review_decisions/{publisher.organisation_id}",
                headers=harness.headers(publisher.owner.user),
            )
            # A role change re-applies the member's defaults; the choice must survive it.
            await harness.publish(
                "identity.membership.changed",
                {
                    "organisation_id": publisher.organisation_id,
                    "namespace": "acme",
                    "user_id": publisher.owner.user.user_id,
                    "role": "owner",
                },
            )
            await harness.publish(
                "moderation.review.changes_requested",
                {
                    "case_id": uuid.uuid4(),
                    "product_id": product_id,
                    "version_id": uuid.uuid4(),
                    "version": "1.1.0",
                    "organisation_id": publisher.organisation_id,
                    "reason": "The manifest lacks a licence",
                },
            )
            await harness.publish(
                "scanning.scan.failed",
                {
                    "scan_id": uuid.uuid4(),
                    "reference": "staging/acme/redis:1.1.0",
                    "reason": "manifest unknown",
                    "organisation_id": publisher.organisation_id,
                    "product_id": product_id,
                },
            )
            await harness.dispatch()

    assert response.status_code == 204
    assert [message["Subject"] for message in smtp.messages] == ["Scan failed for Redis"]


async def test_revoked_listing_warns_subscribed_downloader():
    with smtp_server() as smtp:
        async with notifications(smtp_host=smtp.host, smtp_port=smtp.port) as harness:
            publisher = await create_organisation(harness, "acme")
            product_id = await publish_product(harness, publisher)
            customer = await register(harness, "customer")
            await subscribe(harness, customer, "security", product_id)
            await pull(harness, customer, product_id)
            await pull(harness, customer, product_id)
            await harness.publish(
                "moderation.listing.revoked",
                {"product_id": product_id, "organisation_id": publisher.organisation_id, "reason": "Hold expired"},
            )
            await harness.dispatch()

    [revoked] = smtp.to(customer.email)
    assert revoked["Subject"] == "Redis was removed from Wharf"
