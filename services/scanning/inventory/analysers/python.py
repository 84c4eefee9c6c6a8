"""Python distributions from ``*.dist-info/METADATA`` and ``*.egg-info`` (file or folder)."""

from __future__ import annotations

from dataclasses import dataclass
from email.parser import HeaderParser

from packageurl import PackageURL
from packaging.utils import canonicalize_name

from services.scanning.components import Distro, Ecosystem
from services.scanning.inventory.analysers.base import Package
from services.scanning.inventory.limits import Limits

# Core metadata is a few kilobytes; the long description can make it larger.
MAX_METADATA_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Distribution:
    name: str
    version: str
    licenses: tuple[str, ...]


class PythonAnalyser:
    name = "python"

    def wants(self, path: str, mode: int, size: int) -> bool:
        if size > MAX_METADATA_BYTES:
            return False
        return (
            path.endswith(".dist-info/METADATA")
            or path.endswith(".egg-info/PKG-INFO")
            or path.endswith(".egg-info")
        )

    def extract(self, path: str, data: bytes, limits: Limits) -> Distribution | None:
        headers = HeaderParser().parsestr(data.decode("utf-8", errors="replace"), headersonly=True)
        name = (headers.get("Name") or "").strip()
        version = (headers.get("Version") or "").strip()
        if not name or not version:
            return None
        return Distribution(name, version, _licenses(headers))

    def packages(self, path: str, facts: Distribution, distro: Distro | None) -> list[Package]:
        # PEP 503 normalisation is what PyPI and OSV match on; the original name is shown.
        normalised = canonicalize_name(facts.name)
        purl = PackageURL(type="pypi", name=normalised, version=facts.version)
        return [
            Package(
                ecosystem=Ecosystem.PYPI,
                name=facts.name,
                version=facts.version,
                match_name=normalised,
                purl=purl.to_string(),
                licenses=facts.licenses,
            )
        ]


def _licenses(headers) -> tuple[str, ...]:
    expression = (headers.get("License-Expression") or "").strip()
    if expression:
        return (expression,)
    classifiers = [
        value.split("::")[-1].strip()
        for value in headers.get_all("Classifier") or []
        if value.startswith("License ::")
    ]
    if classifiers:
        return tuple(classifiers)
    license_field = (headers.get("License") or "").strip()
    # Some projects paste their whole licence text here; keep only a short name.
    if license_field and "\n" not in license_field and len(license_field) <= 100:
        return (license_field,)
    return ()
