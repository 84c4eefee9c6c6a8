"""Java artefacts from ``META-INF/maven/<group>/<artifact>/pom.properties`` inside archives.

Jars nested in jars, wars and ears are opened too. Coordinates come only from
pom.properties: a group id guessed from class or file names would match the wrong
advisories, so an archive without pom.properties yields nothing.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

from packageurl import PackageURL

from services.scanning.components import Distro, Ecosystem
from services.scanning.inventory.analysers.base import Package
from services.scanning.inventory.errors import LimitExceeded
from services.scanning.inventory.limits import Limits

ARCHIVE_SUFFIXES = (".jar", ".war", ".ear", ".jpi", ".hpi")
# Spring Boot nests jars one level, wars inside ears make two; deeper is suspicious.
MAX_NESTING = 4
MAX_POM_PROPERTIES_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class MavenArtifact:
    group_id: str
    artifact_id: str
    version: str
    location: str  # path inside the outer archive, "" for the archive itself


class JavaArchiveAnalyser:
    name = "java"

    def wants(self, path: str, mode: int, size: int) -> bool:
        return path.lower().endswith(ARCHIVE_SUFFIXES)

    def extract(self, path: str, data: bytes, limits: Limits) -> tuple[MavenArtifact, ...] | None:
        artifacts: list[MavenArtifact] = []
        budget = [len(data)]
        _read_archive(data, "", 0, artifacts, limits, budget, path)
        return tuple(artifacts) or None

    def packages(self, path: str, facts: tuple[MavenArtifact, ...], distro: Distro | None):
        packages = []
        for artifact in facts:
            purl = PackageURL(
                type="maven",
                namespace=artifact.group_id,
                name=artifact.artifact_id,
                version=artifact.version,
            )
            packages.append(
                Package(
                    ecosystem=Ecosystem.MAVEN,
                    name=f"{artifact.group_id}:{artifact.artifact_id}",
                    version=artifact.version,
                    match_name=f"{artifact.group_id}:{artifact.artifact_id}",
                    purl=purl.to_string(),
                    location=artifact.location,
                )
            )
        return packages


def _read_archive(
    data: bytes,
    location: str,
    depth: int,
    artifacts: list[MavenArtifact],
    limits: Limits,
    budget: list[int],
    path: str,
) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError):
        return

    with archive:
        for info in archive.infolist():
            name = info.filename
            if name.startswith("META-INF/maven/") and name.endswith("/pom.properties"):
                if info.file_size > MAX_POM_PROPERTIES_BYTES:
                    continue
                artifact = _parse_pom_properties(archive.read(info), location)
                if artifact is not None:
                    artifacts.append(artifact)
            elif name.lower().endswith(ARCHIVE_SUFFIXES) and depth < MAX_NESTING:
                # Nested archives count towards the same limit as their outer file, so a zip
                # bomb of jars in jars cannot exceed it.
                budget[0] += info.file_size
                if budget[0] > limits.max_file_bytes:
                    raise LimitExceeded("max_file_bytes", limits.max_file_bytes, f"{path}!/{name}")
                nested = archive.read(info)
                inner = f"{location}!/{name}" if location else name
                _read_archive(nested, inner, depth + 1, artifacts, limits, budget, path)


def _parse_pom_properties(data: bytes, location: str) -> MavenArtifact | None:
    values = {}
    for line in data.decode("utf-8", errors="replace").splitlines():
        line = line.strip()
        if not line or line.startswith(("#", "!")):
            continue
        key, separator, value = line.partition("=")
        if separator:
            values[key.strip()] = value.strip()

    group_id = values.get("groupId")
    artifact_id = values.get("artifactId")
    version = values.get("version")
    if not group_id or not artifact_id or not version:
        return None
    return MavenArtifact(group_id, artifact_id, version, location)
