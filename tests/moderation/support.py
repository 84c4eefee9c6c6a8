"""A running moderation service with a frozen clock, and the events other services would send it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from services.identity import accounts, staff
from shared.clock import FrozenClock
from shared.events.envelope import new_envelope
from shared.events.schemas import dump_data, schema_for
from tests.support.services import RunningService
from tests.support.tokens import TestUser, TokenIssuer

REVIEWER = TestUser(username="reviewer", staff=("reviewer",))
SECURITY = TestUser(username="security", staff=("security",))


async def identity_user(identity: RunningService, username: str, *staff_roles: str) -> TestUser:
    """Create a verified account in identity with these staff roles, as a token holder."""
    async with identity.runtime.sessionmaker() as session, session.begin():
        user = await accounts.create_user(
            session,
            email=f"{username}@example.com",
            username=username,
            password=f"{username}-password-1",
            display_name=username.title(),
            verified=True,
        )
        for role in staff_roles:
            await staff.grant(session, user.id, role, actor_id=None)
    return TestUser(user_id=user.id, username=username, staff=staff_roles)


def digest(label: str) -> str:
    """Return a sha256 digest made from a label, so a test can name its images."""
    import hashlib

    return "sha256:" + hashlib.sha256(label.encode()).hexdigest()


def finding(vulnerability_id: str, finding_class: str, package: str = "openssl", **extra: Any) -> dict[str, Any]:
    score = {"critical": 9.8, "major": 5.5, "minor": 2.0}.get(finding_class)
    return {
        "vulnerability_id": vulnerability_id,
        "package": package,
        "installed_version": "3.0.1",
        "fixed_version": "3.0.9",
        "cvss_score": score,
        "finding_class": finding_class,
        **extra,
    }


@dataclass
class Publisher:
    """An organisation with an owner, and the products it submits."""

    namespace: str
    organisation_id: uuid.UUID = field(default_factory=uuid.uuid4)
    role: str = "owner"

    @property
    def user(self) -> TestUser:
        return TestUser(username=f"{self.namespace}-{self.role}", orgs=((self.organisation_id, self.namespace, self.role),))


@dataclass
class Product:
    publisher: Publisher
    product_type: str = "image"
    product_id: uuid.UUID = field(default_factory=uuid.uuid4)
    slug: str = "fast-db"
    tier_ids: list[uuid.UUID] = field(default_factory=lambda: [uuid.uuid4()])

    def submission(
        self, version_id: uuid.UUID, version: str = "1.0", *, profile_complete: bool = True, manifest: dict | None = None
    ) -> dict[str, Any]:
        return {
            "product_id": self.product_id,
            "version_id": version_id,
            "version": version,
            "organisation_id": self.publisher.organisation_id,
            "namespace": self.publisher.namespace,
            "slug": self.slug,
            "product_type": self.product_type,
            "tiers": [
                {
                    "tier_id": tier_id,
                    "name": f"tier {index}",
                    "reference": self.reference(index, version),
                    "price_amount": 0,
                    "currency": "EUR",
                    "billing_period": "free",
                }
                for index, tier_id in enumerate(self.tier_ids)
            ],
            "manifest": manifest if manifest is not None else supported_manifest(),
            "profile_complete": profile_complete,
        }

    def reference(self, index: int, version: str) -> str:
        return f"staging/{self.publisher.namespace}/{self.slug}-{index}:{version}"

    def published(self, version_id: uuid.UUID, version: str = "1.0") -> dict[str, Any]:
        return {
            "product_id": self.product_id,
            "version_id": version_id,
            "version": version,
            "organisation_id": self.publisher.organisation_id,
            "namespace": self.publisher.namespace,
            "slug": self.slug,
            "name": "Fast DB",
            "category": "Database",
            "product_type": self.product_type,
            "store_repository": f"store/{self.publisher.namespace}/{self.slug}",
        }


def supported_manifest() -> dict[str, Any]:
    return {
        "short_description": "A fast database",
        "support": {
            "url": "https://example.org/support",
            "email": "help@example.org",
            "offered": True,
            "hours": "Mon-Fri 9-17 CET",
            "response_time": "4 hours",
        },
    }


class Stage:
    """One test's view of the service: its clock, tokens, and events in and out."""

    def __init__(self, service: RunningService, clock: FrozenClock, issuer: TokenIssuer) -> None:
        self.service = service
        self.clock = clock
        self.issuer = issuer

    @property
    def client(self):
        return self.service.client

    @property
    def runtime(self):
        return self.service.runtime

    def headers(self, user: TestUser) -> dict[str, str]:
        return self.issuer.headers(user)

    def advance(self, **delta: float) -> datetime:
        return self.clock.advance(timedelta(**delta))

    async def deliver(
        self, event_type: str, data: dict[str, Any], *, subject: str | None = None, occurred_at: datetime | None = None
    ) -> None:
        """Deliver an event as another service's relay would, stamped with `occurred_at` or the current clock."""
        version, _model = schema_for(event_type)
        envelope = new_envelope(
            type=event_type,
            version=version,
            occurred_at=occurred_at or self.clock.now(),
            producer=event_type.split(".", 1)[0],
            subject=subject or str(data.get("product_id") or data.get("scan_id") or uuid.uuid4()),
            data=dump_data(event_type, data),
            correlation_id=None,
            causation_id=None,
        )
        await self.runtime.transport.publish(envelope)
        letters = [letter for letter in self.runtime.transport.dead_letters if letter.body["id"] == str(envelope.id)]
        assert letters == [], f"{event_type} was dead-lettered: {letters[0].error}"

    async def events(self, event_type: str, **matching: Any) -> list[dict[str, Any]]:
        """Return the data of the events of this type in the outbox whose fields match."""
        outbox = self.runtime.metadata.tables["outbox"]
        async with self.runtime.sessionmaker() as session:
            rows = await session.execute(
                select(outbox.c.envelope).where(outbox.c.type == event_type).order_by(outbox.c.created_at, outbox.c.seq)
            )
            envelopes = list(rows.scalars())
        expected = {key: str(value) for key, value in matching.items()}
        return [
            envelope["data"]
            for envelope in envelopes
            if all(str(envelope["data"].get(key)) == value for key, value in expected.items())
        ]

    # Steps of the journey.

    async def submit(
        self,
        product: Product,
        version_id: uuid.UUID,
        version: str = "1.0",
        *,
        occurred_at: datetime | None = None,
        **options: Any,
    ) -> None:
        await self.deliver(
            "catalog.product.submitted", product.submission(version_id, version, **options), occurred_at=occurred_at
        )

    async def scan(
        self,
        product: Product,
        version_id: uuid.UUID,
        tier_index: int,
        image_digest: str,
        findings: list[dict[str, Any]] | None = None,
        *,
        version: str = "1.0",
        checks_passed: bool = True,
        plugin_checks_passed: bool | None = None,
        platform_digests: list[str] | None = None,
    ) -> uuid.UUID:
        scan_id = uuid.uuid4()
        findings = findings or []
        counts: dict[str, int] = {}
        for item in findings:
            counts[item["finding_class"]] = counts.get(item["finding_class"], 0) + 1
        await self.deliver(
            "scanning.scan.completed",
            {
                "scan_id": scan_id,
                "image": {"reference": product.reference(tier_index, version), "digest": image_digest},
                "organisation_id": product.publisher.organisation_id,
                "product_id": product.product_id,
                "version_id": version_id,
                "tier_id": product.tier_ids[tier_index],
                "counts": counts,
                "checks_passed": checks_passed,
                "plugin_checks_passed": plugin_checks_passed,
                "findings": findings,
                "platform_digests": platform_digests,
            },
        )
        return scan_id

    async def case_of(self, product: Product, user: TestUser = REVIEWER) -> dict[str, Any]:
        response = await self.client.get(
            "/cases", params={"organisation_id": str(product.publisher.organisation_id)}, headers=self.headers(user)
        )
        assert response.status_code == 200, response.text
        cases = [case for case in response.json()["items"] if case["product_id"] == str(product.product_id)]
        detail = await self.client.get(f"/cases/{cases[-1]['id']}", headers=self.headers(user))
        assert detail.status_code == 200, detail.text
        return detail.json()

    async def approve(self, case_id: str) -> dict[str, Any]:
        response = await self.client.post(f"/cases/{case_id}/approve", json={}, headers=self.headers(REVIEWER))
        assert response.status_code == 200, response.text
        return response.json()

    async def publish(
        self,
        product: Product,
        *,
        version: str = "1.0",
        findings: list[dict[str, Any]] | None = None,
        image_label: str | None = None,
        checks_passed: bool = True,
        plugin_checks_passed: bool | None = None,
    ) -> tuple[uuid.UUID, str]:
        """Submit, scan, approve and publish a version; return its id and its first image's digest.

        Critical and Major findings passed here are waived by a reviewer before approval.
        """
        version_id = uuid.uuid4()
        await self.submit(product, version_id, version)
        image = digest(image_label or f"{product.product_id}-{version}")
        await self.scan(
            product,
            version_id,
            0,
            image,
            findings,
            version=version,
            checks_passed=checks_passed,
            plugin_checks_passed=plugin_checks_passed,
        )
        case = await self.case_of(product)
        for item in findings or []:
            if item["finding_class"] in ("critical", "major"):
                response = await self.client.post(
                    f"/cases/{case['id']}/waivers",
                    json={"image_digest": image, "vulnerability_id": item["vulnerability_id"], "reason": "not reachable"},
                    headers=self.headers(REVIEWER),
                )
                assert response.status_code == 201, response.text
        await self.approve(case["id"])
        await self.deliver("catalog.version.published", product.published(version_id, version))
        return version_id, image

    async def detect(self, product: Product, image_digest: str, *items: dict[str, Any]) -> None:
        await self.deliver(
            "scanning.vulnerability.detected",
            {"image_digest": image_digest, "organisation_id": product.publisher.organisation_id, "findings": list(items)},
            subject=image_digest,
        )

    async def resolve(self, product: Product, image_digest: str, *items: dict[str, Any]) -> None:
        await self.deliver(
            "scanning.vulnerability.resolved",
            {"image_digest": image_digest, "organisation_id": product.publisher.organisation_id, "findings": list(items)},
            subject=image_digest,
        )

    async def sla_cases(self, product: Product, state: str = "active") -> list[dict[str, Any]]:
        response = await self.client.get(
            "/sla-cases", params={"product_id": str(product.product_id), "state": state}, headers=self.headers(SECURITY)
        )
        assert response.status_code == 200, response.text
        return response.json()["items"]
