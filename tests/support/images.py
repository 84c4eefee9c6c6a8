"""Build a real four-layer container image without a Docker engine, for tests and benchmarks.

The image is written as an OCI image layout by hand and cached under
``${WHARF_CACHE_DIR:-~/.cache/wharf}``, so only the first run pays for debootstrap and the
wheel downloads. Its layers:

0. a Debian bookworm minbase root filesystem from ``debootstrap`` (gzip);
1. real wheels from PyPI installed with ``pip install --no-deps --target`` (gzip);
2. a real Go binary taken from the Debian package ``docker-registry`` (zstd);
3. a layer that removes the Debian package ``hostname`` (its files, its ``info`` files and
   its status entry) and whites out the ``click`` package directories (plain tar).

``RealImage`` carries the ground truth a test compares an inventory with.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import zstandard
from debian.deb822 import Deb822

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

LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
LAYER_PLAIN = "application/vnd.oci.image.layer.v1.tar"


def cache_dir() -> Path:
    """Return the folder for slow fixtures, creating it."""
    root = Path(os.environ.get("WHARF_CACHE_DIR") or Path.home() / ".cache" / "wharf")
    root.mkdir(parents=True, exist_ok=True)
    return root


def require_tool(name: str, package: str) -> str:
    """Return the path of an external tool, or fail saying which Debian package has it."""
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name} is missing: install it with `apt-get install {package}`")
    return path


# ---------------------------------------------------------------------------------------
# Cached inputs


def debootstrap_rootfs(suite: str = "bookworm") -> Path:
    """Return a cached Debian minbase root filesystem, building it with debootstrap once."""
    target = cache_dir() / "rootfs" / f"{suite}-minbase"
    if (target / "var" / "lib" / "dpkg" / "status").exists():
        return target

    debootstrap = require_tool("debootstrap", "debootstrap")
    if os.geteuid() != 0:
        raise RuntimeError("debootstrap needs root: run the tests as root to build the rootfs")

    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f"{suite}-", dir=target.parent))
    subprocess.run(
        [debootstrap, "--variant=minbase", suite, str(staging), "http://deb.debian.org/debian"],
        check=True,
        stdout=subprocess.DEVNULL,
    )

    # Rename last, so an interrupted build never looks complete.
    staging.rename(target)
    return target


def downloaded_wheels(wheels: tuple[tuple[str, str], ...] = WHEELS) -> list[Path]:
    """Return cached wheel files for the given (name, version) pairs, downloading them once.

    A project published only as an sdist (itsdangerous 0.24) is built into a wheel here.
    """
    folder = cache_dir() / "wheels"
    folder.mkdir(parents=True, exist_ok=True)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]

    found = []
    for name, version in wheels:
        wheel = _find_wheel(folder, name, version)
        if wheel is None:
            subprocess.run(
                [*pip, "download", "--no-deps", "-d", str(folder), f"{name}=={version}"],
                check=True,
            )
            wheel = _find_wheel(folder, name, version)
        if wheel is None:
            sdists = sorted(folder.glob(f"{name}-{version}.tar.gz"))
            if not sdists:
                raise RuntimeError(f"pip download found neither wheel nor sdist of {name} {version}")
            subprocess.run([*pip, "wheel", "--no-deps", "-w", str(folder), str(sdists[0])], check=True)
            wheel = _find_wheel(folder, name, version)
        if wheel is None:
            raise RuntimeError(f"no wheel of {name} {version} in {folder}")
        found.append(wheel)

    return found


def _find_wheel(folder: Path, name: str, version: str) -> Path | None:
    for candidate in folder.glob("*.whl"):
        project, candidate_version = candidate.name.split("-")[:2]
        if project.lower() == name.lower() and candidate_version == version:
            return candidate
    return None


# ---------------------------------------------------------------------------------------
# Layer writing


def tar_directory(source: Path, prefix: str = "") -> bytes:
    """Return an uncompressed tar of a directory, sorted, owners numeric, hard links kept."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for parent_dir in _prefix_directories(prefix):
            archive.addfile(_directory_info(parent_dir))
        for path in sorted(_walk(source)):
            relative = path.relative_to(source).as_posix()
            name = f"{prefix}/{relative}" if prefix else relative
            info = archive.gettarinfo(str(path), arcname=name)
            info.uname = info.gname = ""
            if info.isreg():
                with path.open("rb") as handle:
                    archive.addfile(info, handle)
            else:
                archive.addfile(info)
    return buffer.getvalue()


def _walk(root: Path):
    for directory, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            yield Path(directory) / name


def _prefix_directories(prefix: str) -> list[str]:
    parts = [part for part in prefix.split("/") if part]
    return ["/".join(parts[: index + 1]) for index in range(len(parts))]


def _directory_info(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = 0o755
    return info


def _file_info(name: str, size: int, mode: int = 0o644) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = mode
    return info


def removal_layer(rootfs: Path, package: str, whited_out: tuple[str, ...]) -> tuple[bytes, bytes]:
    """Return a layer removing a Debian package from the rootfs, and the new status file.

    The layer whites out each regular file and symlink the package owns, the package's dpkg
    info files and each folder in `whited_out`. Owned files are found by their real path,
    because bookworm has merged /usr. The layer then writes the dpkg status file without the
    package's entry.
    """
    owned = (rootfs / "var/lib/dpkg/info" / f"{package}.list").read_text().splitlines()
    removed: set[str] = set()
    for listed in owned:
        path = rootfs / listed.lstrip("/")
        if not path.is_symlink() and path.is_dir():
            continue
        parent = Path(os.path.realpath(path.parent))
        removed.add((parent / path.name).relative_to(rootfs).as_posix())
    for info_file in (rootfs / "var/lib/dpkg/info").glob(f"{package}.*"):
        removed.add(info_file.relative_to(rootfs).as_posix())
    removed.update(whited_out)

    status_text = (rootfs / "var/lib/dpkg/status").read_text()
    kept = [
        str(paragraph)
        for paragraph in Deb822.iter_paragraphs(status_text)
        if paragraph.get("Package") != package
    ]
    status = ("\n".join(kept)).encode()

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for path in sorted(removed):
            parent, _, name = path.rpartition("/")
            archive.addfile(_file_info(f"{parent}/.wh.{name}", 0))
        archive.addfile(_file_info("var/lib/dpkg/status", len(status)), io.BytesIO(status))
    return buffer.getvalue(), status


def compress(layer: bytes, media_type: str) -> bytes:
    if media_type == LAYER_GZIP:
        return gzip.compress(layer, compresslevel=6, mtime=0)
    if media_type == LAYER_ZSTD:
        return zstandard.ZstdCompressor(level=3).compress(layer)
    return layer


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------------------------------
# OCI image layout


@dataclass(frozen=True)
class LayerSpec:
    tar: bytes
    media_type: str
    created_by: str


def write_oci_layout(
    layout: Path,
    layers: list[LayerSpec],
    *,
    tag: str,
    config_overrides: dict | None = None,
    architecture: str = "amd64",
) -> str:
    """Write an OCI image layout holding one image and return its manifest digest."""
    blobs = layout / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)

    def put(data: bytes) -> str:
        digest = sha256_digest(data)
        (blobs / digest.removeprefix("sha256:")).write_bytes(data)
        return digest

    layer_descriptors = []
    diff_ids = []
    for layer in layers:
        blob = compress(layer.tar, layer.media_type)
        layer_descriptors.append(
            {"mediaType": layer.media_type, "digest": put(blob), "size": len(blob)}
        )
        diff_ids.append(sha256_digest(layer.tar))

    config = {
        "architecture": architecture,
        "os": "linux",
        "created": "2024-01-01T00:00:00Z",
        "config": {"Env": ["PATH=/usr/local/bin:/usr/bin:/bin"], "Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [
            {"created": "2024-01-01T00:00:00Z", "created_by": layer.created_by}
            for layer in layers
        ],
    }
    if config_overrides:
        config["config"].update(config_overrides)
    config_bytes = json.dumps(config, sort_keys=True).encode()

    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": put(config_bytes),
            "size": len(config_bytes),
        },
        "layers": layer_descriptors,
    }
    manifest_bytes = json.dumps(manifest, sort_keys=True).encode()
    manifest_digest = put(manifest_bytes)

    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": manifest_digest,
                "size": len(manifest_bytes),
                "annotations": {"org.opencontainers.image.ref.name": tag},
            }
        ],
    }
    (layout / "index.json").write_text(json.dumps(index))
    (layout / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    return manifest_digest


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


def dpkg_installed(admindir: Path) -> set[tuple[str, str, str, str]]:
    """Run dpkg-query on a dpkg database folder and return its installed packages."""
    dpkg_query = require_tool("dpkg-query", "dpkg")
    output = subprocess.run(
        [
            dpkg_query,
            f"--admindir={admindir}",
            "-W",
            "-f=${db:Status-Status}\t${Package}\t${Version}\t${source:Package}\t${source:Version}\n",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    installed = set()
    for line in output.splitlines():
        status, package, version, source, source_version = line.split("\t")
        if status == "installed":
            installed.add((package, version, source, source_version))
    return installed


def real_image() -> RealImage:
    """Return the real test image, building and caching it on first use."""
    folder = cache_dir() / "images" / f"real-v{RECIPE_VERSION}"
    record = folder / "image.json"
    if record.exists():
        return _load_real_image(folder, json.loads(record.read_text()))

    rootfs = debootstrap_rootfs()
    wheels = downloaded_wheels()
    if not Path(GO_BINARY).exists():
        raise RuntimeError(f"{GO_BINARY} is missing: install it with `apt-get install docker-registry`")

    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    work = Path(tempfile.mkdtemp(prefix="real-image-", dir=folder))
    try:
        site_packages = work / "site-packages"
        subprocess.run(
            [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", "install",
             "--no-deps", "--no-index", "--no-compile", "--target", str(site_packages),
             *map(str, wheels)],
            check=True,
        )
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


def push_oci_layout(layout: Path, tag: str, destination: str) -> str:
    """Copy an image from an OCI layout to a registry with skopeo and return its digest.

    `destination` is ``host:port/repository:tag`` on a registry serving plain HTTP.
    """
    skopeo = require_tool("skopeo", "skopeo")
    with tempfile.TemporaryDirectory() as scratch:
        digest_file = Path(scratch) / "digest"
        subprocess.run(
            [skopeo, "copy", "--quiet", "--dest-tls-verify=false", "--preserve-digests",
             "--digestfile", str(digest_file), f"oci:{layout}:{tag}", f"docker://{destination}"],
            check=True,
        )
        return digest_file.read_text().strip()
