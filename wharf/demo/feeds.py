"""The OSV feeds the demo's store imports: first a dated snapshot, later the full feeds.

An incremental feed update is replayed from one export. The snapshot keeps the records
modified before a cut-off date, as the feed looked then. The full export then brings the
advisories published or changed since, as a later import would.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from datetime import UTC, datetime
from pathlib import Path

from services.scanning.vulns.osv import FEED_DIR_VARIABLE, default_feed_dir, discover_feeds


def source_feed_dir(configured: str | None) -> Path:
    """Return the folder of the OSV exports: the configured one, else scanning's default."""
    folder = Path(configured) if configured else default_feed_dir()
    if not folder.is_dir():
        raise FileNotFoundError(
            f"OSV feed folder {folder} not found: set WHARF_DEMO_OSV_DIR (or {FEED_DIR_VARIABLE}) to a folder "
            "of OSV exports, such as <ECOSYSTEM>/all.zip files downloaded from osv.dev"
        )
    return folder


def stage_snapshot(source: Path, target: Path, *, modified_before: datetime) -> dict[str, int]:
    """Write each feed of `source` into `target` as `<name>.zip`, keeping only older records.

    Returns the number of records kept per feed. A record without a `modified` time is
    kept, because OSV requires the field and a record lacking it is old data.
    """
    return _stage(source, target, lambda record: _modified(record) is None or _modified(record) < modified_before)


def stage_full(source: Path, target: Path) -> dict[str, int]:
    """Write each feed of `source` into `target` as `<name>.zip`, with every record."""
    return _stage(source, target, lambda record: True)


def _stage(source: Path, target: Path, keep) -> dict[str, int]:
    target.mkdir(parents=True, exist_ok=True)
    counts = {}
    for feed in discover_feeds(source):
        kept = 0
        staging = target / f".{feed.name}.zip.tmp"
        with zipfile.ZipFile(staging, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for file in feed.files():
                try:
                    record = json.loads(file.content)
                except ValueError:
                    # Copied as it is: the importer reports malformed files itself.
                    record = {}
                if keep(record):
                    archive.writestr(file.name, file.content)
                    kept += 1
        # Replace the whole archive at once, so an import never reads half a feed.
        shutil.move(staging, target / f"{feed.name}.zip")
        counts[feed.name] = kept
    return counts


def _modified(record: dict) -> datetime | None:
    value = record.get("modified")
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    # OSV times are UTC (RFC 3339 with "Z"); a time without an offset is read as UTC too.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
