"""Staging the OSV feeds for the journey: a dated snapshot first, the full feeds later."""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from wharf.demo.feeds import source_feed_dir, stage_full, stage_snapshot

CUTOFF = datetime(2023, 10, 1, tzinfo=UTC)


def _export(folder: Path, ecosystem: str, records: dict[str, dict]) -> None:
    """Write records as osv.dev lays out an ecosystem's export: `<ECOSYSTEM>/all.zip`."""
    (folder / ecosystem).mkdir(parents=True)
    with zipfile.ZipFile(folder / ecosystem / "all.zip", "w") as archive:
        for name, record in records.items():
            archive.writestr(name, json.dumps(record))


def _names(archive_path: Path) -> set[str]:
    with zipfile.ZipFile(archive_path) as archive:
        return set(archive.namelist())


@pytest.fixture
def exports(tmp_path) -> Path:
    source = tmp_path / "exports"
    _export(
        source,
        "PyPI",
        {
            "OLD-1.json": {"id": "OLD-1", "modified": "2023-09-30T23:59:59Z"},
            "NEW-1.json": {"id": "NEW-1", "modified": "2023-10-04T00:00:00Z"},
            "EDGE-1.json": {"id": "EDGE-1", "modified": "2023-10-01T00:00:00Z"},
            "NAIVE-1.json": {"id": "NAIVE-1", "modified": "2023-01-01T00:00:00"},
            "UNDATED-1.json": {"id": "UNDATED-1"},
        },
    )
    return source


def test_snapshot_keeps_records_before_cutoff(exports, tmp_path):
    target = tmp_path / "staged"

    counts = stage_snapshot(exports, target, modified_before=CUTOFF)

    assert counts == {"PyPI": 3}
    assert _names(target / "PyPI.zip") == {"OLD-1.json", "NAIVE-1.json", "UNDATED-1.json"}


def test_full_replaces_snapshot(exports, tmp_path):
    target = tmp_path / "staged"
    stage_snapshot(exports, target, modified_before=CUTOFF)

    counts = stage_full(exports, target)

    assert counts == {"PyPI": 5}
    assert "NEW-1.json" in _names(target / "PyPI.zip")
    assert sorted(path.name for path in target.iterdir()) == ["PyPI.zip"]


def test_missing_source_folder_named(tmp_path):
    missing = tmp_path / "nowhere"

    with pytest.raises(FileNotFoundError, match="WHARF_DEMO_OSV_DIR"):
        source_feed_dir(str(missing))
