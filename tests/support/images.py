"""Build a real four-layer container image without a Docker engine, for tests and benchmarks.

The image is written as an OCI image layout by hand and cached under
``${WHARF_CACHE_DIR:-~/.cache/wharf}``, so only the first run pays for debootstrap and the
wheel downloads. Its layers:

0. a Debian bookworm minbase root filesystem from ``debootstrap`` (gzip);
1. real wheels from PyPI installed with ``pip install --no-deps --target`` (gzip);
2. a real Go binary taken from the Debian package ``docker-registry`` (zstd);
3. a layer that removes the Debian package ``hostname`` (its files, its ``info`` files and
   its status entry) and whites out the ``click`` package directories (plain tar).

``RealImage`` carries the ground truth a test compares an inventory with. The building
blocks (debootstrap, wheels, layers, the OCI layout, skopeo) are the product's own, in
``wharf/demo/images.py``, which the demo builds its images with as well.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from wharf.demo.images import (  # noqa: F401 - re-exported for the scanning tests and benchmark
    LAYER_GZIP,
    LAYER_PLAIN,
    LAYER_ZSTD,
    LayerSpec,
    cache_dir,
    compress,
    debootstrap_rootfs,
    downloaded_wheels,
    dpkg_installed,
    install_wheels,
    push_oci_layout,
    removal_layer,
    require_tool,
    sha256_digest,
    tar_directory,
    write_oci_layout,
)

# Bump when the recipe below changes, so a stale cached image is not reused.
RECIPE_VERSION = "1"

SITE_PACKAGES = "opt/app/site-packages"
WHEELS: tuple[tuple[str, str], ...] = (
    ("Jinja2", "2.10"),
    ("urllib3", "1.24.1"),
    ("requests", "2.19.1"),
    ("Werkzeug", "0.15.3"),
    ("Flask", "0.12.2"),
    ("idna", "2.7"),
    ("certifi", "2018.8.24"),
    ("itsdangerous", "0.24"),
    ("click", "6.7"),
)
GO_BINARY = "/usr/bin/docker-registry"
# Build info of /usr/bin/docker-registry 2.8.2+ds1-1 in Debian bookworm, as `go version -m`
# of golang-go 1.19 prints it. Debian builds in GOPATH mode, so the binary names its package
# path but no module and no dependencies. Only the Go standard library is versioned.
GO_BINARY_TOOLCHAIN = "go1.19.8"
GO_BINARY_PACKAGE_PATH = "github.com/docker/distribution/cmd/registry"
REMOVED_DEBIAN_PACKAGE = "hostname"
WHITED_OUT_DIRECTORIES = (f"{SITE_PACKAGES}/click", f"{SITE_PACKAGES}/click-6.7.dist-info")
REMOVED_WHEEL = "click"


# ---------------------------------------------------------------------------------------
# The real test image


@dataclass(frozen=True)
class RealImage:
    """The cached real image and what a correct scan of it must find."""

    layout: Path
    tag: str
    manifest_digest: str
    final_dpkg_admindir: Path  # dpkg database of the final file tree
    wheels: tuple[tuple[str, str], ...]  # (name, version) present in the final tree
    go_binary: str
    go_toolchain: str

    def dpkg_ground_truth(self) -> set[tuple[str, str, str, str]]:
        """Return (package, version, source, source version) from dpkg-query itself."""
        return dpkg_installed(self.final_dpkg_admindir)


def real_image() -> RealImage:
    """Return the real test image, building and caching it on first use."""
    folder = cache_dir() / "images" / f"real-v{RECIPE_VERSION}"
    record = folder / "image.json"
    if record.exists():
        return _load_real_image(folder, json.loads(record.read_text()))

    rootfs = debootstrap_rootfs()
    wheels = downloaded_wheels(WHEELS)
    if not Path(GO_BINARY).exists():
        raise RuntimeError(f"{GO_BINARY} is missing: install it with `apt-get install docker-registry`")

    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    work = Path(tempfile.mkdtemp(prefix="real-image-", dir=folder))
    try:
        site_packages = work / "site-packages"
        install_wheels(wheels, site_packages)
        go_layer = work / "go"
        (go_layer / "usr/bin").mkdir(parents=True)
        shutil.copy2(GO_BINARY, go_layer / GO_BINARY.lstrip("/"))

        removal, final_status = removal_layer(rootfs, REMOVED_DEBIAN_PACKAGE, WHITED_OUT_DIRECTORIES)
        layers = [
            LayerSpec(tar_directory(rootfs), LAYER_GZIP,
                      "debootstrap --variant=minbase bookworm"),
            LayerSpec(tar_directory(site_packages, prefix=SITE_PACKAGES), LAYER_GZIP,
                      f"pip install --no-deps --target /{SITE_PACKAGES} " + " ".join(
                          f"{name}=={version}" for name, version in WHEELS)),
            LayerSpec(tar_directory(go_layer), LAYER_ZSTD, f"COPY {GO_BINARY} {GO_BINARY}"),
            LayerSpec(removal, LAYER_PLAIN,
                      f"dpkg --purge {REMOVED_DEBIAN_PACKAGE} && rm -rf "
                      + " ".join(f"/{path}" for path in WHITED_OUT_DIRECTORIES)),
        ]
    finally:
        shutil.rmtree(work)

    tag = "1.0"
    digest = write_oci_layout(
        folder / "layout",
        layers,
        tag=tag,
        config_overrides={
            "User": "1000:1000",
            "Labels": {"name": "wharf-test", "vendor": "Wharf", "version": "1.0"},
        },
    )
    admindir = folder / "dpkg"
    admindir.mkdir()
    (admindir / "status").write_bytes(final_status)

    metadata = {"tag": tag, "manifest_digest": digest}
    record.write_text(json.dumps(metadata))
    return _load_real_image(folder, metadata)


def _load_real_image(folder: Path, metadata: dict) -> RealImage:
    wheels = tuple((name, version) for name, version in WHEELS if name != REMOVED_WHEEL)
    return RealImage(
        layout=folder / "layout",
        tag=metadata["tag"],
        manifest_digest=metadata["manifest_digest"],
        final_dpkg_admindir=folder / "dpkg",
        wheels=wheels,
        go_binary=GO_BINARY,
        go_toolchain=GO_BINARY_TOOLCHAIN,
    )
