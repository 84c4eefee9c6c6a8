"""The analyser interface and its output: packages found in one file, before layer attribution."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from services.scanning.components import Distro, Ecosystem
from services.scanning.inventory.limits import Limits


@dataclass(frozen=True, slots=True)
class Package:
    """A package read from one file; the scanner adds the layer and builds a `Component`."""

    ecosystem: Ecosystem
    name: str
    version: str
    match_name: str
    purl: str
    source_name: str | None = None
    source_version: str | None = None
    licenses: tuple[str, ...] = ()
    # Location inside the file, for packages nested in archives (``app.war!/lib/x.jar``).
    location: str = ""

    @property
    def key(self) -> str:
        """Identity used to follow a package across layers: its purl and location."""
        return f"{self.purl} {self.location}"


class Analyser(Protocol):
    """Reads one kind of package database or artefact from files of the image."""

    name: str

    def wants(self, path: str, mode: int, size: int) -> bool:
        """Return whether the layer reader should read this regular file for the analyser."""
        ...

    def extract(self, path: str, data: bytes, limits: Limits) -> object | None:
        """Parse the file into compact facts kept in the tree, or None if it contains none."""
        ...

    def packages(self, path: str, facts: object, distro: Distro | None) -> list[Package]:
        """Turn the facts of one file into packages."""
        ...
