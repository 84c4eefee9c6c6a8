"""Image manifests, indexes and configs: parsing, and the kinds the scanner rejects.

Accepted: Docker image manifest v2 schema 2 and manifest lists, OCI image manifests and
indexes, and Docker managed-plugin manifests (their config is the plugin's config.json).
Rejected with `ManifestRejected`: schema 1 manifests (unsigned or signed), foreign or
non-distributable layers (their content lives on another host), and artefacts that are
not images.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from services.scanning.inventory.errors import ManifestRejected

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
SCHEMA1_TYPES = frozenset(
    {
        "application/vnd.docker.distribution.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
    }
)
MANIFEST_TYPES = (DOCKER_MANIFEST, OCI_MANIFEST)
INDEX_TYPES = (DOCKER_MANIFEST_LIST, OCI_INDEX)
ACCEPT_HEADER = ", ".join((*INDEX_TYPES, *MANIFEST_TYPES))

DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
PLUGIN_CONFIG = "application/vnd.docker.plugin.v1+json"
CONFIG_TYPES = frozenset({DOCKER_CONFIG, OCI_CONFIG, PLUGIN_CONFIG})

LAYER_TYPES = frozenset(
    {
        "application/vnd.docker.image.rootfs.diff.tar.gzip",
        "application/vnd.docker.image.rootfs.diff.tar.zstd",
        "application/vnd.oci.image.layer.v1.tar",
        "application/vnd.oci.image.layer.v1.tar+gzip",
        "application/vnd.oci.image.layer.v1.tar+zstd",
    }
)
FOREIGN_LAYER_TYPES = frozenset(
    {
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
        "application/vnd.oci.image.layer.nondistributable.v1.tar",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    }
)


@dataclass(frozen=True, slots=True)
class Platform:
    os: str
    architecture: str
    variant: str = ""

    def __str__(self) -> str:
        return "/".join(part for part in (self.os, self.architecture, self.variant) if part)

    @classmethod
    def parse(cls, text: str) -> Platform:
        """Parse ``os/architecture[/variant]``, as `docker --platform` takes it."""
        parts = text.split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise ValueError(f"invalid platform {text!r}: expected os/architecture[/variant]")
        return cls(*parts)


@dataclass(frozen=True, slots=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    platform: Platform | None = None
    urls: tuple[str, ...] = ()
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ImageManifest:
    media_type: str
    config: Descriptor
    layers: tuple[Descriptor, ...]

    @property
    def is_plugin(self) -> bool:
        return self.config.media_type == PLUGIN_CONFIG


@dataclass(frozen=True, slots=True)
class ImageIndex:
    media_type: str
    manifests: tuple[Descriptor, ...]


def parse_manifest(body: bytes, media_type: str = "") -> ImageManifest | ImageIndex:
    """Parse a manifest or index, rejecting schema 1 and foreign layers."""
    document = _load_json(body, "manifest")
    declared = document.get("mediaType") or media_type

    if declared in SCHEMA1_TYPES or document.get("schemaVersion") == 1:
        raise ManifestRejected(
            "Docker image manifest schema 1 is not supported: push the image again with a "
            "current client, which writes schema 2 or OCI manifests"
        )
    if document.get("schemaVersion") != 2:
        raise ManifestRejected(f"unsupported manifest schemaVersion {document.get('schemaVersion')!r}")

    if declared in INDEX_TYPES or ("manifests" in document and "layers" not in document):
        manifests = tuple(_descriptor(entry) for entry in document.get("manifests") or [])
        return ImageIndex(declared or OCI_INDEX, manifests)

    if "config" not in document or not isinstance(document.get("layers"), list):
        raise ManifestRejected(f"manifest of type {declared!r} has no config or layers")

    config = _descriptor(document["config"])
    if config.media_type not in CONFIG_TYPES:
        raise ManifestRejected(
            f"config media type {config.media_type!r} is not an image or plugin config"
        )

    layers = tuple(_descriptor(entry) for entry in document["layers"])
    for index, layer in enumerate(layers):
        if layer.media_type in FOREIGN_LAYER_TYPES or layer.urls:
            raise ManifestRejected(
                f"layer {index} ({layer.digest}) is a foreign layer of type "
                f"{layer.media_type!r}: its content is hosted elsewhere and is not scanned"
            )
        if layer.media_type not in LAYER_TYPES:
            raise ManifestRejected(
                f"layer {index} ({layer.digest}) has media type {layer.media_type!r}, "
                "which is not an image layer"
            )
    return ImageManifest(declared or OCI_MANIFEST, config, layers)


def parse_config(body: bytes) -> dict[str, Any]:
    return _load_json(body, "image config")


def select_manifests(index: ImageIndex, platforms: list[Platform] | None) -> list[Descriptor]:
    """Return the image manifests of an index for the requested platforms (all by default).

    Attestation manifests (platform ``unknown/unknown``) are not images and are skipped.
    """
    selected = []
    for descriptor in index.manifests:
        platform = descriptor.platform
        if platform is not None and platform.os == "unknown":
            continue
        if descriptor.annotations.get("vnd.docker.reference.type") == "attestation-manifest":
            continue
        if platforms is not None and not any(_matches(wanted, platform) for wanted in platforms):
            continue
        selected.append(descriptor)
    return selected


def _matches(requested: Platform, actual: Platform | None) -> bool:
    """Match a requested platform; one without a variant accepts every variant."""
    if actual is None:
        return False
    if (requested.os, requested.architecture) != (actual.os, actual.architecture):
        return False
    return not requested.variant or requested.variant == actual.variant


def _descriptor(entry: Any) -> Descriptor:
    if not isinstance(entry, dict) or not isinstance(entry.get("digest"), str):
        raise ManifestRejected(f"invalid descriptor {str(entry)[:200]!r}: digest missing")
    platform = None
    if isinstance(entry.get("platform"), dict):
        raw = entry["platform"]
        platform = Platform(raw.get("os", ""), raw.get("architecture", ""), raw.get("variant", ""))
    size = entry.get("size", 0)
    return Descriptor(
        media_type=entry.get("mediaType", ""),
        digest=entry["digest"],
        size=size if isinstance(size, int) else 0,
        platform=platform,
        urls=tuple(entry.get("urls") or ()),
        annotations=dict(entry.get("annotations") or {}),
    )


def _load_json(body: bytes, what: str) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ManifestRejected(f"{what} is not valid JSON: {error}") from error
    if not isinstance(document, dict):
        raise ManifestRejected(f"{what} is not a JSON object")
    return document
