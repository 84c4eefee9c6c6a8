"""Uploaded archives: OCI image layout tarballs and `docker save` output."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from services.scanning.components import Ecosystem
from services.scanning.inventory.errors import ArchiveRejected, DigestMismatch, ManifestRejected
from services.scanning.inventory.scanner import Scanner
from tests.scanning.layerkit import digest_of, file, gzipped, tar

OS_RELEASE = "ID=alpine\nVERSION_ID=3.19.0\n"
APK_DB = "P:zlib\nV:1.3.1-r0\nA:x86_64\no:zlib\n\n"


def write_tar(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def small_image() -> tuple[bytes, bytes]:
    layer = tar(file("etc/os-release", OS_RELEASE), file("lib/apk/db/installed", APK_DB))
    config = json.dumps({
        "architecture": "amd64", "os": "linux", "config": {"User": "app"},
        "rootfs": {"type": "layers", "diff_ids": [digest_of(layer)]},
        "history": [{"created_by": "ADD rootfs.tar /"}],
    }).encode()
    return layer, config


def oci_layout_members(layer_blob: bytes, config: bytes, manifest_override: bytes | None = None):
    manifest = manifest_override or json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": digest_of(config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": digest_of(layer_blob), "size": len(layer_blob)}],
    }).encode()
    index = json.dumps({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": digest_of(manifest), "size": len(manifest),
        "annotations": {"org.opencontainers.image.ref.name": "2.1"},
    }]}).encode()
    blob = lambda data: f"blobs/sha256/{digest_of(data).split(':')[1]}"  # noqa: E731
    return {
        "oci-layout": b'{"imageLayoutVersion": "1.0.0"}',
        "index.json": index,
        blob(manifest): manifest,
        blob(config): config,
        blob(layer_blob): layer_blob,
    }


def test_oci_layout_archive_of_real_image(tmp_path, real_image):
    archive = tmp_path / "real.tar"
    with tarfile.open(archive, "w") as tar_file:
        tar_file.add(real_image.layout, arcname=".")

    [scan] = Scanner().scan_archive(archive)

    debian = {(c.name, c.version, c.source_name, c.source_version)
              for c in scan.components if c.ecosystem == Ecosystem.DEBIAN}
    wheels = {(c.name, c.version) for c in scan.components if c.ecosystem == Ecosystem.PYPI}
    assert scan.digest == real_image.manifest_digest
    assert debian == real_image.dpkg_ground_truth()
    assert wheels == set(real_image.wheels)


def test_oci_layout_archive_small_image(tmp_path):
    layer, config = small_image()
    archive = write_tar(tmp_path / "oci.tar", oci_layout_members(gzipped(layer), config))

    [scan] = Scanner().scan_archive(archive)

    assert scan.platform == "linux/amd64"
    assert [c.purl for c in scan.components] == [
        "pkg:apk/alpine/zlib@1.3.1-r0?arch=x86_64&distro=alpine-3.19.0"
    ]
    assert scan.layers[0].created_by == "ADD rootfs.tar /"
    assert {check.id: check.passed for check in scan.checks}["versioned-tag"]


def test_oci_layout_blob_tampered(tmp_path):
    layer, config = small_image()
    blob = gzipped(layer)
    members = oci_layout_members(blob, config)
    tampered = gzipped(tar(file("etc/os-release", "ID=evil\n")))
    members[f"blobs/sha256/{digest_of(blob).split(':')[1]}"] = tampered
    archive = write_tar(tmp_path / "tampered.tar", members)

    with pytest.raises(DigestMismatch, match=f"not {digest_of(blob)}"):
        Scanner().scan_archive(archive)


def test_oci_layout_schema1_manifest_rejected(tmp_path):
    layer, config = small_image()
    schema1 = json.dumps({"schemaVersion": 1, "name": "x", "tag": "1", "fsLayers": []}).encode()
    archive = write_tar(tmp_path / "old.tar", oci_layout_members(gzipped(layer), config, schema1))

    with pytest.raises(ManifestRejected, match="schema 1"):
        Scanner().scan_archive(archive)


def test_docker_save_archive(tmp_path):
    layer, config = small_image()
    config_name = f"{digest_of(config).split(':')[1]}.json"
    manifest = json.dumps([{
        "Config": config_name,
        "RepoTags": ["acme/app:3.0"],
        "Layers": ["0123/layer.tar"],
    }]).encode()
    archive = write_tar(tmp_path / "saved.tar", {
        "manifest.json": manifest, config_name: config, "0123/layer.tar": layer,
    })

    [scan] = Scanner().scan_archive(archive)

    assert scan.digest == digest_of(config)
    assert [c.name for c in scan.components] == ["zlib"]
    assert scan.layers[0].digest == digest_of(layer)


def test_docker_save_layer_not_matching_diff_id(tmp_path):
    layer, config = small_image()
    manifest = json.dumps([{"Config": "c.json", "RepoTags": [], "Layers": ["l/layer.tar"]}]).encode()
    other = tar(file("etc/os-release", "ID=debian\n"))
    archive = write_tar(tmp_path / "saved.tar", {
        "manifest.json": manifest, "c.json": config, "l/layer.tar": other,
    })

    with pytest.raises(DigestMismatch, match="uncompressed hashes to"):
        Scanner().scan_archive(archive)


def test_archive_without_index_rejected(tmp_path):
    archive = write_tar(tmp_path / "junk.tar", {"hello.txt": b"hi"})

    with pytest.raises(ArchiveRejected, match="neither index.json"):
        Scanner().scan_archive(archive)


def test_archive_not_tar_rejected(tmp_path):
    path = tmp_path / "junk.bin"
    path.write_bytes(b"not a tar at all" * 100)

    with pytest.raises(ArchiveRejected, match="not a readable tar archive"):
        Scanner().scan_archive(path)
