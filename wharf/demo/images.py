"""Build real container images without a Docker engine, and push them with skopeo.

The demo's images, and the test images that the scanning tests build, come from the same
parts:

- a Debian bookworm minbase root filesystem from ``debootstrap``;
- real wheels from PyPI, installed with ``pip install --no-deps --target``;
- a real Go binary, ``/usr/bin/docker-registry`` from the Debian package ``docker-registry``.

Images are written by hand as an OCI image layout. The slow inputs (root filesystem,
wheels, compressed layers) are cached under ``${WHARF_CACHE_DIR:-~/.cache/wharf}``, so
only the first run pays for debootstrap and the downloads.
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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import zstandard
from debian.deb822 import Deb822

LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
LAYER_PLAIN = "application/vnd.oci.image.layer.v1.tar"
MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_MEDIA_TYPE = "application/vnd.oci.image.config.v1+json"

DEBIAN_MIRROR = "http://deb.debian.org/debian"
GO_BINARY = "/usr/bin/docker-registry"
GO_BINARY_PACKAGE = "docker-registry"


def cache_dir() -> Path:
    """Return the folder for slow fixtures, creating it."""
    root = Path(os.environ.get("WHARF_CACHE_DIR") or Path.home() / ".cache" / "wharf")
    root.mkdir(parents=True, exist_ok=True)
    return root


def require_tool(name: str, package: str) -> str:
    """Return the path of an external tool, or raise saying which Debian package has it."""
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
        raise RuntimeError("debootstrap needs root: run as root once to build the cached root filesystem")

    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f"{suite}-", dir=target.parent))
    subprocess.run(
        [debootstrap, "--variant=minbase", suite, str(staging), DEBIAN_MIRROR],
        check=True,
        stdout=subprocess.DEVNULL,
    )

    # Rename last, so an interrupted build never looks complete.
    staging.rename(target)
    return target


def downloaded_wheels(wheels: tuple[tuple[str, str], ...]) -> list[Path]:
    """Return cached wheel files for the given (name, version) pairs, downloading them once.

    A project published only as an sdist (itsdangerous 0.24) is built into a wheel here.
    """
    folder = cache_dir() / "wheels"
    folder.mkdir(parents=True, exist_ok=True)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]

    found = []
    for name, version in wheels:
        wheel = find_wheel(folder, name, version)
        if wheel is None:
            subprocess.run(
                [*pip, "download", "--no-deps", "-d", str(folder), f"{name}=={version}"],
                check=True,
            )
            wheel = find_wheel(folder, name, version)
        if wheel is None:
            sdists = sorted(folder.glob(f"{name}-{version}.tar.gz"))
            if not sdists:
                raise RuntimeError(f"pip download found neither wheel nor sdist of {name} {version}")
            subprocess.run([*pip, "wheel", "--no-deps", "-w", str(folder), str(sdists[0])], check=True)
            wheel = find_wheel(folder, name, version)
        if wheel is None:
            raise RuntimeError(f"no wheel of {name} {version} in {folder}")
        found.append(wheel)

    return found


def find_wheel(folder: Path, name: str, version: str) -> Path | None:
    """Return the cached wheel of a project version; names compare as PyPI normalises them."""
    wanted = _normalised(name)
    for candidate in folder.glob("*.whl"):
        project, candidate_version = candidate.name.split("-")[:2]
        if _normalised(project) == wanted and candidate_version == version:
            return candidate
    return None


def _normalised(name: str) -> str:
    return name.lower().replace("-", "_").replace(".", "_")


def install_wheels(wheels: list[Path], target: Path) -> None:
    """Install wheel files into `target` without dependencies, an index or byte-code."""
    subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", "install",
         "--no-deps", "--no-index", "--no-compile", "--target", str(target), *map(str, wheels)],
        check=True,
    )


def go_binary() -> Path:
    """Return the Go binary the images carry, from the installed Debian package."""
    path = Path(GO_BINARY)
    if not path.exists():
        raise RuntimeError(f"{GO_BINARY} is missing: install it with `apt-get install {GO_BINARY_PACKAGE}`")
    return path


# ---------------------------------------------------------------------------------------
# Layer writing


def tar_directory(source: Path, prefix: str = "") -> bytes:
    """Return an uncompressed tar of a directory, sorted, owners numeric, hard links kept."""
    buffer = io.BytesIO()
    write_tar(buffer, source, prefix)
    return buffer.getvalue()


def write_tar(stream, source: Path, prefix: str = "") -> None:
    """Write a tar of a directory to a binary stream: sorted, owners numeric, hard links kept."""
    # Stream mode, because the target may be a pipe-like writer that cannot seek.
    with tarfile.open(fileobj=stream, mode="w|", format=tarfile.PAX_FORMAT) as archive:
        for parent_dir in _prefix_directories(prefix):
            archive.addfile(directory_info(parent_dir))
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


def _walk(root: Path) -> Iterator[Path]:
    for directory, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            yield Path(directory) / name


def _prefix_directories(prefix: str) -> list[str]:
    parts = [part for part in prefix.split("/") if part]
    return ["/".join(parts[: index + 1]) for index in range(len(parts))]


def directory_info(name: str, mode: int = 0o755) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = mode
    return info


def file_info(name: str, size: int, mode: int = 0o644, uid: int = 0, gid: int = 0) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = mode
    info.uid = uid
    info.gid = gid
    return info


def tar_files(files: dict[str, tuple[bytes, int]], directories: tuple[str, ...] = ()) -> bytes:
    """Return a tar of in-memory files, by path: (content, mode). Directories come first."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for directory in directories:
            archive.addfile(directory_info(directory))
        for path in sorted(files):
            content, mode = files[path]
            archive.addfile(file_info(path, len(content), mode), io.BytesIO(content))
    return buffer.getvalue()


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
            archive.addfile(file_info(f"{parent}/.wh.{name}", 0))
        archive.addfile(file_info("var/lib/dpkg/status", len(status)), io.BytesIO(status))
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


@dataclass(frozen=True)
class LayerBlob:
    """A layer already stored in a layout: its compressed blob and its uncompressed digest."""

    media_type: str
    digest: str
    size: int
    diff_id: str
    created_by: str


class OciLayout:
    """An OCI image layout folder that contains several tagged images sharing their blobs."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.blobs = path / "blobs" / "sha256"
        self.blobs.mkdir(parents=True, exist_ok=True)
        (path / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
        if not (path / "index.json").exists():
            self._write_index({"schemaVersion": 2, "manifests": []})

    def put(self, data: bytes) -> str:
        digest = sha256_digest(data)
        (self.blobs / digest.removeprefix("sha256:")).write_bytes(data)
        return digest

    def has_blob(self, digest: str) -> bool:
        return (self.blobs / digest.removeprefix("sha256:")).exists()

    def add_layer(self, layer: LayerSpec) -> LayerBlob:
        blob = compress(layer.tar, layer.media_type)
        return LayerBlob(layer.media_type, self.put(blob), len(blob), sha256_digest(layer.tar), layer.created_by)

    def add_directory_layer(self, source: Path, created_by: str) -> LayerBlob:
        """Store a gzip layer of a large directory, streamed through a temporary file."""
        with tempfile.NamedTemporaryFile(dir=self.path, delete=False) as spool:
            hashed = _HashingWriter(spool)
            with gzip.GzipFile(fileobj=hashed, mode="wb", compresslevel=6, mtime=0) as compressed:
                uncompressed = _HashingWriter(compressed)
                write_tar(uncompressed, source)
        digest = "sha256:" + hashed.sha256.hexdigest()
        os.replace(spool.name, self.blobs / digest.removeprefix("sha256:"))
        return LayerBlob(LAYER_GZIP, digest, hashed.size, "sha256:" + uncompressed.sha256.hexdigest(), created_by)

    def add_image(
        self,
        tag: str,
        layers: list[LayerBlob],
        *,
        config: dict,
        architecture: str = "amd64",
        created: str = "2024-01-01T00:00:00Z",
    ) -> str:
        """Write an image's config and manifest, tag it in the index and return the manifest digest."""
        image_config = {
            "architecture": architecture,
            "os": "linux",
            "created": created,
            "config": config,
            "rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in layers]},
            "history": [{"created": created, "created_by": layer.created_by} for layer in layers],
        }
        config_bytes = json.dumps(image_config, sort_keys=True).encode()
        manifest = {
            "schemaVersion": 2,
            "mediaType": MANIFEST_MEDIA_TYPE,
            "config": {"mediaType": CONFIG_MEDIA_TYPE, "digest": self.put(config_bytes), "size": len(config_bytes)},
            "layers": [
                {"mediaType": layer.media_type, "digest": layer.digest, "size": layer.size} for layer in layers
            ],
        }
        manifest_bytes = json.dumps(manifest, sort_keys=True).encode()
        manifest_digest = self.put(manifest_bytes)

        index = json.loads((self.path / "index.json").read_text())
        index["manifests"] = [
            entry
            for entry in index["manifests"]
            if entry.get("annotations", {}).get("org.opencontainers.image.ref.name") != tag
        ]
        index["manifests"].append(
            {
                "mediaType": MANIFEST_MEDIA_TYPE,
                "digest": manifest_digest,
                "size": len(manifest_bytes),
                "annotations": {"org.opencontainers.image.ref.name": tag},
            }
        )
        self._write_index(index)
        return manifest_digest

    def tagged(self, tag: str) -> str | None:
        """Return the manifest digest of a tag, or None when the layout lacks it or its blobs."""
        index = json.loads((self.path / "index.json").read_text())
        for entry in index["manifests"]:
            if entry.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag:
                return entry["digest"] if self.has_blob(entry["digest"]) else None
        return None

    def _write_index(self, index: dict) -> None:
        staging = self.path / "index.json.tmp"
        staging.write_text(json.dumps(index))
        os.replace(staging, self.path / "index.json")


class _HashingWriter:
    """A write-only binary stream that hashes and counts what passes through it."""

    def __init__(self, target) -> None:
        self.target = target
        self.sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data) -> int:
        self.sha256.update(data)
        self.size += len(data)
        return self.target.write(data)

    def flush(self) -> None:
        self.target.flush()


def write_oci_layout(
    layout: Path,
    layers: list[LayerSpec],
    *,
    tag: str,
    config_overrides: dict | None = None,
    architecture: str = "amd64",
) -> str:
    """Write an OCI image layout holding one image and return its manifest digest."""
    oci = OciLayout(layout)
    blobs = [oci.add_layer(layer) for layer in layers]
    config = {"Env": ["PATH=/usr/local/bin:/usr/bin:/bin"], "Cmd": ["/bin/sh"]}
    if config_overrides:
        config.update(config_overrides)
    return oci.add_image(tag, blobs, config=config, architecture=architecture)


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


# ---------------------------------------------------------------------------------------
# Pushing


def push_oci_layout(
    layout: Path,
    tag: str,
    destination: str,
    *,
    credentials: tuple[str, str] | None = None,
) -> str:
    """Copy an image from an OCI layout to a registry with skopeo and return its digest.

    `destination` is ``host:port/repository:tag`` on a registry serving plain HTTP.
    `credentials` (username, password or personal access token) go to the registry's
    token service; without them skopeo pushes anonymously.
    """
    skopeo = require_tool("skopeo", "skopeo")
    with tempfile.TemporaryDirectory() as scratch:
        digest_file = Path(scratch) / "digest"
        command = [
            skopeo, "copy", "--quiet", "--dest-tls-verify=false", "--preserve-digests",
            "--digestfile", str(digest_file),
        ]
        if credentials is not None:
            command += ["--dest-creds", f"{credentials[0]}:{credentials[1]}"]
        command += [f"oci:{layout}:{tag}", f"docker://{destination}"]
        run_skopeo(command)
        return digest_file.read_text().strip()


def run_skopeo(command: list[str]) -> subprocess.CompletedProcess:
    """Run skopeo; on failure raise with its error output, which names the refused scope."""
    # An empty auth file keeps skopeo away from any credentials stored for the machine user.
    with tempfile.NamedTemporaryFile("w", suffix=".json") as auth:
        auth.write("{}")
        auth.flush()
        result = subprocess.run(
            [command[0], command[1], "--authfile", auth.name, *command[2:]],
            capture_output=True,
            text=True,
        )
    if result.returncode != 0:
        raise SkopeoError(" ".join(command[:2]), result.stderr.strip())
    return result


class SkopeoError(RuntimeError):
    def __init__(self, command: str, stderr: str) -> None:
        super().__init__(f"{command} failed: {stderr}")
        self.stderr = stderr


def pull_image(source: str, *, credentials: tuple[str, str] | None = None) -> str:
    """Pull an image with skopeo, as a customer would, and return its manifest digest.

    `source` is ``host:port/repository:tag`` on a registry serving plain HTTP. The image is
    copied into a temporary OCI layout that is removed afterwards.
    """
    skopeo = require_tool("skopeo", "skopeo")
    with tempfile.TemporaryDirectory() as scratch:
        digest_file = Path(scratch) / "digest"
        command = [skopeo, "copy", "--quiet", "--src-tls-verify=false", "--digestfile", str(digest_file)]
        if credentials is not None:
            command += ["--src-creds", f"{credentials[0]}:{credentials[1]}"]
        else:
            command += ["--src-no-creds"]
        command += [f"docker://{source}", f"oci:{scratch}/layout:pulled"]
        run_skopeo(command)
        return digest_file.read_text().strip()
