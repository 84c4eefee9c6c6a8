"""Events the scanning service consumes, by type."""

from __future__ import annotations

import asyncio

import httpx
import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.scanning import scans
from services.scanning.inventory.errors import InventoryError
from services.scanning.inventory.reference import require_allowed_registry, require_namespace
from services.scanning.models import Scan, ScanTrigger
from shared.events import Envelope, Handler
from shared.events.schemas import ProductSubmitted

log = structlog.get_logger(__name__)


async def on_product_submitted(
    session: AsyncSession, envelope: Envelope, data: ProductSubmitted
) -> None:
    """Queue a scan of every tier's staging image, pinned to the digest its tag names now.

    Pinning at submission means a later push to the same tag does not change what is
    reviewed. A reference that is invalid, outside the organisation's staging namespace or
    missing from the registry fails that tier's scan at once. A registry outage raises, so
    the bus retries the event.
    """
    runtime = session.info["runtime"]
    settings = runtime.settings

    for tier in data.tiers:
        existing = await session.scalar(
            select(Scan.id).where(Scan.version_id == data.version_id, Scan.tier_id == tier.tier_id)
        )
        if existing is not None:
            # Delivered again under another event id: the scan is already there.
            continue

        failure: InventoryError | None = None
        reference = None
        try:
            reference = scans.parse_store_reference(settings, tier.reference)
            require_allowed_registry(reference, settings.registry_host)
            require_namespace(reference, f"{settings.staging_prefix}/{data.namespace}")
            digest = await asyncio.to_thread(scans.resolve_digest, settings, reference)
            reference = reference.pinned(digest)
        except InventoryError as error:
            failure = error
        except httpx.HTTPError as error:
            log.warning("tier_digest_unresolved", tier_id=str(tier.tier_id), error=repr(error))
            raise

        scan = await scans.queue_scan(
            session,
            organisation_id=data.organisation_id,
            reference=str(reference) if reference else tier.reference,
            digest=reference.digest if reference else None,
            trigger=ScanTrigger.SUBMISSION,
            correlation_id=envelope.correlation_id,
            product_id=data.product_id,
            version_id=data.version_id,
            tier_id=tier.tier_id,
            product_type=data.product_type,
        )
        if failure is not None:
            await scans.fail_scan(session, scan, code=failure.code, reason=str(failure))

    scans.wake_worker(runtime)


HANDLERS: dict[str, Handler] = {"catalog.product.submitted": on_product_submitted}


