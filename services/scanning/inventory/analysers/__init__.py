"""Analysers that find installed packages in an image's files."""

from __future__ import annotations

from services.scanning.inventory.analysers.apk import ApkAnalyser
from services.scanning.inventory.analysers.base import Analyser, Package
from services.scanning.inventory.analysers.dpkg import DpkgAnalyser
from services.scanning.inventory.analysers.golang import GoBinaryAnalyser
from services.scanning.inventory.analysers.java import JavaArchiveAnalyser
from services.scanning.inventory.analysers.node import NodeAnalyser
from services.scanning.inventory.analysers.osrelease import OsReleaseAnalyser
from services.scanning.inventory.analysers.python import PythonAnalyser


def default_analysers() -> list[Analyser]:
    """Return one instance of every analyser, the operating system one included."""
    return [
        OsReleaseAnalyser(),
        DpkgAnalyser(),
        ApkAnalyser(),
        PythonAnalyser(),
        NodeAnalyser(),
        GoBinaryAnalyser(),
        JavaArchiveAnalyser(),
    ]


__all__ = ["Analyser", "Package", "default_analysers"]
