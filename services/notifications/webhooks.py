"""Publisher webhooks: registration, signing and the HTTP call itself.

Each call is a JSON POST with the header `Wharf-Signature: t=<unix seconds>,v1=<hex>`,
where v1 is HMAC-SHA256 with the webhook's secret over `<t>.<body>` (the raw body
bytes). A receiver recomputes it and rejects a timestamp too far from its own clock.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import InvalidValue, NotFound
from services.notifications.addresses import AddressNotAllowed, resolve_target
from services.notifications.models import Webhook
from services.notifications.topics import ORGANISATION_TOPICS, Topic

log = structlog.get_logger()

SIGNATURE_HEADER = "Wharf-Signature"
USER_AGENT = "Wharf-Webhooks/1"


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """Return the `Wharf-Signature` header value for `body` sent at `timestamp`."""
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def encode_body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


async def check_webhook_url(url: str, *, settings: Any, production: bool) -> None:
    """Raise InvalidValue naming the URL unless a webhook may be registered for it."""
    try:
        await resolve_target(
            url,
            allow_private=settings.webhook_allow_private_addresses,
            require_https=production,
        )
    except AddressNotAllowed as exc:
        raise InvalidValue(f"Webhook URL {url!r} is not allowed: {exc}", field="url") from None


def check_topics(topics: list[Topic]) -> list[str]:
    publisher_topics = sorted({topic.value for topic in topics if topic in ORGANISATION_TOPICS})
    rejected = sorted({topic.value for topic in topics} - set(publisher_topics))
    if rejected:
        raise InvalidValue(
            f"Webhook topics {rejected} are not publisher topics; use {sorted(t.value for t in ORGANISATION_TOPICS)}",
            field="topics",
        )
    if not publisher_topics:
        raise InvalidValue("A webhook needs at least one topic", field="topics")
    return publisher_topics


async def find_webhook(session: AsyncSession, organisation_id: uuid.UUID, webhook_id: uuid.UUID) -> Webhook:
    """Return the organisation's webhook, or raise NotFound (also for another organisation's)."""
    webhook = await session.get(Webhook, webhook_id)
    if webhook is None or webhook.organisation_id != organisation_id:
        raise NotFound(f"Webhook {webhook_id} not found in organisation {organisation_id}")
    return webhook


async def webhooks_for_topic(
    session: AsyncSession, *, organisation_id: uuid.UUID, topic: Topic
) -> list[Webhook]:
    rows = await session.execute(
        select(Webhook)
        .where(
            Webhook.organisation_id == organisation_id,
            Webhook.active.is_(True),
            Webhook.topics.contains([topic.value]),
        )
        .order_by(Webhook.created_at, Webhook.id)
    )
    return list(rows.scalars())


@dataclass(frozen=True)
class CallResult:
    ok: bool
    detail: str


async def call_webhook(
    client: httpx.AsyncClient,
    *,
    url: str,
    secret: str,
    payload: dict[str, Any],
    message_id: uuid.UUID,
    event_type: str,
    now: datetime,
    allow_private: bool,
    require_https: bool,
) -> CallResult:
    """POST the signed payload to `url`, connecting only to an address that passes the checks.

    Redirects are not followed, since a redirect could lead to an address that was never
    checked; a 3xx response counts as a failure.
    """
    try:
        target = await resolve_target(url, allow_private=allow_private, require_https=require_https)
    except AddressNotAllowed as exc:
        return CallResult(ok=False, detail=f"URL not allowed: {exc}")

    body = encode_body(payload)
    timestamp = int(now.timestamp())
    address = target.addresses[0]
    host_header = target.hostname if ":" not in target.hostname else f"[{target.hostname}]"
    default_port = 443 if target.scheme == "https" else 80
    if target.port != default_port:
        host_header += f":{target.port}"

    request = client.build_request(
        "POST",
        _pinned_url(url, address),
        content=body,
        headers={
            "Host": host_header,
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            SIGNATURE_HEADER: sign(secret, timestamp, body),
            "Wharf-Message-Id": str(message_id),
            "Wharf-Event-Type": event_type,
        },
        # TLS still checks the certificate against the URL's hostname, not the address.
        extensions={"sni_hostname": target.hostname} if target.scheme == "https" else {},
    )
    try:
        response = await client.send(request, follow_redirects=False)
    except httpx.TimeoutException:
        return CallResult(ok=False, detail=f"timed out connecting to or reading from {address}")
    except httpx.HTTPError as exc:
        return CallResult(ok=False, detail=f"request to {address} failed: {type(exc).__name__}: {exc}")

    if 200 <= response.status_code < 300:
        return CallResult(ok=True, detail=f"HTTP {response.status_code}")
    excerpt = response.text[:200].replace("\n", " ")
    return CallResult(ok=False, detail=f"HTTP {response.status_code} from the receiver: {excerpt}")


def _pinned_url(url: str, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> httpx.URL:
    host = str(address)
    return httpx.URL(url).copy_with(host=host)
