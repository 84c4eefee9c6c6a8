"""Matching installed components against the vulnerability database.

A component is looked up under the name and version its advisories use. That is the
PEP 503 name for PyPI and the module path for Go. For distribution packages it is the
source package and source version, within the image's own release (`Debian:12`,
`Alpine:v3.20`). Every record whose ranges contain the installed version matches, and
the matches of one alias group make one finding.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import structlog
from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from ..components import Component, Distro, Ecosystem
from .aliases import CvssScore, group_score, id_preference
from .classification import FindingClass, class_for_score
from .models import AdvisoryRecord, AffectedEntry
from .osv import AffectedPackage, MalformedRecord, parse_range, package_key
from .ranges import evaluate
from .versions import InvalidVersion, normalize_go_version, version_key

log = structlog.get_logger(__name__)

_KEY_CHUNK = 2000


@dataclass(frozen=True, slots=True)
class InstalledPackage:
    """A component as the matcher looks it up."""

    ecosystem: str  # OSV ecosystem, with the release for distributions: "Debian:12"
    package: str  # `package_key` of the advisory-side name
    version: str  # the version advisories compare against
    component_name: str  # the name as installed, e.g. the binary package "libssl3"
    component_version: str
    purl: str
    layer_digest: str
    layer_index: int
    path: str


def osv_ecosystems(ecosystem: Ecosystem, distro: Distro | None) -> list[str]:
    """Return the OSV ecosystems whose advisories apply to a component.

    Distribution advisories are written per release, so an image without a readable
    release gets no distribution matches rather than matches from another release.
    """
    if ecosystem in (Ecosystem.PYPI, Ecosystem.GO, Ecosystem.NPM, Ecosystem.MAVEN):
        return [ecosystem.value]
    if distro is None or not distro.version_id:
        return []

    if ecosystem is Ecosystem.DEBIAN:
        # Debian's VERSION_ID is the major release ("12"); point releases share advisories.
        return [f"Debian:{distro.version_id.split('.')[0]}"]
    if ecosystem is Ecosystem.UBUNTU:
        # Ubuntu writes LTS releases as "Ubuntu:22.04:LTS" and others as "Ubuntu:23.10".
        # NOTE: Ubuntu Pro ("Ubuntu:Pro:18.04:LTS") advisories are not matched.
        return [f"Ubuntu:{distro.version_id}:LTS", f"Ubuntu:{distro.version_id}"]
    if ecosystem is Ecosystem.ALPINE:
        major_minor = ".".join(distro.version_id.split(".")[:2])
        return [f"Alpine:v{major_minor}"]
    return []


def installed_packages(
    components: Iterable[Component], distro: Distro | None
) -> list[InstalledPackage]:
    """Turn components into look-up keys; the same package twice keeps its lowest layer."""
    chosen: dict[tuple[str, str, str], InstalledPackage] = {}

    for component in components:
        if component.ecosystem in (Ecosystem.DEBIAN, Ecosystem.UBUNTU, Ecosystem.ALPINE):
            name = component.source_name or component.name
            version = component.source_version or component.version
        elif component.ecosystem is Ecosystem.GO:
            name = component.match_name or component.name
            version = normalize_go_version(name, component.version)
        else:
            name = component.match_name or component.name
            version = component.version

        for ecosystem in osv_ecosystems(component.ecosystem, distro):
            package = InstalledPackage(
                ecosystem=ecosystem,
                package=package_key(ecosystem, name),
                version=version,
                component_name=component.name,
                component_version=component.version,
                purl=component.purl,
                layer_digest=component.layer.digest,
                layer_index=component.layer.index,
                path=component.path,
            )
            key = (package.ecosystem, package.package, package.version)
            if key not in chosen or package.layer_index < chosen[key].layer_index:
                chosen[key] = package

    return list(chosen.values())


@dataclass(frozen=True, slots=True)
class Candidate:
    """An active record's `affected` entry for one (ecosystem, package)."""

    record_id: str
    group_key: str
    affected: AffectedPackage


@dataclass(frozen=True, slots=True)
class GroupInfo:
    """The contribution of a whole alias group to a finding: its ids, best score and references."""

    key: str
    ids: frozenset[str]  # every record id and alias in the group
    score: CvssScore | None
    severity_text: str | None
    references: tuple[dict, ...]


@dataclass(frozen=True, slots=True)
class Match:
    """One alias group that affects one installed package: a finding to be."""

    package: InstalledPackage
    group_key: str
    vulnerability_id: str
    aliases: tuple[str, ...]
    matched_records: tuple[str, ...]
    fixed_version: str | None
    score: CvssScore | None
    severity_text: str | None
    finding_class: FindingClass
    references: tuple[dict, ...]

    @property
    def ids(self) -> frozenset[str]:
        return frozenset((self.vulnerability_id, *self.aliases))


def match_packages(
    packages: Sequence[InstalledPackage],
    candidates: Mapping[tuple[str, str], Sequence[Candidate]],
    groups: Mapping[str, GroupInfo],
) -> list[Match]:
    """Match packages against already loaded candidates; one match per package and group."""
    matches = []
    for package in packages:
        hits: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
        for candidate in candidates.get((package.ecosystem, package.package), ()):
            verdict = evaluate(candidate.affected, package.version, record_id=candidate.record_id)
            if verdict.affected:
                hits[candidate.group_key].append((candidate.record_id, verdict.fixed))

        for group_key, records in hits.items():
            matches.append(_build_match(package, group_key, records, groups.get(group_key)))
    return matches


def _build_match(
    package: InstalledPackage,
    group_key: str,
    records: list[tuple[str, str | None]],
    group: GroupInfo | None,
) -> Match:
    record_ids = sorted({record_id for record_id, _ in records}, key=id_preference)
    vulnerability_id = record_ids[0]
    all_ids = set(group.ids) if group else set(record_ids)
    aliases = tuple(sorted(all_ids - {vulnerability_id}, key=id_preference))

    # Records of one group may name different fixes; the highest clears them all.
    fixes = [fixed for _, fixed in records if fixed]
    fixed_version = _highest(package.ecosystem, fixes)

    score = group.score if group else None
    return Match(
        package=package,
        group_key=group_key,
        vulnerability_id=vulnerability_id,
        aliases=aliases,
        matched_records=tuple(record_ids),
        fixed_version=fixed_version,
        score=score,
        severity_text=group.severity_text if group else None,
        finding_class=class_for_score(score.score if score else None),
        references=group.references if group else (),
    )


def _highest(ecosystem: str, versions: list[str]) -> str | None:
    if not versions:
        return None
    try:
        return max(versions, key=lambda version: version_key(ecosystem, version))
    except InvalidVersion:
        return sorted(versions)[-1]


def _affected_from_row(record_id: str, ecosystem: str, package: str, ranges: list, versions: list) -> AffectedPackage:
    return AffectedPackage(
        ecosystem=ecosystem,
        name=package,
        ranges=tuple(parse_range(item, record_id) for item in ranges),
        versions=tuple(versions),
        severity=(),
    )


async def load_candidates(
    session: AsyncSession, keys: Iterable[tuple[str, str]]
) -> tuple[dict[tuple[str, str], list[Candidate]], dict[str, GroupInfo]]:
    """Load the active records' entries for the given (ecosystem, package) keys and their groups."""
    candidates: dict[tuple[str, str], list[Candidate]] = defaultdict(list)
    group_keys: set[str] = set()
    key_list = sorted(set(keys))

    for start in range(0, len(key_list), _KEY_CHUNK):
        chunk = key_list[start : start + _KEY_CHUNK]
        result = await session.execute(
            select(
                AffectedEntry.record_id,
                AffectedEntry.ecosystem,
                AffectedEntry.package,
                AffectedEntry.ranges,
                AffectedEntry.versions,
                AdvisoryRecord.group_key,
            )
            .join(AdvisoryRecord, AdvisoryRecord.id == AffectedEntry.record_id)
            .where(AdvisoryRecord.withdrawn.is_(None))
            .where(tuple_(AffectedEntry.ecosystem, AffectedEntry.package).in_(chunk))
        )
        for record_id, ecosystem, package, ranges, versions, group_key in result:
            try:
                affected = _affected_from_row(record_id, ecosystem, package, ranges, versions)
            except MalformedRecord as error:
                # The importer validated these rows, so this means the table was edited.
                log.error("stored_affected_unreadable", record_id=record_id, reason=str(error))
                continue
            candidates[(ecosystem, package)].append(Candidate(record_id, group_key, affected))
            group_keys.add(group_key)

    groups = await load_groups(session, group_keys)
    return dict(candidates), groups


async def load_groups(session: AsyncSession, group_keys: Iterable[str]) -> dict[str, GroupInfo]:
    """Load the ids, best score and references of each alias group."""
    keys = sorted(set(group_keys))
    members: dict[str, list] = defaultdict(list)
    for start in range(0, len(keys), _KEY_CHUNK):
        result = await session.execute(
            select(
                AdvisoryRecord.group_key,
                AdvisoryRecord.id,
                AdvisoryRecord.aliases,
                AdvisoryRecord.cvss_score,
                AdvisoryRecord.cvss_vector,
                AdvisoryRecord.cvss_version,
                AdvisoryRecord.severity_text,
                AdvisoryRecord.references,
            )
            .where(AdvisoryRecord.withdrawn.is_(None))
            .where(AdvisoryRecord.group_key.in_(keys[start : start + _KEY_CHUNK]))
        )
        for row in result:
            members[row.group_key].append(row)

    groups = {}
    for key, rows in members.items():
        rows.sort(key=lambda row: id_preference(row.id))
        ids = set()
        scores = []
        references: list[dict] = []
        seen_urls: set[str] = set()
        severity_text = None

        for row in rows:
            ids.add(row.id)
            ids.update(row.aliases or [])
            if row.cvss_score is not None:
                scores.append(CvssScore(row.cvss_score, row.cvss_vector, row.cvss_version, row.id))
            if severity_text is None and row.severity_text:
                severity_text = row.severity_text
            for reference in row.references or []:
                if reference["url"] not in seen_urls:
                    seen_urls.add(reference["url"])
                    references.append(reference)

        groups[key] = GroupInfo(
            key=key,
            ids=frozenset(ids),
            score=group_score(scores),
            severity_text=severity_text,
            references=tuple(references),
        )
    return groups


async def match_inventory(
    session: AsyncSession, components: Iterable[Component], distro: Distro | None
) -> list[Match]:
    """Match an image's components against the database."""
    packages = installed_packages(components, distro)
    candidates, groups = await load_candidates(
        session, {(package.ecosystem, package.package) for package in packages}
    )
    return match_packages(packages, candidates, groups)
