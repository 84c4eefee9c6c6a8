"""Uploaded image archives: `docker save` output and OCI image layout tarballs.

The archive stays a tar file in the service's own storage, and its blobs are read in
place through `tarfile`, never unpacked. An archive holding both ``index.json`` and
``manifest.json`` (Docker 25 and later write both) is read as an OCI layout, because that
names every blob by digest. The older `docker save` format records only the uncompressed
digests (diff ids) of its layers, and those are what its layers are verified against.
"""

from __future__ import annotations

import hashlib
import json
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from services.scanning.inventory.errors import ArchiveRejected, LimitExceeded
from services.scanning.inventory.filesystem import split_path
from services.scanning.inventory.limits import Limits
from services.scanning.inventory.manifests import (
    DOCKER_CONFIG,
    DOCKER_MANIFEST,
    Descriptor,
    ImageIndex,
    ImageManifest,
    Platform,
    parse_config,
    parse_manifest,
    select_manifests,
)
from services.scanning.inventory.registry import verify_digest

# An archive's own index may point at nested indexes; real ones nest one level.
MAX_INDEX_DEPTH = 4


@dataclass(frozen=True)
class ArchivedImage:
    """One image found in an archive, ready for the scanner."""

    digest: str  # manifest digest (OCI layout) or config digest, the image id (docker save)
    manifest: ImageManifest
    config: bytes
    platform: Platform | None
    tags: tuple[str, ...]
    verify_diff_ids: bool  # True when layers are named by their uncompressed digest only


class ImageArchive:
    """Random access to the blobs of an image archive on disk."""

    def __init__(self, path: Path, limits: Limits | None = None):
        self.limits = limits or Limits()
        try:
            self._tar = tarfile.open(path, mode="r:*")
            members = []
            for member in self._tar:
                members.append(member)
                self.limits.check("max_entries", len(members), f"archive {path.name}")
        except tarfile.TarError as error:
            raise ArchiveRejected(f"upload {path.name} is not a readable tar archive: {error}")
        self._members = {_normalise(member.name): member for member in members}

    def close(self) -> None:
        self._tar.close()

    def __enter__(self) -> ImageArchive:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def images(self, platforms: list[Platform] | None = None) -> list[ArchivedImage]:
        """Return every image in the archive for the requested platforms (all by default)."""
        if "index.json" in self._members:
            return self._oci_images(platforms)
        if "manifest.json" in self._members:
            return self._docker_images()
        raise ArchiveRejected(
            "archive has neither index.json (OCI image layout) nor manifest.json (docker save)"
        )

    @contextmanager
    def open_blob(self, name: str) -> Iterator[BinaryIO]:
        member = self._member(name)
        handle = self._tar.extractfile(member)
        if handle is None:
            raise ArchiveRejected(f"archive entry {name!r} is not a file")
        try:
            yield handle
        finally:
            handle.close()

    def layer_path(self, image: ArchivedImage, descriptor: Descriptor) -> str:
        """Return the archive path holding a layer of `image`."""
        if image.verify_diff_ids:
            return descriptor.annotations["path"]
        return blob_path(descriptor.digest)

    # -- OCI image layout ---------------------------------------------------------------

    def _oci_images(self, platforms: list[Platform] | None) -> list[ArchivedImage]:
        layout = self._read_json("oci-layout", self.limits.max_manifest_bytes, optional=True)
        if layout is not None and layout.get("imageLayoutVersion") != "1.0.0":
            raise ArchiveRejected(
                f"unsupported OCI imageLayoutVersion {layout.get('imageLayoutVersion')!r}"
            )
        index = parse_manifest(self._read("index.json", "max_manifest_bytes"))
        if not isinstance(index, ImageIndex):
            raise ArchiveRejected("index.json of the OCI layout is not an image index")

        images: list[ArchivedImage] = []
        self._collect(index, platforms, images, depth=0)
        return images

    def _collect(self, index: ImageIndex, platforms, images: list[ArchivedImage], depth: int):
        if depth > MAX_INDEX_DEPTH:
            raise ArchiveRejected(f"image indexes nest deeper than {MAX_INDEX_DEPTH} levels")
        for descriptor in select_manifests(index, platforms):
            body = self._read(blob_path(descriptor.digest), "max_manifest_bytes")
            verify_digest(body, descriptor.digest, f"manifest {descriptor.digest} in the archive")
            parsed = parse_manifest(body, descriptor.media_type)
            if isinstance(parsed, ImageIndex):
                self._collect(parsed, platforms, images, depth + 1)
                continue

            config = self._read(blob_path(parsed.config.digest), "max_config_bytes")
            verify_digest(config, parsed.config.digest, f"config {parsed.config.digest}")
            tag = descriptor.annotations.get("org.opencontainers.image.ref.name", "")
            images.append(
                ArchivedImage(
                    digest=descriptor.digest,
                    manifest=parsed,
                    config=config,
                    platform=descriptor.platform or _config_platform(config),
                    tags=(tag,) if tag else (),
                    verify_diff_ids=False,
                )
            )

    # -- docker save --------------------------------------------------------------------

    def _docker_images(self) -> list[ArchivedImage]:
        entries = json.loads(self._read("manifest.json", "max_manifest_bytes"))
        if not isinstance(entries, list):
            raise ArchiveRejected("manifest.json of the docker save archive is not a list")

        images = []
        for entry in entries:
            config_name = _normalise(entry.get("Config", ""))
            config = self._read(config_name, "max_config_bytes")
            diff_ids = parse_config(config).get("rootfs", {}).get("diff_ids", [])
            layer_names = [_normalise(name) for name in entry.get("Layers", [])]
            if len(diff_ids) != len(layer_names):
                raise ArchiveRejected(
                    f"config {config_name} lists {len(diff_ids)} diff ids for "
                    f"{len(layer_names)} layers"
                )

            # The layers of a docker save archive are known only by their diff ids, so the
            # manifest built here names them that way and keeps each file's path aside.
            layers = tuple(
                Descriptor(
                    media_type="application/vnd.docker.image.rootfs.diff.tar",
                    digest=diff_id,
                    size=self._member(name).size,
                    annotations={"path": name},
                )
                for diff_id, name in zip(diff_ids, layer_names, strict=True)
            )
            config_digest = "sha256:" + _sha256(config)
            manifest = ImageManifest(
                DOCKER_MANIFEST, Descriptor(DOCKER_CONFIG, config_digest, len(config)), layers
            )
            images.append(
                ArchivedImage(
                    digest=config_digest,
                    manifest=manifest,
                    config=config,
                    platform=_config_platform(config),
                    tags=tuple(entry.get("RepoTags") or ()),
                    verify_diff_ids=True,
                )
            )
        return images

    # -- reading members ----------------------------------------------------------------

    def _member(self, name: str) -> tarfile.TarInfo:
        member = self._members.get(_normalise(name))
        if member is None:
            raise ArchiveRejected(f"archive has no entry {name!r}")
        return member

    def _read(self, name: str, limit: str) -> bytes:
        member = self._member(name)
        maximum = getattr(self.limits, limit)
        if member.size > maximum:
            raise LimitExceeded(limit, maximum, name)
        with self.open_blob(name) as handle:
            return handle.read()

    def _read_json(self, name: str, maximum: int, optional: bool = False):
        if optional and _normalise(name) not in self._members:
            return None
        if self._member(name).size > maximum:
            raise LimitExceeded("max_manifest_bytes", maximum, name)
        try:
            with self.open_blob(name) as handle:
                return json.loads(handle.read())
        except json.JSONDecodeError as error:
            raise ArchiveRejected(f"archive entry {name!r} is not valid JSON: {error}")


def blob_path(digest: str) -> str:
    algorithm, _, encoded = digest.partition(":")
    if not encoded or "/" in encoded or "/" in algorithm:
        raise ArchiveRejected(f"invalid blob digest {digest!r}")
    return f"blobs/{algorithm}/{encoded}"


def _normalise(name: str) -> str:
    return "/".join(split_path(name))


def _config_platform(config: bytes) -> Platform | None:
    document = parse_config(config)
    if not document.get("os") or not document.get("architecture"):
        return None
    return Platform(document["os"], document["architecture"], document.get("variant", ""))


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
