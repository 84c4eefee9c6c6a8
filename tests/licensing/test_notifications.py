"""Registry notifications: downloads and pushes become events, exactly once."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime

import httpx

from tests.licensing.catalog import published_product
from tests.licensing.images import build_image
from tests.licensing.stack import ACME, NOTIFICATIONS_SECRET, USERS, pull, push

EVENTS_CONTENT_TYPE = "application/vnd.docker.distribution.events.v1+json"


async def _wait_for_registry_events(stack, timeout: float = 20.0) -> None:
    """Push a marker image and wait for its push event.

    The registry delivers an endpoint's events in order, so once the marker arrives every
    earlier event has been handled too.
    """
    repository = f"staging/acme/marker-{uuid.uuid4().hex[:8]}"
    pushed = await push(stack, build_image(stack.work_dir / "images"), repository, "1", "pete")
    assert pushed.ok, pushed.output

    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        events = await stack.emitted("licensing.image.pushed")
        if any(event["repository"] == repository for event in events):
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"no push event for {repository} within {timeout} s")
        await asyncio.sleep(0.1)


async def _pulls_of(stack, repository: str) -> list[dict]:
    return [e for e in await stack.emitted("licensing.image.pulled") if e["repository"] == repository]


async def test_manifest_pull_one_event(stack):
    product = await published_product(stack, access_policy="logged_in")

    result = await pull(stack, product.repository, "1.0", "bob")
    await _wait_for_registry_events(stack)
    pulls = await _pulls_of(stack, product.repository)

    assert result.ok, result.output
    assert len(pulls) == 1
    assert pulls[0]["digest"] == product.image.digest
    assert pulls[0]["user_id"] == str(USERS["bob"].user_id)
    assert pulls[0]["product_id"] == str(product.product_id)
    assert pulls[0]["paid"] is False


async def test_head_request_no_event(stack):
    product = await published_product(stack, access_policy="everyone")
    async with httpx.AsyncClient() as client:
        token = await client.get(
            f"{stack.licensing_url}/token",
            params={"service": stack.settings.token_service, "scope": f"repository:{product.repository}:pull"},
        )
        head = await client.head(
            f"{stack.registry.url}/v2/{product.repository}/manifests/1.0",
            headers={
                "Authorization": f"Bearer {token.json()['token']}",
                "Accept": "application/vnd.oci.image.manifest.v1+json",
            },
        )

    await _wait_for_registry_events(stack)
    pulls = await _pulls_of(stack, product.repository)

    assert head.status_code == 200
    assert pulls == []


async def test_paid_pull_marked_paid(stack):
    product = await published_product(stack, access_policy="purchasers", price=1200)
    alice = USERS["alice"]
    await stack.deliver(
        "billing.checkout.completed",
        {
            "order_id": str(uuid.uuid4()),
            "user_id": str(alice.user_id),
            "product_id": str(product.product_id),
            "tier_id": str(product.tier_id),
            "organisation_id": str(ACME),
            "amount": 1200,
            "currency": "EUR",
            "mode": "payment",
        },
    )

    result = await pull(stack, product.repository, "1.0", "alice")
    await _wait_for_registry_events(stack)
    pulls = await _pulls_of(stack, product.repository)

    assert result.ok, result.output
    assert len(pulls) == 1
    assert pulls[0]["paid"] is True
    assert pulls[0]["tier_id"] == str(product.tier_id)


async def test_staging_push_emits_pushed(stack):
    repository = f"staging/acme/app-{uuid.uuid4().hex[:8]}"
    image = build_image(stack.work_dir / "images")

    result = await push(stack, image, repository, "2.0", "pete")
    await _wait_for_registry_events(stack)
    pushes = [e for e in await stack.emitted("licensing.image.pushed") if e["repository"] == repository]

    assert result.ok, result.output
    assert len(pushes) == 1
    assert pushes[0]["digest"] == image.digest
    assert pushes[0]["tag"] == "2.0"
    assert pushes[0]["user_id"] == str(USERS["pete"].user_id)


async def test_push_with_trailing_newline_ignored(stack):
    repository = f"staging/acme/newline-{uuid.uuid4().hex[:8]}"
    body = _notification(f"{repository}\n", str(uuid.uuid4()))
    body["events"][0]["action"] = "push"
    body["events"][0]["request"]["method"] = "PUT"
    headers = {"Authorization": f"Bearer {NOTIFICATIONS_SECRET}", "Content-Type": EVENTS_CONTENT_TYPE}

    response = await stack.service.client.post("/registry/notifications", json=body, headers=headers)
    pushes = [e for e in await stack.emitted("licensing.image.pushed") if e["repository"].startswith(repository)]

    assert response.status_code == 204
    assert pushes == []


def _notification(repository: str, event_id: str) -> dict:
    return {
        "events": [
            {
                "id": event_id,
                "timestamp": datetime.now(UTC).isoformat(),
                "action": "pull",
                "target": {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": "sha256:" + "a" * 64,
                    "repository": repository,
                    "url": f"http://registry/v2/{repository}/manifests/sha256:{'a' * 64}",
                    "tag": "1.0",
                },
                "request": {"method": "GET"},
                "actor": {"name": ""},
            }
        ]
    }


async def test_redelivered_notification_counted_once(stack):
    repository = f"store/acme/redelivered-{uuid.uuid4().hex[:6]}"
    body = _notification(repository, str(uuid.uuid4()))
    headers = {"Authorization": f"Bearer {NOTIFICATIONS_SECRET}", "Content-Type": EVENTS_CONTENT_TYPE}

    first = await stack.service.client.post("/registry/notifications", json=body, headers=headers)
    second = await stack.service.client.post("/registry/notifications", json=body, headers=headers)
    pulls = await _pulls_of(stack, repository)

    assert first.status_code == 204
    assert second.status_code == 204
    assert len(pulls) == 1


async def test_notification_wrong_secret_rejected(stack):
    repository = f"store/acme/forged-{uuid.uuid4().hex[:6]}"
    body = _notification(repository, str(uuid.uuid4()))

    missing = await stack.service.client.post(
        "/registry/notifications", json=body, headers={"Content-Type": EVENTS_CONTENT_TYPE}
    )
    wrong = await stack.service.client.post(
        "/registry/notifications",
        json=body,
        headers={"Authorization": "Bearer guessed", "Content-Type": EVENTS_CONTENT_TYPE},
    )
    pulls = await _pulls_of(stack, repository)

    assert missing.status_code == 401
    assert wrong.status_code == 401
    assert pulls == []


async def test_notification_other_media_type_rejected(stack):
    response = await stack.service.client.post(
        "/registry/notifications",
        content=b"events",
        headers={"Authorization": f"Bearer {NOTIFICATIONS_SECRET}", "Content-Type": "text/plain"},
    )

    assert response.status_code == 415




async def test_notification_too_many_events_rejected(stack):
    repository = f"store/acme/flood-{uuid.uuid4().hex[:6]}"
    events = [_notification(repository, str(uuid.uuid4()))["events"][0] for _ in range(101)]

    response = await stack.service.client.post(
        "/registry/notifications",
        json={"events": events},
        headers={"Authorization": f"Bearer {NOTIFICATIONS_SECRET}", "Content-Type": EVENTS_CONTENT_TYPE},
    )
    pulls = await _pulls_of(stack, repository)

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert "101 events; the maximum is 100 per request" in response.json()["detail"]
    assert pulls == []


async def test_notification_body_over_limit_rejected(stack):
    repository = f"store/acme/large-{uuid.uuid4().hex[:6]}"
    body = _notification(repository, str(uuid.uuid4()))
    body["events"][0]["padding"] = "x" * (1024 * 1024)
    encoded = json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {NOTIFICATIONS_SECRET}", "Content-Type": EVENTS_CONTENT_TYPE}

    async def chunks():
        for start in range(0, len(encoded), 65536):
            yield encoded[start : start + 65536]

    declared = await stack.service.client.post("/registry/notifications", content=encoded, headers=headers)
    chunked = await stack.service.client.post("/registry/notifications", content=chunks(), headers=headers)
    pulls = await _pulls_of(stack, repository)

    assert declared.status_code == 413
    assert "exceeds the limit of 1048576 bytes" in declared.json()["detail"]
    assert chunked.status_code == 413
    assert chunked.json()["detail"] == "The notification exceeds the limit of 1048576 bytes"
    assert pulls == []
