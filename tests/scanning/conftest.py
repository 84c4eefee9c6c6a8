"""Fixtures for the scanning tests: the real registry, the real image, hand-made images."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from services.scanning.inventory.limits import Limits
from services.scanning.inventory.manifests import OCI_CONFIG, OCI_MANIFEST
from services.scanning.inventory.registry import RegistryClient
from services.scanning.inventory.scanner import Scanner
from tests.scanning.layerkit import digest_of, gzipped
from tests.support import images
from tests.support.registry import RegistryServer, push_blob, push_manifest

GZIP_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


@pytest.fixture(scope="session")
def registry(tmp_path_factory) -> Iterator[RegistryServer]:
    with RegistryServer(tmp_path_factory.mktemp("registry")) as server:
        yield server


@pytest.fixture(scope="session")
def real_image() -> images.RealImage:
    return images.real_image()


@pytest.fixture(scope="session")
def real_image_reference(registry, real_image) -> str:
    destination = f"{registry.host}/staging/acme/real:{real_image.tag}"
    digest = images.push_oci_layout(real_image.layout, real_image.tag, destination)
    assert digest == real_image.manifest_digest
    return destination


def scanner_for(registry: RegistryServer, limits: Limits | None = None) -> Scanner:
    return Scanner(registry=RegistryClient(registry.url, limits=limits))


def push_image(
    registry: RegistryServer,
    repository: str,
    tag: str,
    layer_tars: list[bytes],
    *,
    config: dict | None = None,
    layer_descriptors: list[dict] | None = None,
    config_media_type: str = OCI_CONFIG,
) -> tuple[str, bytes]:
    """Push a hand-made image (gzip layers) and return its manifest digest and body."""
    blobs = [gzipped(layer) for layer in layer_tars]
    descriptors = layer_descriptors or []
    for blob in blobs:
        push_blob(registry.url, repository, blob)
        descriptors.append({"mediaType": GZIP_LAYER, "digest": digest_of(blob), "size": len(blob)})

    document = {
        "architecture": "amd64",
        "os": "linux",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": [digest_of(layer) for layer in layer_tars]},
        "history": [],
    }
    if config is not None:
        document = config
    config_bytes = json.dumps(document).encode()
    push_blob(registry.url, repository, config_bytes)

    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": config_media_type,
            "digest": digest_of(config_bytes),
            "size": len(config_bytes),
        },
        "layers": descriptors,
    }
    body = json.dumps(manifest).encode()
    response = push_manifest(registry.url, repository, tag, body, OCI_MANIFEST)
    assert response.status_code == 201, response.text
    return digest_of(body), body

