"""Webhooks: signed calls to a real receiver on loopback, retries, disabling, address checks."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import timedelta

import pytest

from services.notifications.models import Message
from tests.notifications.support import (
    Harness,
    Publisher,
    create_organisation,
    http_receiver,
    notifications,
    register,
)
from tests.support.tokens import TestUser as TokenUser


def scan_completed(publisher: Publisher) -> dict:
    return {
        "scan_id": uuid.uuid4(),
        "image": {"reference": "staging/acme/redis:1.0.0", "digest": "sha256:" + "c" * 64},
        "organisation_id": publisher.organisation_id,
        "counts": {"critical": 1, "minor": 3},
        "checks_passed": True,
    }


async def register_webhook(harness: Harness, publisher: Publisher, url: str, topics=("scan_results",)):
    return await harness.client.post(
        f"/organisations/{publisher.organisation_id}/webhooks",
        json={"url": url, "topics": list(topics)},
        headers=harness.headers(publisher.owner.user),
    )


async def test_webhook_signature_verifies_with_secret():
    with http_receiver() as receiver:
        async with notifications(webhook_allow_private_addresses=True) as harness:
            publisher = await create_organisation(harness, "acme")
            created = await register_webhook(harness, publisher, receiver.url())
            assert created.status_code == 201, created.text
            secret = created.json()["secret"]

            await harness.publish("scanning.scan.completed", scan_completed(publisher))
            await harness.dispatch()

    assert len(receiver.requests) == 1
    call = receiver.requests[0]
    timestamp, signature = call.headers["wharf-signature"].split(",")
    assert timestamp.startswith("t=")
    assert signature.startswith("v1=")
    signed = timestamp[2:].encode() + b"." + call.body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(signature[3:], expected)
    body = json.loads(call.body)
    assert body["type"] == "scanning.scan.completed"
    assert body["data"]["counts"] == {"critical": 1, "minor": 3}
    assert body["organisation_id"] == str(publisher.organisation_id)


async def test_webhook_signature_fails_with_other_secret():
    with http_receiver() as receiver:
        async with notifications(webhook_allow_private_addresses=True) as harness:
            publisher = await create_organisation(harness, "acme")
            created = await register_webhook(harness, publisher, receiver.url())
            await harness.client.post(
                f"/organisations/{publisher.organisation_id}/webhooks/{created.json()['id']}/ping",
                headers=harness.headers(publisher.owner.user),
            )
            await harness.dispatch()

    call = receiver.requests[0]
    timestamp, signature = call.headers["wharf-signature"].split(",")
    forged = hmac.new(b"whsec_wrong", timestamp[2:].encode() + b"." + call.body, hashlib.sha256).hexdigest()
    assert signature[3:] != forged


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:9/hook", "loopback"),
        ("http://localhost:9/hook", "loopback"),
        ("http://[::1]:9/hook", "loopback"),
        ("http://[::ffff:127.0.0.1]:9/hook", "loopback"),
        ("http://10.1.2.3/hook", "private"),
        ("http://192.168.1.20/hook", "private"),
        ("http://172.16.0.1/hook", "private"),
        ("http://[fd12:3456::1]/hook", "private"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://169.254.10.1/hook", "link-local"),
        ("http://100.64.0.1/hook", "not a public"),
        ("http://0.0.0.0/hook", "unspecified"),
        ("ftp://example.test/hook", "scheme"),
        ("http://user:pass@example.test/hook", "user name"),
    ],
)
async def test_webhook_private_address_refused(url, reason):
    async with notifications() as harness:
        publisher = await create_organisation(harness, "acme")
        response = await register_webhook(harness, publisher, url)
        stored = await harness.client.get(
            f"/organisations/{publisher.organisation_id}/webhooks", headers=harness.headers(publisher.owner.user)
        )

    assert response.status_code == 422
    assert reason in response.json()["detail"]
    assert stored.json()["items"] == []


async def test_metadata_address_refused_even_when_private_allowed():
    async with notifications(webhook_allow_private_addresses=True) as harness:
        publisher = await create_organisation(harness, "acme")
        response = await register_webhook(harness, publisher, "http://169.254.169.254/latest/meta-data/")

    assert response.status_code == 422
    assert "metadata" in response.json()["detail"]


async def test_delivery_rechecks_address_before_sending():
    with http_receiver() as receiver:
        async with notifications(webhook_allow_private_addresses=True) as harness:
            publisher = await create_organisation(harness, "acme")
            created = await register_webhook(harness, publisher, receiver.url())
            assert created.status_code == 201
            # The operator withdraws the permission after registration.
            harness.runtime.settings.webhook_allow_private_addresses = False
            await harness.publish("scanning.scan.completed", scan_completed(publisher))
            await harness.dispatch()
            [message] = await harness.messages(Message.channel == "webhook")

    assert receiver.requests == []
    assert message.status == "retrying"
    assert "loopback" in message.last_error


async def test_failed_webhook_retried_with_growing_delays():
    with http_receiver() as receiver:
        receiver.statuses = [500, 503]
        async with notifications(webhook_allow_private_addresses=True) as harness:
            publisher = await create_organisation(harness, "acme")
            await register_webhook(harness, publisher, receiver.url())
            await harness.publish("scanning.scan.completed", scan_completed(publisher))

            await harness.dispatch()
            [first] = await harness.messages(Message.channel == "webhook")
            first_delay = first.next_attempt_at - harness.clock.now()

            harness.clock.advance(first_delay)
            await harness.dispatch()
            [second] = await harness.messages(Message.channel == "webhook")
            second_delay = second.next_attempt_at - harness.clock.now()

            harness.clock.advance(second_delay)
            await harness.dispatch()
            [third] = await harness.messages(Message.channel == "webhook")
            detail = await harness.client.get(
                f"/messages/{third.id}", headers=harness.headers(publisher.owner.user)
            )

    assert len(receiver.requests) == 3
    assert first_delay == timedelta(seconds=10)
    assert second_delay == timedelta(seconds=60)
    assert third.status == "sent"
    assert third.attempts == 3
    steps = [entry["status"] for entry in detail.json()["log"]]
    assert steps == ["queued", "failed", "retried", "failed", "retried", "sent"]
    assert "HTTP 500" in detail.json()["log"][1]["detail"]
    # Every attempt carries the same message id, so the receiver can drop repeats.
    assert len({json.loads(call.body)["id"] for call in receiver.requests}) == 1


async def test_webhook_disabled_after_repeated_failures():
    with http_receiver() as receiver:
        receiver.statuses = [500] * 10
        async with notifications(
            webhook_allow_private_addresses=True, webhook_disable_after_failures=3
        ) as harness:
            publisher = await create_organisation(harness, "acme")
            created = await register_webhook(harness, publisher, receiver.url())
            webhook_id = created.json()["id"]
            await harness.publish("scanning.scan.completed", scan_completed(publisher))
            await harness.publish("scanning.scan.completed", scan_completed(publisher))

            for _ in range(3):
                await harness.dispatch()
                harness.clock.advance(timedelta(hours=1))
            await harness.dispatch()

            webhook = await harness.client.get(
                f"/organisations/{publisher.organisation_id}/webhooks/{webhook_id}",
                headers=harness.headers(publisher.owner.user),
            )
            calls = await harness.messages(Message.channel == "webhook")
            notices = await harness.messages(Message.kind == "webhook_disabled")
            calls_before = len(receiver.requests)

            enabled = await harness.client.patch(
                f"/organisations/{publisher.organisation_id}/webhooks/{webhook_id}",
                json={"active": True},
                headers=harness.headers(publisher.owner.user),
            )

    assert webhook.json()["active"] is False
    assert "3 failed attempts in a row" in webhook.json()["disabled_reason"]
    assert calls_before == 3
    assert [call.status for call in calls] == ["failed", "failed"]
    assert [notice.recipient for notice in notices] == [publisher.owner.email]
    assert enabled.json()["active"] is True
    assert enabled.json()["consecutive_failures"] == 0


async def test_webhook_of_other_organisation_not_found():
    with http_receiver() as receiver:
        async with notifications(webhook_allow_private_addresses=True) as harness:
            acme = await create_organisation(harness, "acme")
            globex = await create_organisation(harness, "globex")
            created = await register_webhook(harness, acme, receiver.url())
            webhook_id = created.json()["id"]
            intruder = harness.headers(globex.owner.user)

            in_own_path = await harness.client.get(
                f"/organisations/{globex.organisation_id}/webhooks/{webhook_id}", headers=intruder
            )
            in_their_path = await harness.client.get(
                f"/organisations/{acme.organisation_id}/webhooks/{webhook_id}", headers=intruder
            )
            listing = await harness.client.get(f"/organisations/{acme.organisation_id}/webhooks", headers=intruder)
            creation = await register_webhook(harness, globex, receiver.url())
            foreign_creation = await harness.client.post(
                f"/organisations/{acme.organisation_id}/webhooks",
                json={"url": receiver.url(), "topics": ["sla"]},
                headers=intruder,
            )
            deletion = await harness.client.delete(
                f"/organisations/{acme.organisation_id}/webhooks/{webhook_id}", headers=intruder
            )
            deliveries = await harness.client.get(
                f"/organisations/{acme.organisation_id}/webhooks/{webhook_id}/deliveries", headers=intruder
            )

    assert in_own_path.status_code == 404
    assert in_their_path.status_code == 404
    assert listing.status_code == 404
    assert creation.status_code == 201
    assert foreign_creation.status_code == 404
    assert deletion.status_code == 404
    assert deliveries.status_code == 404


async def test_viewer_cannot_register_webhook():
    async with notifications(webhook_allow_private_addresses=True) as harness:
        publisher = await create_organisation(harness, "acme")
        viewer = TokenUser(username="viewer", orgs=((publisher.organisation_id, "acme", "viewer"),))
        response = await harness.client.post(
            f"/organisations/{publisher.organisation_id}/webhooks",
            json={"url": "http://127.0.0.1:9/hook", "topics": ["sla"]},
            headers=harness.headers(viewer),
        )

    assert response.status_code == 403


async def test_webhook_rejects_customer_topics():
    async with notifications(webhook_allow_private_addresses=True) as harness:
        publisher = await create_organisation(harness, "acme")
        response = await register_webhook(harness, publisher, "http://127.0.0.1:9/hook", topics=["updates"])

    assert response.status_code == 422
    assert "updates" in response.json()["detail"]
