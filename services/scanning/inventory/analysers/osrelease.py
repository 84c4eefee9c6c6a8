"""Operating system detection from /etc/os-release and the distribution release files."""

from __future__ import annotations

import re
import shlex

import structlog

from services.scanning.components import Distro
from services.scanning.inventory.filesystem import FileTree
from services.scanning.inventory.limits import Limits

OS_RELEASE_PATHS = ("/etc/os-release", "/usr/lib/os-release")
DEBIAN_VERSION = "/etc/debian_version"
ALPINE_RELEASE = "/etc/alpine-release"
# os-release is a few hundred bytes; anything much larger is not one.
MAX_RELEASE_FILE = 64 * 1024
# ID and VERSION_ID as os-release(5) defines them: lower-case letters, digits, ".", "_"
# and "-". Longer values than the vulnerability database keeps (50 characters) are
# rejected too, because no advisory could match them.
RELEASE_WORD = re.compile(r"[a-z0-9._-]{1,50}\Z")
MAX_PRETTY_NAME = 200

log = structlog.get_logger()


class OsReleaseAnalyser:
    """Keeps the text of the release files so the distribution can be read at the end."""

    name = "os"
    paths = frozenset((*OS_RELEASE_PATHS, DEBIAN_VERSION, ALPINE_RELEASE))

    def wants(self, path: str, mode: int, size: int) -> bool:
        return path in self.paths and size <= MAX_RELEASE_FILE

    def extract(self, path: str, data: bytes, limits: Limits) -> str:
        return data.decode("utf-8", errors="replace")

    def packages(self, path, facts, distro):
        return []


def parse_os_release(text: str) -> dict[str, str]:
    """Parse os-release's shell-style ``KEY=value`` lines (quoting per os-release(5))."""
    fields = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, raw = line.partition("=")
        try:
            words = shlex.split(raw)
        except ValueError:
            words = [raw.strip("\"'")]
        fields[key.strip()] = words[0] if words else ""
    return fields


def detect_distro(tree: FileTree) -> Distro | None:
    """Return the image's distribution, preferring os-release over the release files."""
    for path in OS_RELEASE_PATHS:
        text = tree.read_facts(path, OsReleaseAnalyser.name)
        if text:
            fields = parse_os_release(text)
            distro_id = fields.get("ID", "")
            if distro_id and not RELEASE_WORD.match(distro_id):
                # An image's files are hostile input: an invalid ID names no distribution.
                log.warning("os_release.invalid_id", path=path, id=distro_id[:80])
                continue
            if distro_id:
                version_id = fields.get("VERSION_ID", "")
                if version_id and not RELEASE_WORD.match(version_id):
                    log.warning("os_release.invalid_version_id", path=path, version_id=version_id[:80])
                    version_id = ""
                if not version_id and distro_id == "debian":
                    version_id = _debian_version(tree)
                return Distro(distro_id, version_id, fields.get("PRETTY_NAME", "")[:MAX_PRETTY_NAME])

    alpine = tree.read_facts(ALPINE_RELEASE, OsReleaseAnalyser.name)
    if alpine:
        return Distro("alpine", alpine.strip(), f"Alpine Linux v{alpine.strip()}")

    debian = _debian_version(tree)
    if debian:
        return Distro("debian", debian, f"Debian GNU/Linux {debian}")
    return None


def _debian_version(tree: FileTree) -> str:
    """Return the major release from /etc/debian_version ("12.5" gives "12"), if numeric."""
    text = (tree.read_facts(DEBIAN_VERSION, OsReleaseAnalyser.name) or "").strip()
    major = text.split(".")[0]
    return major if major.isdigit() else ""
