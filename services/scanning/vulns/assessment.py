"""Continuous assessment: keeping each image's findings in step with the database.

An image's inventory is stored once, as the packages the matcher looks up. After a feed
import, only images holding a package whose advisories changed are re-matched, and only
for those packages. Each run reports, per image, the findings it detected and resolved.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import structlog
from sqlalchemy import delete, insert, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from ..components import Component, Distro
from .matching import InstalledPackage, Match, installed_packages, load_candidates, match_packages
from .models import AssessedImage, AssessedPackage, Finding

log = structlog.get_logger(__name__)

_KEY_CHUNK = 2000


@dataclass(frozen=True, slots=True)
class ImageInventory:
    """An image as the matcher reads it: ids, reference, release and components."""

    image_id: uuid.UUID
    organization_id: uuid.UUID
    reference: str  # repository@digest
    distro: Distro | None
    components: Sequence[Component]


@dataclass(slots=True)
class ImageChange:
    """The findings of one image that one assessment opened and closed."""

    image_id: uuid.UUID
    organization_id: uuid.UUID
    reference: str
    detected: list[Finding] = field(default_factory=list)
    resolved: list[Finding] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not self.detected and not self.resolved


async def assess_image(session: AsyncSession, inventory: ImageInventory, *, now: datetime) -> ImageChange:
    """Store an image's inventory, match all of it and reconcile the image's findings.

    Assessing the same image again replaces its stored inventory, so a rebuilt image
    resolves the findings of packages it no longer contains.
    """
    image = await session.get(AssessedImage, inventory.image_id)
    if image is None:
        image = AssessedImage(id=inventory.image_id)
        session.add(image)
    image.organization_id = inventory.organization_id
    image.reference = inventory.reference
    image.distro_id = inventory.distro.id if inventory.distro else None
    image.distro_version = inventory.distro.version_id if inventory.distro else None
    image.assessed_at = now
    await session.flush()

    packages = installed_packages(inventory.components, inventory.distro)
    await session.execute(delete(AssessedPackage).where(AssessedPackage.image_id == image.id))
    if packages:
        await session.execute(
            insert(AssessedPackage), [_package_row(image.id, package) for package in packages]
        )

    candidates, groups = await load_candidates(session, {(p.ecosystem, p.package) for p in packages})
    matches = match_packages(packages, candidates, groups)

    open_findings = await _open_findings(session, [image.id], scope=None)
    change = ImageChange(image.id, image.organization_id, image.reference)
    _reconcile(session, change, matches, open_findings.get(image.id, []), now)
    await session.flush()

    log.info(
        "image_assessed",
        image_id=str(image.id),
        packages=len(packages),
        detected=len(change.detected),
        resolved=len(change.resolved),
    )
    return change


async def reassess_packages(
    session: AsyncSession, changed_packages: Iterable[tuple[str, str]], *, now: datetime
) -> list[ImageChange]:
    """Re-match stored inventories for the (ecosystem, package) pairs an import changed.

    Findings of other packages are left untouched, so the cost follows the size of the
    change rather than the number of images.
    """
    keys = sorted(set(changed_packages))
    if not keys:
        return []

    packages_by_image: dict[uuid.UUID, list[InstalledPackage]] = defaultdict(list)
    for start in range(0, len(keys), _KEY_CHUNK):
        result = await session.execute(
            select(AssessedPackage).where(
                tuple_(AssessedPackage.ecosystem, AssessedPackage.package).in_(
                    keys[start : start + _KEY_CHUNK]
                )
            )
        )
        for row in result.scalars():
            packages_by_image[row.image_id].append(_installed_from_row(row))

    images = await _images(session, packages_by_image.keys())
    open_findings = await _open_findings(session, list(packages_by_image), scope=keys)
    # Open findings of a package that no image contains any more still need resolving.
    for image_id in open_findings:
        packages_by_image.setdefault(image_id, [])
    images.update(await _images(session, set(open_findings) - set(images)))

    all_packages = [p for packages in packages_by_image.values() for p in packages]
    candidates, groups = await load_candidates(session, {(p.ecosystem, p.package) for p in all_packages})

    changes = []
    for image_id, packages in packages_by_image.items():
        image = images[image_id]
        matches = match_packages(packages, candidates, groups)
        change = ImageChange(image.id, image.organization_id, image.reference)
        _reconcile(session, change, matches, open_findings.get(image_id, []), now)
        if not change.is_empty:
            changes.append(change)
    await session.flush()

    log.info(
        "images_reassessed",
        packages=len(keys),
        images=len(packages_by_image),
        changed_images=len(changes),
    )
    return changes


def _package_row(image_id: uuid.UUID, package: InstalledPackage) -> dict:
    return {
        "image_id": image_id,
        "ecosystem": package.ecosystem,
        "package": package.package,
        "version": package.version,
        "component_name": package.component_name,
        "component_version": package.component_version,
        "purl": package.purl,
        "layer_digest": package.layer_digest,
        "layer_index": package.layer_index,
        "path": package.path,
    }


def _installed_from_row(row: AssessedPackage) -> InstalledPackage:
    return InstalledPackage(
        ecosystem=row.ecosystem,
        package=row.package,
        version=row.version,
        component_name=row.component_name,
        component_version=row.component_version,
        purl=row.purl,
        layer_digest=row.layer_digest,
        layer_index=row.layer_index,
        path=row.path,
    )


async def _images(session: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, AssessedImage]:
    id_list = list(ids)
    if not id_list:
        return {}
    result = await session.execute(select(AssessedImage).where(AssessedImage.id.in_(id_list)))
    return {image.id: image for image in result.scalars()}


async def _open_findings(
    session: AsyncSession,
    image_ids: list[uuid.UUID],
    scope: list[tuple[str, str]] | None,
) -> dict[uuid.UUID, list[Finding]]:
    """Load open findings, of some images or, with a scope, of those packages in any image."""
    statement = select(Finding).where(Finding.status == "open")
    if scope is None:
        statement = statement.where(Finding.image_id.in_(image_ids))
    else:
        statement = statement.where(tuple_(Finding.ecosystem, Finding.package).in_(scope))

    findings: dict[uuid.UUID, list[Finding]] = defaultdict(list)
    for finding in (await session.execute(statement)).scalars():
        findings[finding.image_id].append(finding)
    return findings


def _reconcile(
    session: AsyncSession,
    change: ImageChange,
    matches: list[Match],
    open_findings: list[Finding],
    now: datetime,
) -> None:
    """Pair new matches with open findings; open the unpaired matches, resolve the rest.

    A match and a finding are the same vulnerability when they concern the same package
    and version and share any id, so a new alias joining a group keeps the finding open.
    """
    unpaired = list(open_findings)

    for match in matches:
        package = match.package
        paired = None
        for finding in unpaired:
            same_package = (
                finding.ecosystem == package.ecosystem
                and finding.package == package.package
                and finding.installed_version == package.version
            )
            if same_package and match.ids & {finding.vulnerability_id, *finding.aliases}:
                paired = finding
                break

        if paired is not None:
            unpaired.remove(paired)
            _apply_match(paired, match)
            continue

        finding = Finding(
            id=uuid.uuid4(),
            image_id=change.image_id,
            organization_id=change.organization_id,
            status="open",
            detected_at=now,
        )
        _apply_match(finding, match)
        session.add(finding)
        change.detected.append(finding)

    for finding in unpaired:
        finding.status = "resolved"
        finding.resolved_at = now
        change.resolved.append(finding)


def _apply_match(finding: Finding, match: Match) -> None:
    # NOTE: a changed score or class updates an open finding in place and emits no event.
    package = match.package
    finding.vulnerability_id = match.vulnerability_id
    finding.aliases = list(match.aliases)
    finding.matched_records = list(match.matched_records)
    finding.ecosystem = package.ecosystem
    finding.package = package.package
    finding.installed_version = package.version
    finding.component_name = package.component_name
    finding.component_version = package.component_version
    finding.layer_digest = package.layer_digest
    finding.layer_index = package.layer_index
    finding.fixed_version = match.fixed_version
    finding.cvss_score = match.score.score if match.score else None
    finding.cvss_vector = match.score.vector if match.score else None
    finding.cvss_source = match.score.source_id if match.score else None
    finding.severity_text = match.severity_text
    finding.cvss_class = match.finding_class.value
    finding.references = list(match.references)
