"""Alpine packages from /lib/apk/db/installed, with the origin (source) package."""

from __future__ import annotations

from dataclasses import dataclass

from packageurl import PackageURL

from services.scanning.components import Distro, Ecosystem
from services.scanning.inventory.analysers.base import Package
from services.scanning.inventory.limits import Limits

INSTALLED_DB = "/lib/apk/db/installed"


@dataclass(frozen=True, slots=True)
class ApkEntry:
    name: str
    version: str
    architecture: str
    origin: str
    license: str


class ApkAnalyser:
    name = "apk"

    def wants(self, path: str, mode: int, size: int) -> bool:
        return path == INSTALLED_DB

    def extract(self, path: str, data: bytes, limits: Limits) -> tuple[ApkEntry, ...]:
        # One-letter fields, one per line; a blank line ends a package (apk's "installed"
        # database format, as written by apk-tools 2).
        entries = []
        fields: dict[str, str] = {}
        for line in data.decode("utf-8", errors="replace").splitlines() + [""]:
            if not line.strip():
                if fields.get("P") and fields.get("V"):
                    entries.append(
                        ApkEntry(
                            fields["P"],
                            fields["V"],
                            fields.get("A", ""),
                            fields.get("o", fields["P"]),
                            fields.get("L", ""),
                        )
                    )
                fields = {}
                continue
            key, separator, value = line.partition(":")
            if separator and len(key) == 1 and key not in fields:
                fields[key] = value
        return tuple(entries)

    def packages(self, path: str, facts: tuple[ApkEntry, ...], distro: Distro | None):
        packages = []
        for entry in facts:
            qualifiers = {"arch": entry.architecture} if entry.architecture else {}
            if distro and distro.version_id:
                qualifiers["distro"] = f"alpine-{distro.version_id}"
            if entry.origin != entry.name:
                qualifiers["upstream"] = entry.origin
            purl = PackageURL(
                type="apk", namespace="alpine", name=entry.name, version=entry.version,
                qualifiers=qualifiers,
            )
            packages.append(
                Package(
                    ecosystem=Ecosystem.ALPINE,
                    name=entry.name,
                    version=entry.version,
                    match_name=entry.name,
                    purl=purl.to_string(),
                    source_name=entry.origin,
                    source_version=entry.version,
                    licenses=(entry.license,) if entry.license else (),
                )
            )
        return packages
