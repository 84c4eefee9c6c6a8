"""The inventory of the real image, pulled from the real registry, equals ground truth."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from services.scanning.components import Ecosystem
from tests.scanning.conftest import scanner_for
from tests.support import images


@pytest.fixture(scope="module")
def scan(registry, real_image_reference):
    [result] = scanner_for(registry).scan_reference(real_image_reference)
    return result


def of(scan, ecosystem):
    return [component for component in scan.components if component.ecosystem == ecosystem]


def test_real_image_digest_and_platform(scan, real_image):
    assert scan.digest == real_image.manifest_digest
    assert scan.platform == "linux/amd64"
    assert scan.distro.id == "debian"
    assert scan.distro.version_id == "12"


def test_real_image_debian_equals_dpkg_query(scan, real_image):
    found = {
        (c.name, c.version, c.source_name, c.source_version) for c in of(scan, Ecosystem.DEBIAN)
    }

    assert found == real_image.dpkg_ground_truth()
    assert len(found) == len(of(scan, Ecosystem.DEBIAN))


def test_real_image_removed_package_absent(scan):
    names = {c.name for c in of(scan, Ecosystem.DEBIAN)}

    assert images.REMOVED_DEBIAN_PACKAGE not in names


def test_real_image_debian_attributed_to_base_layer(scan):
    layers = {c.layer.index for c in of(scan, Ecosystem.DEBIAN)}

    assert layers == {0}


def test_real_image_wheels_equal_installed_list(scan, real_image):
    found = {(c.name, c.version) for c in of(scan, Ecosystem.PYPI)}

    assert found == set(real_image.wheels)
    assert images.REMOVED_WHEEL not in {name for name, _ in found}
    assert {c.layer.index for c in of(scan, Ecosystem.PYPI)} == {1}


def test_real_image_go_binary_build_info(scan, real_image):
    found = {(c.name, c.version, c.path) for c in of(scan, Ecosystem.GO)}

    # The Debian build is GOPATH mode: no main module and no dependencies, so the standard
    # library of its toolchain is the only Go component (as `go version -m` shows).
    assert found == {("stdlib", real_image.go_toolchain.removeprefix("go"), real_image.go_binary)}
    assert {c.layer.index for c in of(scan, Ecosystem.GO)} == {2}


def test_real_image_go_constants_match_toolchain(real_image):
    # The expected build info is stated in tests/support/images.py. Where a Go toolchain is
    # installed (Debian package golang-go), `go version -m` must print the same. Without
    # one, the raw bytes after the build info header are checked instead.
    go = shutil.which("go")
    if go is None:
        data = Path(real_image.go_binary).read_bytes()
        start = data.find(b"\xff Go buildinf:")
        region = data[start : start + 4096]
        assert start > 0
        assert real_image.go_toolchain.encode() in region[:64]
        assert f"path\t{images.GO_BINARY_PACKAGE_PATH}\n".encode() in region
        assert b"\nmod\t" not in region
        return
    output = subprocess.run([go, "version", "-m", real_image.go_binary], check=True,
                            capture_output=True, text=True).stdout
    lines = [line.split("\t") for line in output.splitlines()[1:]]

    assert output.splitlines()[0].endswith(f": {real_image.go_toolchain}")
    assert ["", "path", images.GO_BINARY_PACKAGE_PATH] in lines
    assert not [line for line in lines if line[1] in ("mod", "dep")]


def test_real_image_nothing_else_found(scan, real_image):
    expected = len(real_image.dpkg_ground_truth()) + len(real_image.wheels) + 1

    assert len(scan.components) == expected
    assert scan.totals["components"] == expected


def test_real_image_layers_carry_history(scan):
    assert [layer.index for layer in scan.layers] == [0, 1, 2, 3]
    assert scan.layers[0].created_by.startswith("debootstrap")
    assert scan.layers[2].media_type.endswith("+zstd")
    assert scan.layers[3].media_type.endswith(".tar")
    assert len(scan.layers[3].components) == 0


def test_real_image_purls(scan):
    libc = next(c for c in scan.components if c.name == "libc6")

    assert libc.purl.startswith("pkg:deb/debian/libc6@")
    assert "distro=debian-12" in libc.purl
    assert "arch=amd64" in libc.purl


def test_real_image_checks(scan):
    results = {check.id: check for check in scan.checks}

    assert results["non-root-user"].passed
    assert not results["package-manager-leftovers"].passed
    assert "/var/cache/apt/archives" in results["package-manager-leftovers"].detail
    assert results["secure-base"].passed
    assert not results["license-files"].passed
