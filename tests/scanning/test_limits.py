"""Each safety limit fails the scan with an error naming it."""

from __future__ import annotations

import pytest

from services.scanning.inventory.errors import LimitExceeded
from services.scanning.inventory.limits import Limits
from services.scanning.inventory.registry import RegistryClient
from tests.scanning.conftest import push_image, scanner_for
from tests.scanning.layerkit import apply, file, gzipped, tar


def test_max_entries_exceeded():
    layer = tar(*(file(f"f{i}") for i in range(20)))

    with pytest.raises(LimitExceeded, match="max_entries=10") as raised:
        apply(layer, limits=Limits(max_entries=10))

    assert raised.value.limit == "max_entries"


def test_max_entries_counts_across_layers():
    layers = [tar(*(file(f"l{n}f{i}") for i in range(6))) for n in range(2)]

    with pytest.raises(LimitExceeded, match="max_entries"):
        apply(*layers, limits=Limits(max_entries=10))


def test_max_decompressed_bytes_stops_gzip_bomb():
    bomb = gzipped(tar(file("zeros", bytes(50 * 1024 * 1024))))

    with pytest.raises(LimitExceeded, match="max_decompressed_bytes=1048576") as raised:
        apply(bomb, limits=Limits(max_decompressed_bytes=1024 * 1024))

    assert len(bomb) < 100_000
    assert raised.value.limit == "max_decompressed_bytes"


def test_max_file_bytes_exceeded_for_analysed_file():
    status = "Package: big\nStatus: install ok installed\nVersion: 1\n" + "X-Pad: y\n" * 500

    with pytest.raises(LimitExceeded, match="max_file_bytes=1024 exceeded at /var/lib/dpkg/status"):
        apply(tar(file("var/lib/dpkg/status", status)), limits=Limits(max_file_bytes=1024))


def test_max_file_bytes_ignores_unread_files():
    tree = apply(tar(file("data.bin", bytes(4096))), limits=Limits(max_file_bytes=1024))

    assert tree.get("/data.bin").size == 4096


def test_max_layers_exceeded(registry):
    layers = [tar(file(f"f{i}", str(i))) for i in range(3)]
    push_image(registry, "staging/limits/layers", "1", layers)

    with pytest.raises(LimitExceeded, match="max_layers=2"):
        scanner_for(registry, Limits(max_layers=2)).scan_reference(
            f"{registry.host}/staging/limits/layers:1"
        )


def test_max_manifest_bytes_exceeded(registry):
    push_image(registry, "staging/limits/manifest", "1", [tar(file("a"))])
    client = RegistryClient(registry.url, limits=Limits(max_manifest_bytes=100))

    with pytest.raises(LimitExceeded, match="max_manifest_bytes=100"):
        client.get_manifest("staging/limits/manifest", "1")


def test_max_config_bytes_exceeded(registry):
    config = {"architecture": "amd64", "os": "linux", "config": {"Env": ["PAD=" + "x" * 5000]},
              "rootfs": {"type": "layers", "diff_ids": []}}
    push_image(registry, "staging/limits/config", "1", [tar(file("a"))], config=config)

    with pytest.raises(LimitExceeded, match="max_config_bytes=1000"):
        scanner_for(registry, Limits(max_config_bytes=1000)).scan_reference(
            f"{registry.host}/staging/limits/config:1"
        )


def test_limit_error_names_limit_and_fix():
    error = LimitExceeded("max_layers", 128, "img")

    assert "max_layers=128" in str(error)
    assert "raise max_layers" in str(error)

