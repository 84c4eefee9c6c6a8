"""Factories for catalog tests: publishers, images, complete manifests and events from other services."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass, field
from typing import Any

from PIL import Image
from sqlalchemy import select

from shared.events.envelope import new_envelope
from shared.events.schemas import dump_data, schema_for
from tests.support.services import RunningService
from tests.support.tokens import TestUser, TokenIssuer


def png(width: int = 512, height: int = 512, color: str = "navy") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, "PNG")
    return buffer.getvalue()


def jpeg(width: int = 800, height: int = 600) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "orange").save(buffer, "JPEG")
    return buffer.getvalue()


@dataclass
class Publisher:
    """An organisation with an editor, a viewer, and helpers that call the catalog as them."""

    service: RunningService
    issuer: TokenIssuer
    namespace: str
    organisation_id: uuid.UUID = field(default_factory=uuid.uuid4)

    def user(self, role: str = "editor") -> TestUser:
        return TestUser(username=f"{self.namespace}-{role}", orgs=((self.organisation_id, self.namespace, role),))

    @property
    def headers(self) -> dict[str, str]:
        return self.issuer.headers(self.user("editor"))

    @property
    def viewer_headers(self) -> dict[str, str]:
        return self.issuer.headers(self.user("viewer"))

    async def upload(self, data: bytes | None = None, filename: str = "image.png") -> dict[str, Any]:
        response = await self.service.client.post(
            f"/organisations/{self.organisation_id}/media",
            files={"file": (filename, data if data is not None else png(), "image/png")},
            headers=self.headers,
        )
        assert response.status_code == 201, response.text
        return response.json()

    async def complete_profile(self) -> dict[str, Any]:
        logo = await self.upload(png(512, 512))
        response = await self.service.client.put(
            f"/organisations/{self.organisation_id}/profile",
            json={
                "legal_name": f"{self.namespace.title()} Ltd",
                "website": f"https://{self.namespace}.example.com",
                "phone": "+44 20 7946 0958",
                "email": f"hello@{self.namespace}.example.com",
                "logo_media_id": logo["id"],
                "story": "We build **reliable** software.",
            },
            headers=self.headers,
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def manifest(self, **overrides: Any) -> dict[str, Any]:
        """Return a complete manifest with freshly uploaded logo and screenshot."""
        logo = await self.upload(png(256, 256))
        screenshot = await self.upload(png(640, 400))
        manifest = {
            "logo_media_id": logo["id"],
            "short_description": "A fast relational database",
            "category": "Database",
            "tags": ["sql", "relational"],
            "long_description": "# Overview\n\nIt stores **rows**.",
            "screenshots": [screenshot["id"]],
            "support": {
                "url": f"https://{self.namespace}.example.com/support",
                "offered": True,
                "email": f"support@{self.namespace}.example.com",
                "hours": "Mon-Fri 09:00-17:00 UTC",
                "response_time": "1 business day",
            },
            "install_instructions": "Run it with `docker run`.",
            "licence": {"url": f"https://{self.namespace}.example.com/licence", "version": "2024-01"},
            "access_policy": "everyone",
            "licence_required": True,
            "tiers": [
                {
                    "name": "Community",
                    "description": "Free for everyone",
                    "price_amount": 0,
                    "currency": "EUR",
                    "billing_period": "free",
                    "source": f"staging/{self.namespace}/db:1.0",
                },
                {
                    "name": "Enterprise",
                    "description": "With support",
                    "price_amount": 19900,
                    "currency": "EUR",
                    "billing_period": "yearly",
                    "source": f"staging/{self.namespace}/db-enterprise:1.0",
                },
            ],
        }
        manifest.update(overrides)
        return manifest

    async def create_product(self, name: str = "Fast DB", **overrides: Any) -> dict[str, Any]:
        body = {"name": name, "product_type": "image", "version": "1.0.0", **await self.manifest(**overrides)}
        response = await self.service.client.post(
            f"/organisations/{self.organisation_id}/products", json=body, headers=self.headers
        )
        assert response.status_code == 201, response.text
        return response.json()

    async def submit(self, product: dict[str, Any], version_id: str | None = None):
        version_id = version_id or product["version"]["id"]
        return await self.service.client.post(
            f"/products/{product['id']}/versions/{version_id}/submit", headers=self.headers
        )

    async def publish(self, name: str = "Fast DB", **overrides: Any) -> dict[str, Any]:
        """Create, submit, approve and promote a product; return the created product."""
        product = await self.create_product(name, **overrides)
        response = await self.submit(product)
        assert response.status_code == 200, response.text
        await approve_and_promote(self.service, product, product["version"]["id"])
        return product


async def deliver(service: RunningService, event_type: str, data: dict[str, Any], subject: str | None = None) -> str:
    """Deliver an event from another service through the bus, as its relay would; return the outcome."""
    version, _model = schema_for(event_type)
    envelope = new_envelope(
        type=event_type,
        version=version,
        occurred_at=service.runtime.clock.now(),
        producer=event_type.split(".", 1)[0],
        subject=subject or str(data.get("product_id") or uuid.uuid4()),
        data=dump_data(event_type, data),
        correlation_id=None,
        causation_id=None,
    )
    await service.runtime.transport.publish(envelope)
    return "delivered"


def decision(product: dict[str, Any], version_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "case_id": str(uuid.uuid4()),
        "product_id": product["id"],
        "version_id": version_id,
        "organisation_id": product["organisation_id"],
        **extra,
    }


async def approve_and_promote(service: RunningService, product: dict[str, Any], version_id: str) -> None:
    version = (await service.client.get(f"/products/{product['id']}/versions/{version_id}", headers=_staff(service))).json()
    images = [
        {"tier_id": tier["id"], "source": tier["source"], "digest": f"sha256:{uuid.uuid4().hex * 2}"}
        for tier in version["tiers"]
    ]
    await deliver(service, "moderation.review.approved", decision(product, version_id, images=images))
    for tier, image in zip(version["tiers"], images, strict=True):
        repository = tier["source"].split(":")[0].replace("staging/", "store/", 1)
        await deliver(
            service,
            "licensing.image.promoted",
            {
                "product_id": product["id"],
                "version_id": version_id,
                "organisation_id": product["organisation_id"],
                "source": tier["source"],
                "target": f"store/{product['namespace']}/{product['slug']}:{version['version']}-{repository.rsplit('/', 1)[-1]}",
                "digest": image["digest"],
            },
        )


STAFF = TestUser(username="reviewer", staff=("reviewer",))


def _staff(service: RunningService) -> dict[str, str]:
    return service.runtime.state["test_issuer"].headers(STAFF)


async def outbox_events(service: RunningService, event_type: str) -> list[dict[str, Any]]:
    """Return the data of every event of `event_type` the catalog wrote to its outbox, oldest first."""
    outbox = service.runtime.metadata.tables["outbox"]
    async with service.runtime.sessionmaker() as session:
        rows = await session.execute(
            select(outbox.c.envelope).where(outbox.c.type == event_type).order_by(outbox.c.created_at, outbox.c.seq)
        )
        return [row.envelope["data"] for row in rows]
