"""Small real OCI images built by hand: one tar layer, a config and a manifest.

Each call writes a fresh OCI image layout with unique layer content, so every image has
its own digest. `skopeo copy oci:<dir>:<tag> docker://...` pushes it like any client.
"""

from __future__ import annotations

import hashlib
import io
import json
import secrets
import tarfile
from dataclasses import dataclass
from pathlib import Path

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"


@dataclass(frozen=True)
class OciImage:
    layout: Path
    tag: str
    digest: str  # of the top-level manifest or index
    platform_digests: tuple[str, ...] = ()

    @property
    def reference(self) -> str:
        return f"oci:{self.layout}:{self.tag}"


def _write_blob(layout: Path, content: bytes) -> dict:
    digest = hashlib.sha256(content).hexdigest()
    path = layout / "blobs" / "sha256" / digest
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return {"digest": f"sha256:{digest}", "size": len(content)}


def _layer(text: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        data = text.encode()
        info = tarfile.TarInfo("etc/wharf-test.txt")
        info.size = len(data)
        info.mtime = 0
        archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _platform_manifest(layout: Path, architecture: str) -> dict:
    layer = _layer(f"wharf test image {architecture} {secrets.token_hex(16)}\n")
    layer_blob = _write_blob(layout, layer)
    config = {
        "architecture": architecture,
        "os": "linux",
        "config": {"Cmd": ["/bin/true"]},
        "rootfs": {"type": "layers", "diff_ids": [layer_blob["digest"]]},
    }
    config_blob = _write_blob(layout, json.dumps(config).encode())
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, **config_blob},
        "layers": [{"mediaType": OCI_LAYER, **layer_blob}],
    }
    manifest_blob = _write_blob(layout, json.dumps(manifest).encode())
    return {
        "mediaType": OCI_MANIFEST,
        **manifest_blob,
        "platform": {"architecture": architecture, "os": "linux"},
    }


def build_image(directory: Path, *, tag: str = "latest", architectures: tuple[str, ...] = ("amd64",)) -> OciImage:
    """Write an OCI layout with one image, or an index of several platforms."""
    layout = directory / f"image-{secrets.token_hex(4)}"
    layout.mkdir(parents=True)
    (layout / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))

    platforms = [_platform_manifest(layout, architecture) for architecture in architectures]
    if len(platforms) == 1:
        top = platforms[0]
        platform_digests: tuple[str, ...] = ()
    else:
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": platforms}
        top = {"mediaType": OCI_INDEX, **_write_blob(layout, json.dumps(index).encode())}
        platform_digests = tuple(p["digest"] for p in platforms)

    reference = {
        "mediaType": top["mediaType"],
        "digest": top["digest"],
        "size": top["size"],
        "annotations": {"org.opencontainers.image.ref.name": tag},
    }
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [reference]}))
    return OciImage(layout=layout, tag=tag, digest=top["digest"], platform_digests=platform_digests)
