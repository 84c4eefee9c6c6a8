"""The demo product's images: one vulnerable release and two fixes, built from real parts.

Every image has the same four layers: the Debian bookworm minbase root filesystem, the
Python wheels of the release, the Go binary of Debian's `docker-registry` package, and
the application layer (a non-root user and the licence texts). Only the wheels differ
between releases, so the three images share three of their four layers.

The minbase root filesystem has no Python interpreter: the wheels are there to be found
by the scan, and the image's command runs the Go binary.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from wharf.demo import images

# Bump when a recipe changes, so stale cached layers are not reused.
RECIPE_VERSION = "2"
SITE_PACKAGES = "opt/app/site-packages"
APP_USER = "app"
APP_UID = 1000


@dataclass(frozen=True)
class Release:
    """One build of the demo product: its layout tag and the wheels it ships."""

    tag: str
    wheels: tuple[tuple[str, str], ...]
    summary: str


# The first release carries wheels with published Critical and Major advisories.
VULNERABLE = Release(
    tag="1.0-vulnerable",
    wheels=(("Jinja2", "2.10"), ("urllib3", "1.24.1"), ("requests", "2.19.1"), ("Flask", "0.12.2")),
    summary="old wheels with known Critical and Major advisories",
)
# The fix for the review. urllib3 1.26.16 has no advisory modified before October 2023,
# but CVE-2023-43804 (CVSS 8.1) and CVE-2023-45803 came out that month.
REVIEWED = Release(
    tag="1.0-fixed",
    wheels=(("Jinja2", "3.1.4"), ("urllib3", "1.26.16"), ("requests", "2.31.0"), ("Flask", "2.2.5")),
    summary="newer wheels, clean against the advisories of September 2023",
)
# The fix shipped while the listing is held: urllib3 1.26.18 fixes both October advisories.
PATCHED = Release(
    tag="1.0.1",
    wheels=(("Jinja2", "3.1.4"), ("urllib3", "1.26.18"), ("requests", "2.31.0"), ("Flask", "2.2.5")),
    summary="urllib3 1.26.18, which fixes CVE-2023-43804 and CVE-2023-45803",
)
RELEASES = (VULNERABLE, REVIEWED, PATCHED)

@dataclass(frozen=True)
class BuiltImage:
    layout: Path
    tag: str
    digest: str
    release: Release


def demo_layout() -> images.OciLayout:
    return images.OciLayout(images.cache_dir() / "images" / f"demo-v{RECIPE_VERSION}" / "layout")


def build(release: Release, *, log=print) -> BuiltImage:
    """Return a release's image in the cached demo layout, building what is missing."""
    layout = demo_layout()
    digest = layout.tagged(release.tag)
    if digest is not None:
        return BuiltImage(layout.path, release.tag, digest, release)

    layers_record = layout.path.parent / "layers.json"
    cached = json.loads(layers_record.read_text()) if layers_record.exists() else {}

    def cached_layer(key: str, make) -> images.LayerBlob:
        entry = cached.get(key)
        if entry is not None and layout.has_blob(entry["digest"]):
            return images.LayerBlob(**entry)
        blob = make()
        cached[key] = blob.__dict__
        layers_record.write_text(json.dumps(cached, indent=1))
        return blob

    def rootfs_layer() -> images.LayerBlob:
        log("    building the Debian bookworm root filesystem layer (debootstrap, cached)")
        rootfs = images.debootstrap_rootfs()
        return layout.add_directory_layer(rootfs, "debootstrap --variant=minbase bookworm")

    def wheels_layer() -> images.LayerBlob:
        log("    installing wheels: " + ", ".join(f"{name} {version}" for name, version in release.wheels))
        wheels = images.downloaded_wheels(release.wheels)
        with tempfile.TemporaryDirectory() as work:
            target = Path(work) / "site-packages"
            images.install_wheels(wheels, target)
            tar = images.tar_directory(target, prefix=SITE_PACKAGES)
        requirements = " ".join(f"{name}=={version}" for name, version in release.wheels)
        return layout.add_layer(
            images.LayerSpec(tar, images.LAYER_GZIP, f"pip install --no-deps --target /{SITE_PACKAGES} {requirements}")
        )

    def go_layer() -> images.LayerBlob:
        binary = images.go_binary()
        with tempfile.TemporaryDirectory() as work:
            root = Path(work)
            (root / "usr/bin").mkdir(parents=True)
            shutil.copy2(binary, root / "usr/bin" / binary.name)
            tar = images.tar_directory(root)
        return layout.add_layer(images.LayerSpec(tar, images.LAYER_ZSTD, f"COPY {binary} {binary}"))

    def app_layer() -> images.LayerBlob:
        return layout.add_layer(images.LayerSpec(_app_layer_tar(), images.LAYER_GZIP, "COPY app / && useradd app"))

    wheel_key = "wheels:" + ",".join(f"{name}=={version}" for name, version in release.wheels)
    layers = [
        cached_layer("rootfs:bookworm-minbase", rootfs_layer),
        cached_layer(wheel_key, wheels_layer),
        cached_layer(f"go:{images.GO_BINARY}", go_layer),
        cached_layer("app", app_layer),
    ]
    digest = layout.add_image(release.tag, layers, config=_image_config(release))
    return BuiltImage(layout.path, release.tag, digest, release)


def _image_config(release: Release) -> dict:
    version = release.tag
    return {
        "User": f"{APP_UID}:{APP_UID}",
        "Env": [
            "PATH=/usr/local/bin:/usr/bin:/bin",
            f"PYTHONPATH=/{SITE_PACKAGES}",
        ],
        "WorkingDir": "/opt/app",
        "Cmd": [images.GO_BINARY, "--version"],
        "Healthcheck": {"Test": ["CMD", "/bin/true"], "Interval": 30_000_000_000},
        "Labels": {
            "name": "wharf-demo-app",
            "vendor": "Wharf demo publisher",
            "version": version,
            "release": "1",
            "summary": "The image that the Wharf demo publishes",
            "description": f"Release {version}: {release.summary}",
            "maintainer": "publisher@demo.example.com",
            "org.opencontainers.image.licenses": "BSD-3-Clause",
        },
    }


def _app_layer_tar() -> bytes:
    rootfs = images.debootstrap_rootfs()
    passwd = (rootfs / "etc/passwd").read_bytes()
    group = (rootfs / "etc/group").read_bytes()
    passwd += f"{APP_USER}:x:{APP_UID}:{APP_UID}:Wharf demo app:/opt/app:/usr/sbin/nologin\n".encode()
    group += f"{APP_USER}:x:{APP_UID}:\n".encode()
    licence = (
        b"The demo image is BSD-3-Clause. The wheels in /opt/app/site-packages carry their own\n"
        b"licence files in their dist-info folders; the Debian packages carry theirs in\n"
        b"/usr/share/doc/<package>/copyright.\n"
    )
    return images.tar_files(
        {
            "etc/passwd": (passwd, 0o644),
            "etc/group": (group, 0o644),
            "licenses/LICENSE": (licence, 0o644),
        },
        directories=("etc", "licenses", "opt", "opt/app"),
    )
