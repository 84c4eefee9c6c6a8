"""The component record that the inventory produces and the vulnerability matcher reads.

Both halves of the scanner meet here: layer analysers fill these records in, the
database stores them per scan, and matching reads them back without pulling the image.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Ecosystem(StrEnum):
    """Package ecosystems, spelled as OSV spells them (without the release suffix)."""

    DEBIAN = "Debian"
    UBUNTU = "Ubuntu"
    ALPINE = "Alpine"
    PYPI = "PyPI"
    NPM = "npm"
    GO = "Go"
    MAVEN = "Maven"


@dataclass(frozen=True, slots=True)
class Distro:
    """The operating system of an image, read from /etc/os-release."""

    id: str  # os-release ID, e.g. "debian", "alpine", "ubuntu"
    version_id: str  # os-release VERSION_ID, e.g. "12", "3.20.1", "24.04"
    pretty_name: str = ""


@dataclass(frozen=True, slots=True)
class LayerRef:
    """The layer that introduced a component."""

    digest: str  # digest of the compressed blob, as named in the manifest
    index: int  # 0 is the bottom layer
    created_by: str = ""  # the image history entry for this layer, when present


@dataclass(frozen=True, slots=True)
class Component:
    """One installed package found in an image.

    `name` is the name as installed, for display. `match_name` is the name the
    vulnerability database uses: PEP 503 normalised for PyPI, the module path for Go,
    `group:artifact` for Maven. For distribution packages, `source_name` and
    `source_version` name the source package, which is what Debian, Ubuntu and Alpine
    advisories are written against.
    """

    ecosystem: Ecosystem
    name: str
    version: str
    match_name: str
    purl: str
    layer: LayerRef
    path: str  # file the component was read from, inside the image
    source_name: str | None = None
    source_version: str | None = None
    licenses: tuple[str, ...] = field(default_factory=tuple)
