"""The scanning service warns at start when it has no vulnerability data to match against."""

from __future__ import annotations

from structlog.testing import capture_logs

from services.scanning.app import create_app
from services.scanning.vulns.osv import FEED_DIR_VARIABLE
from services.scanning.vulns.startup import IMPORT_AT_START_VARIABLE
from shared.events.memory import InMemoryTransport
from tests.support.services import running_service


async def events_at_start(database: str) -> list[dict]:
    with capture_logs() as logs:
        async with running_service(create_app, database=database, transport=InMemoryTransport()):
            pass
    return [entry for entry in logs if entry["event"].startswith("vulnerability_data.")]


async def test_warns_when_feed_folder_missing(monkeypatch, tmp_path):
    monkeypatch.setenv(FEED_DIR_VARIABLE, str(tmp_path / "absent"))

    warnings = await events_at_start("vulns_start_missing")

    assert [entry["event"] for entry in warnings] == ["vulnerability_data.missing"]
    assert warnings[0]["log_level"] == "warning"
    assert str(tmp_path / "absent") in warnings[0]["error"]
    assert FEED_DIR_VARIABLE in warnings[0]["fix"]


async def test_warns_when_feed_folder_empty(monkeypatch, tmp_path):
    monkeypatch.setenv(FEED_DIR_VARIABLE, str(tmp_path))

    warnings = await events_at_start("vulns_start_empty")

    assert [entry["event"] for entry in warnings] == ["vulnerability_data.missing"]
    assert warnings[0]["error"] == f"no OSV feeds found at {tmp_path}"


async def test_warns_when_feeds_not_imported(monkeypatch, tmp_path):
    feed = tmp_path / "PyPI"
    feed.mkdir()
    (feed / "PYSEC-2019-1.json").write_text(
        '{"id": "PYSEC-2019-1", "modified": "2019-01-01T00:00:00Z", "affected": []}'
    )
    # A folder of loose records is one feed, named after the folder.
    monkeypatch.setenv(FEED_DIR_VARIABLE, str(feed))
    monkeypatch.setenv(IMPORT_AT_START_VARIABLE, "false")

    warnings = await events_at_start("vulns_start_unimported")

    assert [entry["event"] for entry in warnings] == ["vulnerability_data.not_imported"]
    assert warnings[0]["feeds"] == ["PyPI"]
