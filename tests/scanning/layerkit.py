"""Hand-made layers for edge-case tests: build tar entries, apply them to a file tree."""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from dataclasses import dataclass

import zstandard

from services.scanning.inventory.analysers import default_analysers
from services.scanning.inventory.filesystem import FileTree
from services.scanning.inventory.layers import LayerStats, ScanBudget, read_layer
from services.scanning.inventory.limits import Limits


@dataclass(frozen=True)
class Entry:
    name: str
    kind: bytes = tarfile.REGTYPE
    data: bytes = b""
    mode: int = 0o644
    link: str = ""


def file(name: str, data: bytes | str = b"", mode: int = 0o644) -> Entry:
    return Entry(name, tarfile.REGTYPE, data.encode() if isinstance(data, str) else data, mode)


def directory(name: str) -> Entry:
    return Entry(name, tarfile.DIRTYPE, mode=0o755)


def symlink(name: str, target: str) -> Entry:
    return Entry(name, tarfile.SYMTYPE, mode=0o777, link=target)


def hardlink(name: str, target: str) -> Entry:
    return Entry(name, tarfile.LNKTYPE, link=target)


def tar(*entries: Entry) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for entry in entries:
            info = tarfile.TarInfo(entry.name)
            info.type = entry.kind
            info.mode = entry.mode
            info.linkname = entry.link
            info.size = len(entry.data) if entry.kind == tarfile.REGTYPE else 0
            archive.addfile(info, io.BytesIO(entry.data) if info.size else None)
    return buffer.getvalue()


def gzipped(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def zstd(data: bytes) -> bytes:
    return zstandard.ZstdCompressor().compress(data)


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def apply(
    *blobs: bytes,
    limits: Limits | None = None,
    tree: FileTree | None = None,
    digests: list[str] | None = None,
) -> FileTree:
    """Apply layer blobs in order to a tree, with every analyser, and return the tree."""
    tree = tree if tree is not None else FileTree()
    budget = ScanBudget(limits or Limits())
    for index, blob in enumerate(blobs):
        read_layer(
            io.BytesIO(blob),
            index=index,
            tree=tree,
            analysers=default_analysers(),
            budget=budget,
            digest=digests[index] if digests else digest_of(blob),
        )
    return tree


def stats_of(blob: bytes) -> LayerStats:
    return read_layer(
        io.BytesIO(blob),
        index=0,
        tree=FileTree(),
        analysers=default_analysers(),
        budget=ScanBudget(Limits()),
        digest=digest_of(blob),
    )
