"""Scans as a queue: requesting one, the worker that runs them, and storing the inventory.

A request only writes a queued row, inside the caller's transaction. The worker claims
queued rows with `FOR UPDATE SKIP LOCKED` and a lease, pulls and analyses the image in a
thread (the scanner is CPU-bound and synchronous), then stores the inventory and writes
`scanning.scan.completed` or `scanning.scan.failed` to the outbox in one transaction.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections import Counter
from pathlib import Path
from dataclasses import dataclass
from datetime import timedelta

import httpx
import structlog
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.scanning.components import Component, Ecosystem, LayerRef
from services.scanning.inventory.errors import ArchiveRejected, InventoryError
from services.scanning.inventory.reference import ImageReference, parse_reference
from services.scanning.inventory.registry import Credentials, RegistryClient
from services.scanning.inventory.scanner import ImageScan, Scanner
from services.scanning.models import (
    CheckResultRow,
    Scan,
    ScannedComponent,
    ScannedImage,
    ScannedLayer,
    ScanStatus,
)
from services.scanning.settings import ScanningSettings
from services.scanning.vulns.assessment import ImageInventory
from services.scanning.vulns.classification import effective_class
from services.scanning.vulns.service import assess_inventory
from shared.context import bind_ids
from shared.events import emit
from shared.events.schemas import FindingRef

log = structlog.get_logger(__name__)

WAKEUP = "scan_wakeup"


def registry_client(settings: ScanningSettings) -> RegistryClient:
    credentials = None
    if settings.registry_username:
        credentials = Credentials(
            settings.registry_username, settings.registry_password.get_secret_value()
        )
    return RegistryClient(
        settings.registry_url,
        limits=settings.limits(),
        credentials=credentials,
        allowed_hosts=tuple(settings.token_realm_hosts),
    )


def resolve_digest(settings: ScanningSettings, reference: ImageReference) -> str:
    """Return the manifest or index digest a reference points to now (blocking)."""
    if reference.digest:
        return reference.digest
    with registry_client(settings) as client:
        return client.get_manifest(reference.repository, reference.target).digest


def pull_and_scan(settings: ScanningSettings, reference: ImageReference) -> list[ImageScan]:
    """Scan one pinned reference from the store's registry (blocking)."""
    with registry_client(settings) as client:
        return Scanner(registry=client).scan_reference(reference)


def scan_upload(settings: ScanningSettings, path: Path) -> list[ImageScan]:
    """Scan every image of an uploaded archive (blocking)."""
    results = Scanner(limits=settings.limits()).scan_archive(path)
    if not results:
        raise ArchiveRejected(f"archive {path.name} contains no image for any platform")
    return results


def upload_path(settings: ScanningSettings, scan_id: uuid.UUID) -> Path:
    folder = Path(settings.storage_dir) / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{scan_id}.tar"


def _delete_upload(path: str | None) -> None:
    if path:
        Path(path).unlink(missing_ok=True)


def parse_store_reference(settings: ScanningSettings, text: str) -> ImageReference:
    """Parse a reference; one without a host, or with an alias of it, names the store's registry."""
    reference = parse_reference(text, default_registry=settings.registry_host)
    if reference.registry in {alias.lower() for alias in settings.registry_aliases}:
        reference = ImageReference(
            settings.registry_host, reference.repository, reference.tag, reference.digest
        )
    return reference


def wake_worker(runtime) -> None:
    event = runtime.state.get(WAKEUP)
    if event is not None:
        event.set()


# -- requesting ----------------------------------------------------------------------------


async def queue_scan(
    session: AsyncSession,
    *,
    organisation_id: uuid.UUID,
    reference: str,
    digest: str | None,
    trigger: str,
    correlation_id: str | None,
    archive_path: str | None = None,
    scan_id: uuid.UUID | None = None,
    requested_by: uuid.UUID | None = None,
    product_id: uuid.UUID | None = None,
    version_id: uuid.UUID | None = None,
    tier_id: uuid.UUID | None = None,
    product_type: str = "image",
) -> Scan:
    runtime = session.info["runtime"]
    scan = Scan(
        id=scan_id or uuid.uuid4(),
        organisation_id=organisation_id,
        trigger=trigger,
        status=ScanStatus.QUEUED,
        reference=reference[:512],
        digest=digest,
        archive_path=archive_path,
        product_id=product_id,
        version_id=version_id,
        tier_id=tier_id,
        product_type=product_type,
        requested_by=requested_by,
        correlation_id=correlation_id,
        attempts=0,
        created_at=runtime.clock.now(),
    )
    session.add(scan)
    await session.flush()
    log.info("scan_queued", scan_id=str(scan.id), reference=scan.reference, trigger=trigger)
    return scan


async def fail_scan(session: AsyncSession, scan: Scan, *, code: str, reason: str) -> None:
    """Mark a scan failed and write `scanning.scan.failed` in the caller's transaction."""
    runtime = session.info["runtime"]
    scan.status = ScanStatus.FAILED
    scan.failure_code = code
    scan.failure_reason = reason
    scan.finished_at = runtime.clock.now()
    scan.lease_expires_at = None
    await session.flush()
    await emit(
        session,
        "scanning.scan.failed",
        subject=str(scan.id),
        data={
            "scan_id": scan.id,
            "reference": scan.reference,
            "reason": reason,
            "code": code,
            "organisation_id": scan.organisation_id,
            "product_id": scan.product_id,
            "version_id": scan.version_id,
            "tier_id": scan.tier_id,
        },
    )
    log.warning("scan_failed", scan_id=str(scan.id), code=code, reason=reason)


# -- the worker ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimedScan:
    id: uuid.UUID
    reference: str
    digest: str | None
    attempts: int
    correlation_id: str | None
    archive_path: str | None


async def claim_next(runtime) -> ClaimedScan | None:
    """Claim the oldest queued scan, or a running one whose worker stopped, with a lease."""
    settings: ScanningSettings = runtime.settings
    now = runtime.clock.now()
    async with runtime.sessionmaker() as session, session.begin():
        candidate = (
            select(Scan.id)
            .where(
                or_(
                    Scan.status == ScanStatus.QUEUED,
                    (Scan.status == ScanStatus.RUNNING) & (Scan.lease_expires_at < now),
                )
            )
            .order_by(Scan.created_at)
            .limit(1)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        row = (
            await session.execute(
                update(Scan)
                .where(Scan.id == candidate)
                .values(
                    status=ScanStatus.RUNNING,
                    started_at=now,
                    lease_expires_at=now + timedelta(seconds=settings.lease_seconds),
                    attempts=Scan.attempts + 1,
                )
                .returning(
                    Scan.id,
                    Scan.reference,
                    Scan.digest,
                    Scan.attempts,
                    Scan.correlation_id,
                    Scan.archive_path,
                )
            )
        ).first()
    return ClaimedScan(*row) if row is not None else None


async def run_claimed(runtime, claimed: ClaimedScan) -> None:
    """Scan a claimed image and store the outcome; registry outages requeue the scan."""
    settings: ScanningSettings = runtime.settings
    bind_ids(correlation_id=claimed.correlation_id)
    log.info("scan_started", scan_id=str(claimed.id), reference=claimed.reference)

    results: list[ImageScan] | None = None
    failure: tuple[str, str] | None = None
    try:
        if claimed.archive_path:
            results = await asyncio.to_thread(scan_upload, settings, Path(claimed.archive_path))
            digest = results[0].digest if results else None
        else:
            reference = parse_store_reference(settings, claimed.reference)
            digest = claimed.digest or await asyncio.to_thread(resolve_digest, settings, reference)
            results = await asyncio.to_thread(pull_and_scan, settings, reference.pinned(digest))
    except InventoryError as error:
        failure = (error.code, str(error))
    except (httpx.HTTPError, OSError) as error:
        if claimed.attempts < settings.max_attempts:
            await _requeue(runtime, claimed, error)
            return
        failure = ("registry-unreachable", f"registry unreachable after {claimed.attempts} attempts: {error}")

    async with runtime.sessionmaker() as session, session.begin():
        scan = await session.get(Scan, claimed.id, with_for_update=True)
        if scan is None or scan.status != ScanStatus.RUNNING:
            log.warning("scan_outcome_discarded", scan_id=str(claimed.id))
            return
        if failure is not None:
            await fail_scan(session, scan, code=failure[0], reason=failure[1])
        else:
            scan.digest = digest
            await store_results(session, scan, results)
    _delete_upload(claimed.archive_path)


async def _requeue(runtime, claimed: ClaimedScan, error: Exception) -> None:
    log.warning(
        "scan_retry", scan_id=str(claimed.id), attempts=claimed.attempts, error=repr(error)
    )
    async with runtime.sessionmaker() as session, session.begin():
        await session.execute(
            update(Scan)
            .where(Scan.id == claimed.id, Scan.status == ScanStatus.RUNNING)
            .values(status=ScanStatus.QUEUED, lease_expires_at=None)
        )


async def _fail_crashed(runtime, claimed: ClaimedScan, error: Exception) -> None:
    """Record a crashed scan as failed and delete its upload, as a failed scan does.

    A scan that another worker has taken over keeps its upload, and so does one whose
    failure was not recorded, because a later pass retries it.
    """
    try:
        async with runtime.sessionmaker() as session, session.begin():
            scan = await session.get(Scan, claimed.id, with_for_update=True)
            if scan is None or scan.status != ScanStatus.RUNNING:
                return
            await fail_scan(
                session, scan, code="internal-error", reason=f"the scanner failed: {error!r}"
            )
    except Exception as second:  # noqa: BLE001 - the lease lets a later pass retry it
        log.warning("scan_fail_not_recorded", scan_id=str(claimed.id), error=repr(second))
        return
    _delete_upload(claimed.archive_path)


async def store_results(session: AsyncSession, scan: Scan, results: list[ImageScan]) -> None:
    """Store every image's inventory and write `scanning.scan.completed`."""
    runtime = session.info["runtime"]
    components_total = 0
    checks_passed = True
    finding_counts: Counter[str] = Counter()
    findings: list[FindingRef] = []
    plugin_checks_passed: bool | None = None
    for result in results:
        components, warnings = fit_components(result.components)
        if warnings:
            log.warning(
                "scan_packages_truncated",
                scan_id=str(scan.id),
                digest=result.digest,
                packages=len(warnings),
            )
        # detect_distro accepts an os-release ID and VERSION_ID of at most 50 characters
        # and cuts PRETTY_NAME to 200, so the distribution fits these columns.
        image = ScannedImage(
            id=uuid.uuid4(),
            scan_id=scan.id,
            digest=result.digest,
            platform=result.platform,
            os_id=result.distro.id if result.distro else None,
            os_version=result.distro.version_id if result.distro else None,
            os_name=result.distro.pretty_name if result.distro else None,
            is_plugin=result.is_plugin,
            totals=result.totals,
            duration_ms=int(result.duration_seconds * 1000),
            warnings=warnings,
        )
        session.add(image)
        # Components have no ORM relationship to their image, so the image row must exist
        # before the unit of work inserts them.
        await session.flush()
        for layer in result.layers:
            session.add(
                ScannedLayer(
                    image_id=image.id,
                    index=layer.index,
                    digest=layer.digest,
                    media_type=layer.media_type,
                    size=layer.size,
                    decompressed_size=layer.decompressed_size,
                    entries=layer.entries,
                    created_by=layer.created_by,
                )
            )
        session.add_all(_component_row(image.id, component) for component in components)
        for check in result.checks:
            session.add(
                CheckResultRow(
                    image_id=image.id,
                    check_id=check.id,
                    passed=check.passed,
                    level=check.level,
                    detail=check.detail,
                    suggestion=check.suggestion,
                )
            )
            if check.level == "error" and not check.passed:
                checks_passed = False
            if check.id == "plugin-config":
                plugin_checks_passed = check.passed and plugin_checks_passed is not False
        components_total += len(components)

        # Match the inventory against the vulnerability database now; a first scan reports
        # its findings in the completion event rather than as detections. It matches the
        # stored (possibly cut) components, as re-matching after a feed import will.
        change = await assess_inventory(
            session,
            ImageInventory(
                image_id=image.id,
                organization_id=scan.organisation_id,
                reference=f"{_repository(scan.reference)}@{result.digest}",
                distro=result.distro,
                components=components,
            ),
            now=runtime.clock.now(),
        )
        finding_counts.update(str(effective_class(finding)) for finding in change.detected)
        findings.extend(_finding_ref(finding) for finding in change.detected)

    # Set only when the scanned digest is an index, whose platform images are named apart.
    platform_digests = None
    if any(result.digest != scan.digest for result in results):
        platform_digests = [result.digest for result in results]

    scan.status = ScanStatus.COMPLETED
    scan.finished_at = runtime.clock.now()
    scan.lease_expires_at = None
    await session.flush()
    await emit(
        session,
        "scanning.scan.completed",
        subject=str(scan.id),
        data={
            "scan_id": scan.id,
            "image": {"reference": scan.reference, "digest": scan.digest},
            "organisation_id": scan.organisation_id,
            "product_id": scan.product_id,
            "version_id": scan.version_id,
            "tier_id": scan.tier_id,
            "counts": dict(finding_counts),
            # A first assessment opens every finding of the image, so this is the full list.
            "findings": findings,
            "checks_passed": checks_passed,
            "plugin_checks_passed": plugin_checks_passed,
            "platform_digests": platform_digests,
            "components": components_total,
            "platforms": [result.platform for result in results],
        },
    )
    log.info(
        "scan_completed", scan_id=str(scan.id), digest=scan.digest, components=components_total
    )


def _finding_ref(finding) -> FindingRef:
    return FindingRef(
        finding_id=finding.id,
        vulnerability_id=finding.vulnerability_id,
        aliases=list(finding.aliases),
        package=finding.package,
        installed_version=finding.installed_version,
        fixed_version=finding.fixed_version,
        cvss_score=finding.cvss_score,
        finding_class=str(effective_class(finding)),
    )


def _repository(reference: str) -> str:
    """Return ``host/repository`` of a reference, without its tag and digest."""
    name = reference.split("@", 1)[0]
    if name.rfind(":") > name.rfind("/"):
        name = name[: name.rfind(":")]
    return name


# Component fields stored in columns of bounded length, with that length in characters.
_BOUNDED_FIELDS = tuple(
    (name, ScannedComponent.__table__.c[name].type.length)
    for name in ("name", "match_name", "version", "source_name", "source_version")
)
# Characters of an overlong package name quoted in a warning's detail.
_NAME_PREVIEW = 60


def fit_components(components) -> tuple[list[Component], list[dict]]:
    """Cut overlong package fields to their columns and return one warning per cut package.

    A package database in an image is publisher input, so a name or version may be longer
    than any real one. The package is kept rather than dropped, so it stays in the SBOM and
    in vulnerability matching, and its purl keeps the full name and version.
    """
    fitted: list[Component] = []
    warnings: list[dict] = []
    for component in components:
        cut = {}
        for field_name, length in _BOUNDED_FIELDS:
            value = getattr(component, field_name)
            if value is not None and len(value) > length:
                cut[field_name] = value[:length]
        if not cut:
            fitted.append(component)
            continue
        fitted.append(dataclasses.replace(component, **cut))
        warnings.append(_truncation_warning(component, cut))
    return fitted, warnings


def _truncation_warning(component: Component, cut: dict[str, str]) -> dict:
    name = component.name
    if len(name) > _NAME_PREVIEW:
        name = name[:_NAME_PREVIEW] + "…"
    changes = ", ".join(
        f"{field_name} of {len(getattr(component, field_name))} characters cut to {len(value)}"
        for field_name, value in cut.items()
    )
    layer = component.layer
    return {
        "code": "package-truncated",
        "detail": (
            f"{component.ecosystem} package {name!r} from {component.path} in layer "
            f"{layer.index} ({layer.digest}): {changes}"
        ),
        "package": cut.get("name", component.name),
        "fields": list(cut),
        "path": component.path,
        "layer_index": layer.index,
        "layer_digest": layer.digest,
    }


def _component_row(image_id: uuid.UUID, component: Component) -> ScannedComponent:
    return ScannedComponent(
        image_id=image_id,
        ecosystem=str(component.ecosystem),
        name=component.name,
        version=component.version,
        match_name=component.match_name,
        purl=component.purl,
        path=component.path,
        layer_index=component.layer.index,
        layer_digest=component.layer.digest,
        layer_created_by=component.layer.created_by,
        source_name=component.source_name,
        source_version=component.source_version,
        licenses=list(component.licenses),
    )


def component_record(row: ScannedComponent) -> Component:
    """Rebuild the shared component record from a stored row, for SBOMs and matching."""
    return Component(
        ecosystem=Ecosystem(row.ecosystem),
        name=row.name,
        version=row.version,
        match_name=row.match_name,
        purl=row.purl,
        layer=LayerRef(row.layer_digest, row.layer_index, row.layer_created_by),
        path=row.path,
        source_name=row.source_name,
        source_version=row.source_version,
        licenses=tuple(row.licenses or ()),
    )


async def load_components(session: AsyncSession, image_id: uuid.UUID) -> list[Component]:
    """Return the stored components of one scanned image, in a stable order."""
    rows = await session.scalars(
        select(ScannedComponent)
        .where(ScannedComponent.image_id == image_id)
        .order_by(ScannedComponent.layer_index, ScannedComponent.path, ScannedComponent.purl)
    )
    return [component_record(row) for row in rows]


async def scan_worker(runtime) -> None:
    """Run queued scans one at a time, until the service stops."""
    settings: ScanningSettings = runtime.settings
    wakeup = runtime.state.setdefault(WAKEUP, asyncio.Event())
    log.info("scan_worker_started")
    try:
        while True:
            try:
                claimed = await claim_next(runtime)
            except Exception as error:  # noqa: BLE001 - the database may be briefly away
                log.warning("scan_claim_failed", error=repr(error))
                claimed = None
            if claimed is not None:
                try:
                    await run_claimed(runtime, claimed)
                except Exception as error:  # noqa: BLE001 - one bad scan must not stop the worker
                    log.exception("scan_crashed", scan_id=str(claimed.id), error=repr(error))
                    await _fail_crashed(runtime, claimed, error)
                continue
            wakeup.clear()
            try:
                await asyncio.wait_for(wakeup.wait(), timeout=settings.worker_poll_interval)
            except TimeoutError:
                pass
    finally:
        log.info("scan_worker_stopped")
