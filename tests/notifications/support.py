"""Test helpers: a real SMTP server, a real HTTP receiver, events and a running service."""

from __future__ import annotations

import contextlib
import email
import email.policy
import json
import socket
import threading
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import select

from shared.clock import FrozenClock
from shared.events.envelope import Envelope, new_envelope
from shared.events.memory import InMemoryTransport
from shared.events.schemas import dump_data, schema_for
from services.notifications.app import create_app
from services.notifications.models import Message
from services.notifications.settings import NotificationsSettings
from tests.support.services import RunningService, running_service
from tests.support.tokens import TestUser, TokenIssuer

START = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# SMTP.


class _Collector:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        # Addresses the server rejects for good, as a server does for an unknown mailbox.
        self.rejected: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # aiosmtpd handler hook
        if address in self.rejected:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(email.message_from_bytes(envelope.original_content, policy=email.policy.default))
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    host: str
    port: int
    collector: _Collector

    @property
    def messages(self) -> list[EmailMessage]:
        return self.collector.messages

    def recipients(self) -> list[str]:
        return sorted(rcpt for _sender, rcpts in self.collector.envelopes for rcpt in rcpts)

    def to(self, address: str) -> list[EmailMessage]:
        return [message for message in self.messages if message["To"] == address]


@contextlib.contextmanager
def smtp_server(port: int | None = None):
    """Run an aiosmtpd server on 127.0.0.1 in its own thread."""
    collector = _Collector()
    port = port or free_port()
    # A fixed server name keeps aiosmtpd from looking up the machine's name in DNS.
    controller = Controller(collector, hostname="127.0.0.1", port=port, server_hostname="smtp.test")
    controller.start()
    try:
        yield SmtpServer(host="127.0.0.1", port=port, collector=collector)
    finally:
        controller.stop()


# HTTP receiver.


@dataclass
class ReceivedRequest:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class HttpReceiver:
    port: int
    requests: list[ReceivedRequest] = field(default_factory=list)
    # Status codes to return, in order, then 200 once they run out.
    statuses: list[int] = field(default_factory=list)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@contextlib.contextmanager
def http_receiver():
    """Run an HTTP server on 127.0.0.1 that records every POST."""
    receiver = HttpReceiver(port=0)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            with lock:
                receiver.requests.append(
                    ReceivedRequest(path=self.path, headers={k.lower(): v for k, v in self.headers.items()}, body=body)
                )
                status = receiver.statuses.pop(0) if receiver.statuses else 200
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"ok" if status < 300 else b"receiver failure")

        def log_message(self, *args):
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


# The service.


def settings(**overrides) -> NotificationsSettings:
    values: dict[str, Any] = {
        "dispatcher_enabled": False,
        "api_url": "http://testserver",
        "store_url": "http://store.test",
        "smtp_security": "none",
        "smtp_helo_hostname": "notifications.test",
        "email_retry_delays": [60.0, 300.0],
        "webhook_retry_delays": [10.0, 60.0, 600.0],
    }
    values.update(overrides)
    return NotificationsSettings(**values)


@dataclass
class Harness:
    service: RunningService
    transport: InMemoryTransport
    clock: FrozenClock
    issuer: TokenIssuer

    @property
    def client(self):
        return self.service.client

    @property
    def runtime(self):
        return self.service.runtime

    async def dispatch(self) -> int:
        """Deliver every due message, pass after pass, until none is left due."""
        total = 0
        while (claimed := await self.runtime.state["dispatcher"].dispatch_once()) > 0:
            total += claimed
        return total

    async def publish(
        self, event_type: str, data: dict[str, Any], *, subject: str | None = None, at: datetime | None = None
    ) -> Envelope:
        envelope = make_envelope(event_type, data, subject=subject, at=at or self.clock.now())
        await self.transport.publish(envelope)
        return envelope

    def headers(self, user: TestUser) -> dict[str, str]:
        return self.issuer.headers(user)

    async def messages(self, *where) -> list[Message]:
        async with self.runtime.sessionmaker() as session:
            return list((await session.execute(select(Message).where(*where).order_by(Message.created_at))).scalars())


def make_envelope(event_type: str, data: dict[str, Any], *, subject: str | None = None, at: datetime) -> Envelope:
    version, _model = schema_for(event_type)
    return new_envelope(
        type=event_type,
        version=version,
        occurred_at=at,
        producer=event_type.split(".", 1)[0],
        subject=subject or str(uuid.uuid4()),
        data=json.loads(json.dumps(dump_data(event_type, data), default=str)),
        correlation_id=None,
        causation_id=None,
    )


@contextlib.asynccontextmanager
async def notifications(**setting_overrides) -> AsyncIterator[Harness]:
    transport = InMemoryTransport(retry_delays=[0.01])
    clock = FrozenClock(START)
    issuer = TokenIssuer()
    platform = setting_overrides.pop("platform", None)
    options: dict[str, Any] = {"transport": transport, "clock": clock, "settings": settings(**setting_overrides)}
    if platform is not None:
        options["platform"] = platform
    async with running_service(create_app, database="notifications", **options) as service:
        issuer.install(service.runtime.state["jwks"])
        yield Harness(service=service, transport=transport, clock=clock, issuer=issuer)


# Domain fixtures made of events, as the other services would send them.


@dataclass
class Customer:
    user: TestUser
    email: str


async def register(harness: Harness, username: str, *, orgs=()) -> Customer:
    user = TestUser(username=username, orgs=tuple(orgs))
    address = f"{username}@example.test"
    await harness.publish(
        "identity.user.registered",
        {"user_id": user.user_id, "username": username, "email": address, "display_name": username.title()},
        subject=str(user.user_id),
    )
    return Customer(user=user, email=address)


@dataclass
class Publisher:
    organisation_id: uuid.UUID
    namespace: str
    owner: Customer


async def create_organisation(harness: Harness, namespace: str) -> Publisher:
    organisation_id = uuid.uuid4()
    owner = await register(harness, f"{namespace}-owner", orgs=[(organisation_id, namespace, "owner")])
    await harness.publish(
        "identity.organisation.created",
        {
            "organisation_id": organisation_id,
            "namespace": namespace,
            "display_name": namespace.title(),
            "owner_id": owner.user.user_id,
        },
        subject=str(organisation_id),
    )
    return Publisher(organisation_id=organisation_id, namespace=namespace, owner=owner)


async def add_member(harness: Harness, publisher: Publisher, username: str, role: str = "editor") -> Customer:
    member = await register(harness, username, orgs=[(publisher.organisation_id, publisher.namespace, role)])
    await harness.publish(
        "identity.membership.changed",
        {
            "organisation_id": publisher.organisation_id,
            "namespace": publisher.namespace,
            "user_id": member.user.user_id,
            "role": role,
        },
        subject=str(publisher.organisation_id),
    )
    return member


def version_published(publisher: Publisher, product_id: uuid.UUID, version: str, slug: str = "redis") -> dict:
    return {
        "product_id": product_id,
        "version_id": uuid.uuid4(),
        "version": version,
        "organisation_id": publisher.organisation_id,
        "namespace": publisher.namespace,
        "slug": slug,
        "name": slug.title(),
        "category": "databases",
        "store_repository": f"store/{publisher.namespace}/{slug}",
    }


async def publish_product(harness: Harness, publisher: Publisher, slug: str = "redis") -> uuid.UUID:
    product_id = uuid.uuid4()
    await harness.publish(
        "catalog.product.published", version_published(publisher, product_id, "1.0.0", slug), subject=str(product_id)
    )
    return product_id


async def pull(harness: Harness, customer: Customer, product_id: uuid.UUID) -> None:
    await harness.publish(
        "licensing.image.pulled",
        {
            "repository": "store/acme/redis",
            "digest": "sha256:" + "a" * 64,
            "tag": "1.0.0",
            "user_id": customer.user.user_id,
            "product_id": product_id,
            "registry_event_id": uuid.uuid4().hex,
            "pulled_at": harness.clock.now(),
        },
        subject="store/acme/redis",
    )


async def subscribe(harness: Harness, customer: Customer, topic: str, scope_id: uuid.UUID) -> None:
    response = await harness.client.put(f"/subscriptions/{topic}/{scope_id}", headers=harness.headers(customer.user))
    assert response.status_code == 200, response.text
