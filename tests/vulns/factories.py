"""Small builders of components, inventories and OSV records for the vulnerability tests."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from packaging.utils import canonicalize_name

from services.scanning.components import Component, Distro, Ecosystem, LayerRef
from services.scanning.vulns.assessment import ImageInventory

BASE_LAYER = LayerRef(digest="sha256:" + "1" * 64, index=0, created_by="debootstrap bookworm")
APP_LAYER = LayerRef(digest="sha256:" + "2" * 64, index=1, created_by="pip install -r requirements.txt")
BOOKWORM = Distro(id="debian", version_id="12", pretty_name="Debian GNU/Linux 12 (bookworm)")


def wheel(name: str, version: str, layer: LayerRef = APP_LAYER) -> Component:
    """A Python distribution installed from a wheel, as the inventory reports it."""
    site = "/usr/local/lib/python3.11/site-packages"
    return Component(
        ecosystem=Ecosystem.PYPI,
        name=name,
        version=version,
        match_name=canonicalize_name(name),
        purl=f"pkg:pypi/{canonicalize_name(name)}@{version}",
        layer=layer,
        path=f"{site}/{name.replace('-', '_')}-{version}.dist-info/METADATA",
    )


def go_module(module: str, version: str, layer: LayerRef = APP_LAYER) -> Component:
    """A Go module read from a binary's build information."""
    return Component(
        ecosystem=Ecosystem.GO,
        name=module,
        version=version,
        match_name=module,
        purl=f"pkg:golang/{module}@{version}",
        layer=layer,
        path="/usr/local/bin/server",
    )


def deb(
    name: str,
    version: str,
    source: str | None = None,
    source_version: str | None = None,
    layer: LayerRef = BASE_LAYER,
    ecosystem: Ecosystem = Ecosystem.DEBIAN,
) -> Component:
    """A package from the dpkg status file; `source` names its source package if different."""
    distro = "ubuntu" if ecosystem is Ecosystem.UBUNTU else "debian"
    return Component(
        ecosystem=ecosystem,
        name=name,
        version=version,
        match_name=name,
        purl=f"pkg:deb/{distro}/{name}@{version}",
        layer=layer,
        path="/var/lib/dpkg/status",
        source_name=source,
        source_version=source_version,
    )


def apk(name: str, version: str, origin: str | None = None, layer: LayerRef = BASE_LAYER) -> Component:
    """A package from the apk installed database; `origin` is its source package."""
    return Component(
        ecosystem=Ecosystem.ALPINE,
        name=name,
        version=version,
        match_name=name,
        purl=f"pkg:apk/alpine/{name}@{version}",
        layer=layer,
        path="/lib/apk/db/installed",
        source_name=origin,
        source_version=version if origin else None,
    )


def inventory(components, distro: Distro | None = BOOKWORM, organization_id=None) -> ImageInventory:
    image_id = uuid.uuid4()
    return ImageInventory(
        image_id=image_id,
        organization_id=organization_id or uuid.uuid4(),
        reference=f"staging/acme/app@sha256:{image_id.hex * 2}",
        distro=distro,
        components=tuple(components),
    )


def osv_record(
    record_id: str,
    ecosystem: str,
    package: str,
    events: list[dict[str, str]],
    *,
    aliases: tuple[str, ...] = (),
    versions: tuple[str, ...] = (),
    range_type: str = "ECOSYSTEM",
    severity: list[dict[str, str]] | None = None,
    withdrawn: str | None = None,
    modified: str = "2024-01-01T00:00:00Z",
) -> dict:
    """An OSV record with one affected package and one range."""
    record: dict = {
        "schema_version": "1.6.0",
        "id": record_id,
        "modified": modified,
        "published": "2024-01-01T00:00:00Z",
        "aliases": list(aliases),
        "summary": f"test advisory {record_id}",
        "affected": [
            {
                "package": {"ecosystem": ecosystem, "name": package},
                "ranges": [{"type": range_type, "events": events}] if events else [],
                "versions": list(versions),
            }
        ],
        "references": [{"type": "ADVISORY", "url": f"https://example.org/{record_id}"}],
    }
    if severity:
        record["severity"] = severity
    if withdrawn:
        record["withdrawn"] = withdrawn
    return record


def write_feed(folder: Path, records: list[dict]) -> Path:
    """Write records as a feed folder of `<id>.json` files and return the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.json"):
        old.unlink()
    for record in records:
        (folder / f"{record['id']}.json").write_text(json.dumps(record, indent=2))
    return folder
