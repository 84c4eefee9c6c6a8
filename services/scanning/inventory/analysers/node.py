"""npm packages from ``package.json`` files under ``node_modules``.

Nested and duplicate versions are all kept, since each is installed code. A
``package.json`` without a name and version (a stub some packages ship for subpath
exports) is not a package.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from packageurl import PackageURL

from services.scanning.components import Distro, Ecosystem
from services.scanning.inventory.analysers.base import Package
from services.scanning.inventory.limits import Limits

MAX_PACKAGE_JSON_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class NodePackage:
    name: str
    version: str
    license: str


class NodeAnalyser:
    name = "node"

    def wants(self, path: str, mode: int, size: int) -> bool:
        if size > MAX_PACKAGE_JSON_BYTES or not path.endswith("/package.json"):
            return False
        parts = path.split("/")
        # .../node_modules/<name>/package.json or .../node_modules/@scope/<name>/package.json
        return (len(parts) >= 3 and parts[-3] == "node_modules") or (
            len(parts) >= 4 and parts[-4] == "node_modules" and parts[-3].startswith("@")
        )

    def extract(self, path: str, data: bytes, limits: Limits) -> NodePackage | None:
        document = json.loads(data.decode("utf-8", errors="replace"))
        if not isinstance(document, dict):
            return None
        name = document.get("name")
        version = document.get("version")
        if not isinstance(name, str) or not isinstance(version, str) or not name or not version:
            return None
        return NodePackage(name, version, _license(document.get("license")))

    def packages(self, path: str, facts: NodePackage, distro: Distro | None) -> list[Package]:
        namespace, _, name = facts.name.rpartition("/")
        purl = PackageURL(type="npm", namespace=namespace or None, name=name, version=facts.version)
        return [
            Package(
                ecosystem=Ecosystem.NPM,
                name=facts.name,
                version=facts.version,
                match_name=facts.name,
                purl=purl.to_string(),
                licenses=(facts.license,) if facts.license else (),
            )
        ]


def _license(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("type"), str):
        return value["type"]
    return ""
