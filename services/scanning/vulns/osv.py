"""OSV advisories: reading feeds from a folder, a zip archive or a URL, and parsing records.

A feed is laid out as osv.dev publishes its exports: one JSON record per advisory, named
`<id>.json`, either loose in a folder or inside a zip archive. A folder of feeds contains
either `<ECOSYSTEM>/all.zip` (osv.dev's layout) or `<NAME>.zip` files.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import structlog
from packaging.utils import canonicalize_name

log = structlog.get_logger(__name__)

FEED_DIR_VARIABLE = "WHARF_SCANNING_OSV_FEED_DIR"
FEED_URL_VARIABLE = "WHARF_SCANNING_OSV_FEED_URL"
ECOSYSTEMS_VARIABLE = "WHARF_SCANNING_OSV_ECOSYSTEMS"
DEFAULT_ECOSYSTEMS = ("PyPI", "Go", "npm", "Maven", "Debian", "Ubuntu", "Alpine")
EVENT_KINDS = ("introduced", "fixed", "last_affected", "limit")
RANGE_TYPES = ("ECOSYSTEM", "SEMVER", "GIT")


class MalformedRecord(ValueError):
    """An OSV record that cannot be read; the import skips it and counts it."""


class FeedNotFound(LookupError):
    """A feed location that contains no readable OSV records."""


def default_feed_dir() -> Path:
    """Return the folder of feeds: the environment variable, else `../shared/data/osv`.

    The relative default is resolved against the repository root, so it names the
    `shared/data/osv` folder that sits beside a checkout.
    """
    configured = os.environ.get(FEED_DIR_VARIABLE)
    if configured:
        return Path(configured)
    repository = Path(__file__).resolve().parents[3]
    return (repository / ".." / "shared" / "data" / "osv").resolve()


def package_key(ecosystem: str, name: str) -> str:
    """Normalise a package name the way its ecosystem compares names.

    PyPI names compare after PEP 503 normalisation (`Jinja2` is `jinja2`, `zope.interface`
    is `zope-interface`); the other ecosystems compare names exactly.
    """
    if ecosystem.split(":", 1)[0] == "PyPI":
        return canonicalize_name(name)
    return name


# ---------------------------------------------------------------------------
# Records


@dataclass(frozen=True, slots=True)
class Event:
    kind: str  # one of EVENT_KINDS
    version: str


@dataclass(frozen=True, slots=True)
class VersionRange:
    type: str  # one of RANGE_TYPES
    events: tuple[Event, ...]


@dataclass(frozen=True, slots=True)
class SeverityEntry:
    type: str  # CVSS_V2, CVSS_V3, CVSS_V4, Ubuntu, ...
    score: str  # a vector for CVSS types, a word for textual ones


@dataclass(frozen=True, slots=True)
class AffectedPackage:
    ecosystem: str  # as written in the record, e.g. "PyPI", "Debian:12"
    name: str
    ranges: tuple[VersionRange, ...]
    versions: tuple[str, ...]
    severity: tuple[SeverityEntry, ...]


@dataclass(frozen=True, slots=True)
class Advisory:
    id: str
    modified: datetime
    published: datetime | None
    withdrawn: datetime | None
    aliases: tuple[str, ...]
    summary: str
    severity: tuple[SeverityEntry, ...]
    severity_text: str | None  # database_specific.severity, e.g. GitHub's "HIGH"
    affected: tuple[AffectedPackage, ...]
    references: tuple[dict[str, str], ...]


def _parse_time(value: Any, field: str, record_id: str) -> datetime:
    if not isinstance(value, str):
        raise MalformedRecord(f"{record_id}: {field} is missing or not a string")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise MalformedRecord(f"{record_id}: {field} {value!r} is not an RFC 3339 time") from error
    if parsed.tzinfo is None:
        raise MalformedRecord(f"{record_id}: {field} {value!r} has no time zone")
    return parsed


def _parse_severity(entries: Any, record_id: str) -> tuple[SeverityEntry, ...]:
    if entries is None:
        return ()
    if not isinstance(entries, list):
        raise MalformedRecord(f"{record_id}: severity is not a list")
    parsed = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("type"), str):
            raise MalformedRecord(f"{record_id}: severity entry {entry!r} has no type")
        if not isinstance(entry.get("score"), str):
            raise MalformedRecord(f"{record_id}: severity entry {entry!r} has no score")
        parsed.append(SeverityEntry(type=entry["type"], score=entry["score"]))
    return tuple(parsed)


def parse_range(data: Any, record_id: str) -> VersionRange:
    if not isinstance(data, dict):
        raise MalformedRecord(f"{record_id}: range {data!r} is not an object")
    range_type = data.get("type")
    if range_type not in RANGE_TYPES:
        raise MalformedRecord(f"{record_id}: range type {range_type!r} is not one of {RANGE_TYPES}")
    events = data.get("events")
    if not isinstance(events, list) or not events:
        raise MalformedRecord(f"{record_id}: range has no events")

    parsed = []
    for event in events:
        if not isinstance(event, dict) or len(event) != 1:
            raise MalformedRecord(f"{record_id}: event {event!r} must have exactly one key")
        ((kind, version),) = event.items()
        if kind not in EVENT_KINDS:
            raise MalformedRecord(f"{record_id}: event kind {kind!r} is not one of {EVENT_KINDS}")
        if not isinstance(version, str) or not version:
            raise MalformedRecord(f"{record_id}: {kind} event has no version")
        parsed.append(Event(kind=kind, version=version))
    return VersionRange(type=range_type, events=tuple(parsed))


def _parse_affected(data: Any, record_id: str) -> AffectedPackage:
    if not isinstance(data, dict):
        raise MalformedRecord(f"{record_id}: affected entry {data!r} is not an object")
    package = data.get("package")
    if not isinstance(package, dict):
        raise MalformedRecord(f"{record_id}: affected entry has no package")
    ecosystem = package.get("ecosystem")
    name = package.get("name")
    if not isinstance(ecosystem, str) or not ecosystem:
        raise MalformedRecord(f"{record_id}: affected package has no ecosystem")
    if not isinstance(name, str) or not name:
        raise MalformedRecord(f"{record_id}: affected package has no name")

    ranges = data.get("ranges") or []
    versions = data.get("versions") or []
    if not isinstance(ranges, list):
        raise MalformedRecord(f"{record_id}: ranges of {name} is not a list")
    if not isinstance(versions, list) or not all(isinstance(v, str) for v in versions):
        raise MalformedRecord(f"{record_id}: versions of {name} is not a list of strings")

    return AffectedPackage(
        ecosystem=ecosystem,
        name=name,
        ranges=tuple(parse_range(item, record_id) for item in ranges),
        versions=tuple(versions),
        severity=_parse_severity(data.get("severity"), record_id),
    )


def parse_record(data: Any) -> Advisory:
    """Parse one OSV record (schema 1.x) into an `Advisory`.

    Raises `MalformedRecord` naming the record and the field at fault.
    """
    if not isinstance(data, Mapping):
        raise MalformedRecord("record is not a JSON object")
    record_id = data.get("id")
    if not isinstance(record_id, str) or not record_id.strip():
        raise MalformedRecord("record has no id")

    aliases = data.get("aliases") or []
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        raise MalformedRecord(f"{record_id}: aliases is not a list of strings")
    affected = data.get("affected") or []
    if not isinstance(affected, list):
        raise MalformedRecord(f"{record_id}: affected is not a list")

    references = []
    for reference in data.get("references") or []:
        if isinstance(reference, dict) and isinstance(reference.get("url"), str):
            references.append({"type": str(reference.get("type", "WEB")), "url": reference["url"]})

    database_specific = data.get("database_specific")
    severity_text = None
    if isinstance(database_specific, dict) and isinstance(database_specific.get("severity"), str):
        severity_text = database_specific["severity"]

    withdrawn = data.get("withdrawn")
    published = data.get("published")
    return Advisory(
        id=record_id,
        modified=_parse_time(data.get("modified"), "modified", record_id),
        published=_parse_time(published, "published", record_id) if published else None,
        withdrawn=_parse_time(withdrawn, "withdrawn", record_id) if withdrawn else None,
        aliases=tuple(alias for alias in aliases if alias != record_id),
        summary=str(data.get("summary") or "")[:500],
        severity=_parse_severity(data.get("severity"), record_id),
        severity_text=severity_text,
        affected=tuple(_parse_affected(item, record_id) for item in affected),
        references=tuple(references),
    )


# ---------------------------------------------------------------------------
# Feeds


# The largest record file of a feed that is read; a larger one is skipped. OSV records
# are small: the largest in the PyPI and Go exports used by the tests is 25 kB.
MAX_FEED_FILE_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class FeedFile:
    """One file of a feed: its name inside the feed and its undecoded content."""

    name: str
    content: bytes
    # Why the file could not be read, in which case `content` is empty.
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Feed:
    """A named feed location: a folder of records, a zip archive or an http(s) URL."""

    name: str
    location: str

    def fingerprint(self) -> str | None:
        """Return a SHA-256 hex digest of the name, size and modification time of each file.

        A feed whose files are replaced, added or removed gets a new fingerprint, so a
        start can tell whether it changed since its last import without reading it. A
        URL has none, and neither has a location that does not exist.
        """
        if self.location.startswith(("http://", "https://")):
            return None
        path = Path(self.location)
        if path.is_dir():
            files = sorted(path.glob("*.json"))
        elif path.is_file():
            files = [path]
        else:
            return None
        digest = hashlib.sha256()
        for file in files:
            try:
                status = file.stat()
            except OSError as error:
                # The import skips a dangling link or a link loop, so the digest
                # contains its error in place of its size.
                digest.update(f"{file.name}\0{error.strerror}\n".encode())
                continue
            digest.update(f"{file.name}\0{status.st_size}\0{status.st_mtime_ns}\n".encode())
        return digest.hexdigest()

    def files(self) -> Iterator[FeedFile]:
        """Yield every `.json` file of the feed, downloading it first for a URL."""
        if self.location.startswith(("http://", "https://")):
            yield from _read_url(self.location)
            return
        path = Path(self.location)
        if path.is_dir():
            yield from _read_folder(path)
        elif zipfile.is_zipfile(path):
            yield from _read_zip(path)
        else:
            raise FeedNotFound(f"feed {self.name}: {self.location} is not a folder or a zip archive")


def _read_folder(path: Path) -> Iterator[FeedFile]:
    """Yield each `.json` file of a folder, with an error in place of its content when it is unusable.

    Only regular files are read: reading a named pipe would block the import forever.
    """
    for file in sorted(path.glob("*.json")):
        try:
            status = file.stat()
            if not stat.S_ISREG(status.st_mode):
                yield FeedFile(name=file.name, content=b"", error="not a regular file")
                continue
            if status.st_size > MAX_FEED_FILE_BYTES:
                yield FeedFile(
                    name=file.name, content=b"", error=f"larger than {MAX_FEED_FILE_BYTES} bytes ({status.st_size})"
                )
                continue
            content = file.read_bytes()
        except OSError as error:
            yield FeedFile(name=file.name, content=b"", error=f"unreadable: {error.strerror}")
            continue
        yield FeedFile(name=file.name, content=content)


def _read_zip(path: Path | str) -> Iterator[FeedFile]:
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if info.is_dir() or not info.filename.endswith(".json"):
                continue
            # The size in the archive's directory is checked before reading, and
            # zipfile stops reading a member at that size.
            if info.file_size > MAX_FEED_FILE_BYTES:
                error = f"larger than {MAX_FEED_FILE_BYTES} bytes ({info.file_size})"
                yield FeedFile(name=info.filename, content=b"", error=error)
                continue
            yield FeedFile(name=info.filename, content=archive.read(info))


def _read_url(url: str) -> Iterator[FeedFile]:
    # The archive is spooled to disk because zip needs random access and PyPI's export
    # alone is tens of megabytes.
    with tempfile.TemporaryFile() as spool:
        with httpx.stream("GET", url, follow_redirects=True, timeout=60.0) as response:
            response.raise_for_status()
            for chunk in response.iter_bytes():
                spool.write(chunk)
        spool.seek(0)
        if not zipfile.is_zipfile(spool):
            raise FeedNotFound(f"{url} did not return a zip archive")
        spool.seek(0)
        yield from _read_zip(spool)  # type: ignore[arg-type]


def discover_feeds(location: str | Path) -> list[Feed]:
    """List the feeds at a location, by name.

    A URL ending in `.zip` is one feed. Any other URL is the root of an osv.dev-style
    bucket and yields nothing here: name its ecosystems with `feed_from_bucket`. A folder
    contains `<ECOSYSTEM>/all.zip` feeds, `<NAME>.zip` feeds, or loose `.json` records that
    make one feed named after the folder.
    """
    text = str(location)
    if text.startswith(("http://", "https://")):
        if text.endswith(".zip"):
            return [Feed(name=_name_from_url(text), location=text)]
        return []

    path = Path(text)
    if path.is_file():
        return [Feed(name=path.stem, location=str(path))]
    if not path.is_dir():
        raise FeedNotFound(f"OSV feed location {text} does not exist")

    feeds = []
    for archive in sorted(path.glob("*/all.zip")):
        feeds.append(Feed(name=archive.parent.name, location=str(archive)))
    for archive in sorted(path.glob("*.zip")):
        feeds.append(Feed(name=archive.stem, location=str(archive)))
    if not feeds and any(path.glob("*.json")):
        feeds.append(Feed(name=path.name, location=str(path)))
    return feeds


def feed_from_bucket(base_url: str, ecosystem: str) -> Feed:
    """Name the export of one ecosystem under an osv.dev-style bucket URL."""
    return Feed(name=ecosystem, location=f"{base_url.rstrip('/')}/{ecosystem}/all.zip")


def configured_feeds() -> list[Feed]:
    """List the feeds the service imports.

    With `WHARF_SCANNING_OSV_FEED_URL` set, these are the `<ECOSYSTEM>/all.zip` exports
    under that URL for each ecosystem in `WHARF_SCANNING_OSV_ECOSYSTEMS` (comma-separated,
    by default PyPI, Go, npm, Maven, Debian, Ubuntu and Alpine). Otherwise they are the
    feeds in the folder that `default_feed_dir` names.
    """
    base_url = os.environ.get(FEED_URL_VARIABLE)
    if base_url:
        names = os.environ.get(ECOSYSTEMS_VARIABLE, ",".join(DEFAULT_ECOSYSTEMS))
        return [feed_from_bucket(base_url, name.strip()) for name in names.split(",") if name.strip()]
    return discover_feeds(default_feed_dir())


def _name_from_url(url: str) -> str:
    parts = url.rstrip("/").split("/")
    if parts[-1] == "all.zip" and len(parts) > 1:
        return parts[-2]
    return parts[-1].removesuffix(".zip")
