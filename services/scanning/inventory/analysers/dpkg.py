"""Debian and Ubuntu packages from the dpkg database.

Reads /var/lib/dpkg/status and, for distroless images, each file in
/var/lib/dpkg/status.d/ (the ``.md5sums`` files beside them are skipped). Only packages
whose status is ``installed`` count: ``deinstall ok config-files`` leaves an entry behind
for a removed package.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from debian.deb822 import Deb822
from packageurl import PackageURL

from services.scanning.components import Distro, Ecosystem
from services.scanning.inventory.analysers.base import Package
from services.scanning.inventory.limits import Limits

STATUS_FILE = "/var/lib/dpkg/status"
STATUS_DIRECTORY = "/var/lib/dpkg/status.d/"
_FIELDS = ["Package", "Status", "Version", "Architecture", "Source"]
# "Source: name (version)" when the source version differs from the binary's.
_SOURCE = re.compile(r"^(?P<name>\S+)(?:\s+\((?P<version>[^)]+)\))?$")


@dataclass(frozen=True, slots=True)
class DpkgEntry:
    name: str
    version: str
    architecture: str
    source_name: str
    source_version: str


class DpkgAnalyser:
    name = "dpkg"

    def wants(self, path: str, mode: int, size: int) -> bool:
        if path == STATUS_FILE:
            return True
        return path.startswith(STATUS_DIRECTORY) and not path.endswith(".md5sums")

    def extract(self, path: str, data: bytes, limits: Limits) -> tuple[DpkgEntry, ...]:
        text = data.decode("utf-8", errors="replace")
        entries = []
        for paragraph in Deb822.iter_paragraphs(text, fields=_FIELDS, use_apt_pkg=False):
            entry = _installed_entry(paragraph)
            if entry is not None:
                entries.append(entry)
        return tuple(entries)

    def packages(
        self, path: str, facts: tuple[DpkgEntry, ...], distro: Distro | None
    ) -> list[Package]:
        ecosystem = Ecosystem.UBUNTU if distro and distro.id == "ubuntu" else Ecosystem.DEBIAN
        namespace = distro.id if distro else "debian"
        return [_package(entry, ecosystem, namespace, distro) for entry in facts]


def _installed_entry(paragraph: Deb822) -> DpkgEntry | None:
    name = paragraph.get("Package")
    version = paragraph.get("Version")
    # Status is "want flag status"; distroless status.d files may omit it, and every
    # package there is installed.
    status = paragraph.get("Status", "install ok installed").split()
    if not name or not version or len(status) != 3 or status[2] != "installed":
        return None

    source_name, source_version = name, version
    source = _SOURCE.match(paragraph.get("Source", "").strip())
    if source:
        source_name = source["name"]
        source_version = source["version"] or version

    return DpkgEntry(name, version, paragraph.get("Architecture", ""), source_name, source_version)


def _package(entry: DpkgEntry, ecosystem: Ecosystem, namespace: str, distro: Distro | None):
    epoch, _, upstream_version = entry.version.rpartition(":")
    qualifiers = {}
    if entry.architecture:
        qualifiers["arch"] = entry.architecture
    if distro and distro.version_id:
        qualifiers["distro"] = f"{distro.id}-{distro.version_id}"
    # The purl spec keeps the epoch out of the version, in its own qualifier.
    if epoch:
        qualifiers["epoch"] = epoch
    if entry.source_name != entry.name or entry.source_version != entry.version:
        qualifiers["upstream"] = f"{entry.source_name}@{entry.source_version}"

    purl = PackageURL(
        type="deb",
        namespace=namespace,
        name=entry.name,
        version=upstream_version,
        qualifiers=qualifiers,
    )
    return Package(
        ecosystem=ecosystem,
        name=entry.name,
        version=entry.version,
        match_name=entry.name,
        purl=purl.to_string(),
        source_name=entry.source_name,
        source_version=entry.source_version,
    )
